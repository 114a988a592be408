/**
 * The load generator (`npm run load`) end to end against a real `wrangler dev`:
 * a handful of sessions over WebSocket (connect, steady mix, idle past the
 * 10 s eviction, wake) and over Streamable HTTP, plus Ctrl-C. Only the shape
 * of the JSON report is checked, never a measurement (issue #7): the tool must
 * not silently break.
 *
 * The CLI runs as a child process (its own process group, registered for
 * cleanup), bundled by esbuild exactly as the npm script bundles it; every run
 * has a hard time limit.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadReport } from "../../tools/load/report";
import { type Gateway, startGateway } from "../helpers/process";
import { killGroup, spawnGroup, stopGroup } from "../helpers/process-groups";
import { waitFor } from "../helpers/wait";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_LIMIT_MS = 40_000;

let gateway: Gateway;
let workDir: string;
let bundle: string;

beforeAll(async () => {
  // Inside the repository, so the bundle's external imports (ws) resolve from node_modules.
  await mkdir(join(REPO_ROOT, ".bench"), { recursive: true });
  workDir = await mkdtemp(join(REPO_ROOT, ".bench", "e2e-load-"));
  bundle = join(workDir, "load.mjs");
  // Both at once; a gateway that started is stopped in afterAll even if the build failed.
  const [started, built] = await Promise.allSettled([
    // The per-session rate limit would (rightly) refuse a back-to-back mix; this tests the tool.
    startGateway({ vars: { RATE_LIMIT_PER_SECOND: "0" } }),
    build({
      entryPoints: [join(REPO_ROOT, "tools/load/cli.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      outfile: bundle,
      logLevel: "warning",
    }),
  ]);
  if (started.status === "fulfilled") gateway = started.value;
  if (started.status === "rejected") throw started.reason;
  if (built.status === "rejected") throw built.reason;
});

afterAll(async () => {
  await gateway?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Finished {
  code: number | null;
  stdout: string;
  report: LoadReport;
}

function startLoad(name: string, args: string[]): { child: ChildProcess; done: Promise<Finished> } {
  const json = join(workDir, `${name}.json`);
  const child = spawnGroup(
    `load run "${name}"`,
    process.execPath,
    [bundle, "--url", gateway.url, "--json", json, ...args],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const done = new Promise<Finished>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid, "SIGKILL");
      reject(new Error(`load run "${name}" took over ${RUN_LIMIT_MS} ms\n${stderr}`));
    }, RUN_LIMIT_MS);
    child.once("exit", async (code) => {
      clearTimeout(timer);
      try {
        await stopGroup(child.pid); // Anything it forked goes with it.
        const report = JSON.parse(await readFile(json, "utf8")) as LoadReport;
        resolve({ code, stdout, report });
      } catch (error) {
        reject(
          new Error(`no JSON report from "${name}" (exit ${code}): ${String(error)}\n${stderr}`),
        );
      }
    });
  });
  return { child, done };
}

function expectPercentiles(summary: LoadReport["connect"]["latencyMs"], count: number): void {
  expect(summary).not.toBeNull();
  expect(summary?.count).toBe(count);
  for (const field of ["p50", "p90", "p99", "max"] as const) {
    expect(summary?.[field]).toBeGreaterThan(0);
  }
  expect(summary?.p50).toBeLessThanOrEqual(summary?.p99 ?? 0);
}

describe("npm run load", () => {
  it("opens, exercises, idles and wakes WebSocket sessions and reports zero errors", async () => {
    const { done } = startLoad("ws", [
      "--sessions",
      "5",
      "--concurrency",
      "5",
      "--duration",
      "2",
      "--mix",
      "echo:3,add:1",
      "--idle",
      "11",
      "--wake-sample",
      "3",
      "--quiet",
      "--max-runtime",
      "35",
    ]);
    const { code, stdout, report } = await done;
    expect(code).toBe(0);
    expect(report.errors).toEqual({});
    expect(report.errorTotal).toBe(0);
    expect(report.interrupted).toBe(false);
    expect(report.sessions).toMatchObject({
      requested: 5,
      opened: 5,
      failed: 0,
      held: 5,
      heldWithZeroErrors: 5,
    });
    expect(report.connect.ratePerS).toBeGreaterThan(0);
    expectPercentiles(report.connect.latencyMs, 5);
    expect(report.warm?.calls).toBeGreaterThan(0);
    expect(report.warm?.throughputPerS).toBeGreaterThan(0);
    expectPercentiles(report.warm?.latencyMs ?? null, report.warm?.calls ?? -1);
    expect(report.wake).toMatchObject({ calls: 3, failed: 0, verified: 3 });
    expectPercentiles(report.wake?.latencyMs ?? null, 3);
    // A local target: the gateway's processes were found and sampled.
    expect(report.resources?.processes.length).toBeGreaterThan(0);
    expect(report.resources?.samples.map((s) => s.label)).toEqual(
      expect.arrayContaining(["before", "connected", "after idle", "after wake"]),
    );
    expect(stdout).toContain("warm call");
  });

  it("runs the same phases over Streamable HTTP", async () => {
    const { done } = startLoad("http", [
      "--transport",
      "http",
      "--sessions",
      "3",
      "--concurrency",
      "3",
      "--duration",
      "1",
      "--quiet",
      "--pids",
      "none",
      "--max-runtime",
      "30",
    ]);
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(report.errors).toEqual({});
    expect(report.sessions).toMatchObject({ opened: 3, heldWithZeroErrors: 3 });
    expectPercentiles(report.connect.latencyMs, 3);
    expect(report.warm?.calls).toBeGreaterThan(0);
    expect(report.resources).toBeNull();
  });

  it("runs stateless 2026-07-28 calls over Streamable HTTP, with no session to open or count", async () => {
    const { done } = startLoad("stateless", [
      "--transport",
      "http",
      "--protocol",
      "stateless",
      "--sessions",
      "2",
      "--concurrency",
      "2",
      "--duration",
      "1",
      "--quiet",
      "--pids",
      "none",
      "--max-runtime",
      "30",
    ]);
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(report.errors).toEqual({});
    expect(report.target.protocol).toBe("stateless");
    expect(report.warm?.calls).toBeGreaterThan(0);
    expect(report.warm?.failed).toBe(0);
  });

  it("stops cleanly on Ctrl-C and still reports what it measured", async () => {
    const { child, done } = startLoad("sigint", [
      "--sessions",
      "3",
      "--concurrency",
      "3",
      "--idle",
      "60",
      "--max-runtime",
      "30",
    ]);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    // The progress lines (not a terminal: one line per phase) show when idling starts.
    await waitFor(() => stderr.includes("idle"), { timeoutMs: 20_000, what: "the idle phase" });
    child.kill("SIGINT");
    const { code, report } = await done;
    expect(code).toBe(0);
    expect(report.interrupted).toBe(true);
    expect(report.sessions.opened).toBe(3);
    expectPercentiles(report.connect.latencyMs, 3);
    expect(report.wake).toBeNull();
  });
});
