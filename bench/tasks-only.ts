/**
 * `npm run bench -- --tasks-only` (the hook in bench/run.ts): starts one
 * Dormouse from a snapshot of the Worker (the per-session rate limit off,
 * MAX_TASKS_PER_PRINCIPAL raised above what the run creates), measures the
 * tasks rows (bench/tasks.ts) and replaces the tasks section of BENCHMARKS.md
 * (or `--out`), leaving the rest of the file as it was.
 *
 * Options: --tasks-blocks N (BENCH_TASKS_BLOCKS, default 10) measured blocks of
 * 50 per row; --tasks-waiting N (BENCH_TASKS_WAITING, default 1000) tasks left
 * waiting at once; --out FILE.
 */
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startWranglerDev } from "./targets";
import { writeTasksSection } from "./tasks-markdown";

/** `wrangler dev` restarts on every source change: measure a copy taken when the run starts. */
const SNAPSHOT_DIR = join(".bench", "snapshot-tasks");
const SNAPSHOT_PATHS = ["worker", "shared", "wrangler.jsonc"];
const CONFIG = join(SNAPSHOT_DIR, "wrangler.jsonc");

export async function runTasksOnly(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "tasks-only": { type: "boolean" },
      "tasks-blocks": { type: "string" },
      "tasks-waiting": { type: "string" },
      out: { type: "string" },
    },
  });
  const count = (raw: string | undefined, fallback: number, max: number, flag: string) => {
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag}: 1..${max}`);
    return n;
  };
  const blocks = count(
    values["tasks-blocks"] ?? process.env.BENCH_TASKS_BLOCKS,
    10,
    10_000,
    "--tasks-blocks",
  );
  const waiting = count(
    values["tasks-waiting"] ?? process.env.BENCH_TASKS_WAITING,
    1_000,
    100_000,
    "--tasks-waiting",
  );
  const out = values.out ?? "BENCHMARKS.md";
  const resultsDir = join(
    ".bench",
    "results",
    `tasks-${new Date().toISOString().replace(/[:.]/g, "-")}`,
  );
  await mkdir(resultsDir, { recursive: true });
  await rm(SNAPSHOT_DIR, { recursive: true, force: true });
  for (const path of SNAPSHOT_PATHS) await cp(path, join(SNAPSHOT_DIR, path), { recursive: true });
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  // process.exit runs the exit hooks that kill every server's process group (targets.ts).
  process.once("SIGTERM", () => process.exit(143));
  process.stderr.write("bench: tasks: a task against a plain call, and waiting tasks\n");
  await writeTasksSection(
    {
      startGateway: () =>
        startWranglerDev("Dormouse", CONFIG, {
          RATE_LIMIT_PER_SECOND: "0",
          MAX_TASKS_PER_PRINCIPAL: String(10 * (waiting + 100 * blocks)),
        }),
      blocks,
      waiting,
      resultsDir,
      signal: stop.signal,
    },
    `npm run bench -- ${argv.join(" ")}`,
    out,
  );
  await rm(SNAPSHOT_DIR, { recursive: true, force: true });
}
