/**
 * `npm run bench` end to end, tiny: the interleaved sections (ws, http, setup,
 * wake) on `serve:direct` with two rounds each, written with `--only` into a
 * file that already holds other text. Structure only (issue 16): every lane's
 * row is there with its CPU column filled, the floors' wake counts were read,
 * the charts were written and the rest of the file was left alone. No number
 * is compared with another: speed is the benchmark's to report, not a test's.
 *
 * The bench runs as a child process (its own process group, registered for
 * cleanup) from bundles built here exactly as `npm run build:tools` builds
 * them; it starts and stops its servers itself, each in its own process group.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killGroup, spawnGroup, stopGroup } from "../helpers/process-groups";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_LIMIT_MS = 240_000;
const KEEP = "A line written by hand, outside every section.";

let workDir: string;

beforeAll(async () => {
  // Inside the repository, so the bundles' external imports resolve from node_modules.
  await mkdir(join(REPO_ROOT, ".bench"), { recursive: true });
  workDir = await mkdtemp(join(REPO_ROOT, ".bench", "e2e-bench-"));
  await build({
    entryPoints: {
      bench: join(REPO_ROOT, "bench/run.ts"),
      load: join(REPO_ROOT, "tools/load/cli.ts"),
      "serve-direct": join(REPO_ROOT, "tools/serve/cli.ts"),
      "ws-echo-server": join(REPO_ROOT, "bench/ws-echo-server.ts"),
    },
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outdir: workDir,
    outExtension: { ".js": ".mjs" },
    logLevel: "warning",
  });
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function runBench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawnGroup(
    "npm run bench (tiny)",
    process.execPath,
    [join(workDir, "bench.mjs"), ...args],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        X_LOCAL_OBSERVABILITY: "false",
      },
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // SIGTERM first: the bench stops its servers' process groups on the way out.
      killGroup(child.pid, "SIGTERM");
      reject(new Error(`the bench took over ${RUN_LIMIT_MS} ms\n${stderr}`));
    }, RUN_LIMIT_MS);
    child.once("exit", async (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) await stopGroup(child.pid);
      resolve({ code, stderr });
    });
  });
}

describe("npm run bench", () => {
  it(
    "writes every interleaved section with each lane's row, CPU and charts, and keeps the rest of the file",
    async () => {
      const out = join(workDir, "B.md");
      await writeFile(out, `# Benchmarks\n\n${KEEP}\n`);
      const { code, stderr } = await runBench([
        "--only",
        "ws,http,setup,wake",
        "--paths",
        "direct",
        "--rounds",
        "2",
        "--block",
        "10",
        "--warmup",
        "2",
        "--warm-levels",
        "1",
        "--http-levels",
        "1",
        "--setup-rounds",
        "1",
        "--wake-pairs",
        "1",
        "--wake-sessions",
        "2",
        "--idle-seconds",
        "11",
        "--out",
        out,
      ]);
      expect(code, stderr).toBe(0);
      const doc = await readFile(out, "utf8");
      expect(doc).toContain(KEEP);
      for (const id of ["ws", "http", "setup", "wake"]) {
        expect(doc).toContain(`<!-- ${id}:start -->`);
        expect(doc).toContain(`<!-- ${id}:end -->`);
      }
      const rows = doc.split("\n");
      const row = (start: string) => rows.find((line) => line.startsWith(start));
      // Warm rows: count, p50 / p99, rate, then server CPU per call (a number, read from /proc).
      for (const lane of [
        "| 1 | Dormouse |",
        "| 1 | bare object |",
        "| 1 | Node ws |",
        "| 1 | Dormouse, session era |",
        "| 1 | Worker → object floor |",
        "| 1 | Dormouse, stateless 2026-07-28 |",
        "| 1 | Worker-only floor |",
        "| 1 | McpAgent |",
      ]) {
        expect(row(lane), lane).toMatch(
          /^\| 1 \| [^|]+ \| [\d,]+ \| [\d.]+ \/ [\d.]+ \| [\d,.]+ \| [\d,]+ \|/,
        );
      }
      expect(row("| 1 | Dormouse ÷ bare object |")).toMatch(/× \(IQR .*, 2 rounds\)/);
      expect(row("| 8 | fair setup floor |")).toBeDefined();
      // The floors' wake counts were read before and after idling.
      expect(row("| 1 | bare object | 2 of 2 |")).toMatch(/\| \d \/ 2 \|/);
      expect(row("| 1 | Worker → object floor | 2 of 2 |")).toMatch(/\| \d \/ 2 \|/);
      expect(doc).toContain("Against issue 16's targets, this run:");
      for (const chart of ["B-ws-direct.svg", "B-http-direct.svg"]) {
        expect(existsSync(join(workDir, chart)), chart).toBe(true);
        expect(doc).toContain(`(./${chart})`);
      }
    },
    RUN_LIMIT_MS + 30_000,
  );
});
