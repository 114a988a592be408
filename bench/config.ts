/**
 * Sizes and selection of a benchmark run, from flags or environment variables
 * (flags win). Defaults finish in about 13 minutes on a quiet 2-core machine;
 * `--quick` shrinks every size for a first look on a busy one (its numbers
 * are for checking the harness, not for quoting). `--only` runs some sections
 * and replaces just their part of --out; `--ceiling` adds the search for the
 * most idle sessions each server holds (several minutes more, and it crashes
 * local workerd on purpose at the end of each search).
 */
import { parseArgs } from "node:util";
import { type BenchPath, PATHS } from "./servers";

export interface BenchConfig {
  /** Sections to run (ids); null: every section that runs by default. */
  only: Set<string> | null;
  /** Section ids, paths, `peer` (McpAgent lanes) or `node` (Node ws lane) to leave out. */
  skip: Set<string>;
  paths: BenchPath[];
  quick: boolean;
  /** Rounds of every interleaved comparison. */
  rounds: number;
  /** Calls per session in one block (fewer with many sessions: comparison.ts). */
  block: number;
  /** Unmeasured calls per lane (spread over its sessions) before the rounds. */
  warmup: number;
  /** Pause after a block before its CPU sample, for work a server finishes after replying. */
  drainMs: number;
  /** How long each server's idle CPU is measured before a comparison's rounds. */
  calibrateMs: number;
  payloadBytes: number;
  /** Sessions per lane of the warm WebSocket comparisons. */
  warmLevels: number[];
  /** Sessions per lane of the warm Streamable HTTP comparisons. */
  httpLevels: number[];
  /** Handshakes in flight per lane, sessions per slot per block, and rounds, of the setup rows. */
  setupConcurrency: number;
  setupBlock: number;
  setupRounds: number;
  /** Interleaved pairs of the first-call-after-hibernation rows, sessions per lane in each. */
  wakePairs: number;
  wakeSessions: number;
  /** Idle WebSocket sessions per server in the idle-memory runs. */
  idleSessions: number;
  /** Silence before waking (> 10 s: local workerd evicts after 10 s). */
  idleS: number;
  /** Sessions woken one at a time after the idle-memory runs. */
  wakeSample: number;
  /** Idle Streamable HTTP sessions per server in the idle-memory runs. */
  httpSessions: number;
  connectConcurrency: number;
  ceiling: boolean;
  ceilingMax: number;
  ceilingStep: number;
  federationCalls: number;
  federationWarmup: number;
  federationSessions: number;
  federationIdleS: number;
  /** Sessions per gateway in the replay store's warm echo rows (resume), one row pair per level. */
  resumeLevels: number[];
  /** Measured blocks per gateway and level, and calls per session in one block. */
  resumeBlocks: number;
  resumeBlockCalls: number;
  /** Re-attach samples per gateway with the object resident, and sessions re-attached after eviction. */
  resumeSamples: number;
  resumeEvicted: number;
  /** Measured blocks of 50 per row of the tasks comparison. */
  tasksBlocks: number;
  /** Tasks left waiting at once. */
  tasksWaiting: number;
  out: string;
}

/** The help text; `sections` lists every section id with one line on it. */
export function benchHelp(sections: readonly { id: string; summary: string }[]): string {
  const width = Math.max(...sections.map((s) => s.id.length));
  const list = sections.map((s) => `  ${s.id.padEnd(width)}  ${s.summary}`).join("\n");
  return `${BENCH_USAGE}\nSections (in the order they run):\n${list}\n`;
}

const BENCH_USAGE = `Usage: npm run bench -- [options]   (or the BENCH_* environment variables)

Selection
  --only LIST         run only these sections (below) and replace only their part of --out
  --<section>-only    the same as --only <section> (e.g. --federation-only)
  --skip LIST         leave out sections, a path (wrangler, direct), the McpAgent
                      lanes (peer) or the Node ws lane (node) (BENCH_SKIP)
  --paths LIST        local paths to compare on (BENCH_PATHS, default wrangler,direct)
  --quick             small sizes everywhere, for a first look (sizes given still win)
  --out FILE          where to write (default BENCHMARKS.md; charts go next to it)

Interleaved comparisons (ws, http, setup)
  --rounds N          rounds per comparison (BENCH_ROUNDS, default 20; quick 6)
  --block N           calls per session in one block (BENCH_BLOCK, default 50)
  --warmup N          unmeasured calls per lane first, spread over its sessions, so V8 has
                      optimised the server's code before the rounds (BENCH_WARMUP, default
                      5000; quick 100). 300 left Dormouse's larger code partly unoptimised at
                      1 session: its own CPU per call read 49-52 us there, 31-42 us after 5000,
                      the bare object's alike (BENCHMARKS.md, efficiency log)
  --drain-ms N        wait after a block before reading its CPU (BENCH_DRAIN_MS, default 20)
  --warm-levels LIST  WebSocket sessions per lane (BENCH_WARM_LEVELS, default 1,10,100)
  --http-levels LIST  Streamable HTTP sessions per lane (BENCH_HTTP_LEVELS, default 1,10)
  --setup-rounds N    rounds of the setup rows (BENCH_SETUP_ROUNDS, default 10)

First call after hibernation (wake)
  --wake-pairs N      interleaved pairs (BENCH_WAKE_PAIRS, default 3)
  --wake-sessions N   sessions per lane in each pair (BENCH_WAKE_SESSIONS, default 50)
  --idle-seconds S    idle time before waking (BENCH_IDLE_SECONDS, default 12)

Idle memory (idle) and the ceiling
  --idle-sessions N   idle WebSocket sessions per server (BENCH_IDLE_SESSIONS, default 2000)
  --wake-sample N     of those, woken one at a time (BENCH_WAKE_SAMPLE, default 200)
  --http-sessions N   idle Streamable HTTP sessions per server (BENCH_HTTP_SESSIONS, default 100)
  --ceiling           also search the most idle sessions each server holds (BENCH_CEILING=1)
  --ceiling-max N     upper bound of that search (BENCH_CEILING_MAX, default 25000)
  --ceiling-step N    sessions added per step (BENCH_CEILING_STEP, default 500)

Federation
  --federation-calls N   measured calls per row (BENCH_FEDERATION_CALLS, default 500)
  --federation-warmup N  unmeasured calls per row first (BENCH_FEDERATION_WARMUP, default 50)
  --federation-sessions N  WebSocket sessions per group woken after idling
                         (BENCH_FEDERATION_SESSIONS, default 200)
  --federation-idle-seconds S  their idle time (BENCH_FEDERATION_IDLE_SECONDS, default 12.5)

The replay store's cost (resume: two gateways, REPLAY on and off)
  --resume-levels LIST      sessions per gateway of the warm echo rows
                            (BENCH_RESUME_LEVELS, default 1,10)
  --resume-blocks N         measured blocks per gateway and level
                            (BENCH_RESUME_BLOCKS, default 40; quick 4)
  --resume-block-calls N    calls per session in one block (BENCH_RESUME_BLOCK_CALLS, default 50)
  --resume-samples N        re-attaches per gateway, object resident
                            (BENCH_RESUME_SAMPLES, default 100; quick 10)
  --resume-evicted N        sessions re-attached after their object was evicted
                            (BENCH_RESUME_EVICTED, default 20; quick 5)

Durable tasks (tasks)
  --tasks-blocks N    measured blocks of 50 operations per row
                      (BENCH_TASKS_BLOCKS, default 10; quick 2)
  --tasks-waiting N   tasks left waiting at once (BENCH_TASKS_WAITING, default 1000; quick 100)

  --help
`;

type Sizes = Omit<BenchConfig, "only" | "skip" | "paths" | "quick" | "ceiling" | "out">;

const DEFAULTS: Sizes = {
  rounds: 20,
  block: 50,
  warmup: 5_000,
  drainMs: 20,
  calibrateMs: 1_500,
  payloadBytes: 64,
  warmLevels: [1, 10, 100],
  httpLevels: [1, 10],
  setupConcurrency: 8,
  setupBlock: 4,
  setupRounds: 10,
  wakePairs: 3,
  wakeSessions: 50,
  idleSessions: 2000,
  idleS: 12,
  wakeSample: 200,
  httpSessions: 100,
  connectConcurrency: 16,
  ceilingMax: 25_000,
  ceilingStep: 500,
  federationCalls: 500,
  federationWarmup: 50,
  federationSessions: 200,
  federationIdleS: 12.5,
  resumeLevels: [1, 10],
  resumeBlocks: 40,
  resumeBlockCalls: 50,
  resumeSamples: 100,
  resumeEvicted: 20,
  tasksBlocks: 10,
  tasksWaiting: 1_000,
};

const QUICK: Partial<Sizes> = {
  rounds: 6,
  block: 30,
  warmup: 100,
  calibrateMs: 1_000,
  warmLevels: [1, 10],
  httpLevels: [1, 10],
  setupRounds: 4,
  wakeSessions: 10,
  idleSessions: 200,
  wakeSample: 20,
  httpSessions: 20,
  ceilingMax: 3_000,
  federationCalls: 100,
  federationWarmup: 20,
  federationSessions: 20,
  resumeBlocks: 4,
  resumeSamples: 10,
  resumeEvicted: 5,
  tasksBlocks: 2,
  tasksWaiting: 100,
};

/** `sections`: the ids of every section, each of which gets a `--<id>-only` flag. */
export function parseBenchConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  sections: readonly string[] = [],
): BenchConfig | "help" {
  const shortcuts = Object.fromEntries(
    sections.map((id) => [`${id}-only`, { type: "boolean" } as const]),
  );
  const { values } = parseArgs({ args: [...argv], options: { ...shortcuts, ...OPTIONS } });
  if (values.help) return "help";
  const quick = values.quick === true || env.BENCH_QUICK === "1";
  const base: Sizes = { ...DEFAULTS, ...(quick ? QUICK : {}) };
  const raw = (flag: string, name: string): string | undefined => {
    const value = (values as Record<string, unknown>)[flag] ?? env[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const num = (flag: string, name: string, fallback: number, max: number, whole = true) => {
    const text = raw(flag, name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || n > max || (whole && !Number.isInteger(n)))
      throw new Error(
        `--${flag} (${name}): "${text}" is not a ${whole ? "whole " : ""}number in 1..${max}`,
      );
    return n;
  };
  const list = (flag: string, name: string, fallback: number[], max = 1000) => {
    const text = raw(flag, name);
    if (text === undefined) return fallback;
    const levels = text.split(",").map((s) => Number(s.trim()));
    if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > max))
      throw new Error(`--${flag}: 1..${max} each`);
    return levels;
  };
  const names = (text: string | undefined) =>
    new Set(
      (text ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
  const skip = names(raw("skip", "BENCH_SKIP"));
  const only = names(values.only);
  for (const id of sections)
    if ((values as Record<string, unknown>)[`${id}-only`] === true) only.add(id);
  const paths = [...names(raw("paths", "BENCH_PATHS") ?? PATHS.join(","))];
  for (const p of paths)
    if (!(PATHS as readonly string[]).includes(p)) throw new Error(`--paths: unknown path "${p}"`);
  return {
    only: only.size > 0 ? only : null,
    skip,
    paths: (paths as BenchPath[]).filter((p) => !skip.has(p)),
    quick,
    rounds: num("rounds", "BENCH_ROUNDS", base.rounds, 10_000),
    block: num("block", "BENCH_BLOCK", base.block, 10_000),
    warmup: num("warmup", "BENCH_WARMUP", base.warmup, 10_000),
    drainMs: num("drain-ms", "BENCH_DRAIN_MS", base.drainMs, 10_000),
    calibrateMs: base.calibrateMs,
    payloadBytes: base.payloadBytes,
    warmLevels: list("warm-levels", "BENCH_WARM_LEVELS", base.warmLevels),
    httpLevels: list("http-levels", "BENCH_HTTP_LEVELS", base.httpLevels),
    setupConcurrency: base.setupConcurrency,
    setupBlock: base.setupBlock,
    setupRounds: num("setup-rounds", "BENCH_SETUP_ROUNDS", base.setupRounds, 10_000),
    wakePairs: num("wake-pairs", "BENCH_WAKE_PAIRS", base.wakePairs, 100),
    wakeSessions: num("wake-sessions", "BENCH_WAKE_SESSIONS", base.wakeSessions, 10_000),
    idleSessions: num("idle-sessions", "BENCH_IDLE_SESSIONS", base.idleSessions, 100_000),
    idleS: num("idle-seconds", "BENCH_IDLE_SECONDS", base.idleS, 600, false),
    wakeSample: num("wake-sample", "BENCH_WAKE_SAMPLE", base.wakeSample, 100_000),
    httpSessions: num("http-sessions", "BENCH_HTTP_SESSIONS", base.httpSessions, 10_000),
    connectConcurrency: base.connectConcurrency,
    ceiling: values.ceiling === true || env.BENCH_CEILING === "1",
    ceilingMax: num("ceiling-max", "BENCH_CEILING_MAX", base.ceilingMax, 100_000),
    ceilingStep: num("ceiling-step", "BENCH_CEILING_STEP", base.ceilingStep, 100_000),
    federationCalls: num(
      "federation-calls",
      "BENCH_FEDERATION_CALLS",
      base.federationCalls,
      100_000,
    ),
    federationWarmup: num(
      "federation-warmup",
      "BENCH_FEDERATION_WARMUP",
      base.federationWarmup,
      10_000,
    ),
    federationSessions: num(
      "federation-sessions",
      "BENCH_FEDERATION_SESSIONS",
      base.federationSessions,
      10_000,
    ),
    federationIdleS: num(
      "federation-idle-seconds",
      "BENCH_FEDERATION_IDLE_SECONDS",
      base.federationIdleS,
      600,
      false,
    ),
    resumeLevels: list("resume-levels", "BENCH_RESUME_LEVELS", base.resumeLevels, 100),
    resumeBlocks: num("resume-blocks", "BENCH_RESUME_BLOCKS", base.resumeBlocks, 1_000),
    resumeBlockCalls: num(
      "resume-block-calls",
      "BENCH_RESUME_BLOCK_CALLS",
      base.resumeBlockCalls,
      10_000,
    ),
    resumeSamples: num("resume-samples", "BENCH_RESUME_SAMPLES", base.resumeSamples, 10_000),
    resumeEvicted: num("resume-evicted", "BENCH_RESUME_EVICTED", base.resumeEvicted, 1_000),
    tasksBlocks: num("tasks-blocks", "BENCH_TASKS_BLOCKS", base.tasksBlocks, 10_000),
    tasksWaiting: num("tasks-waiting", "BENCH_TASKS_WAITING", base.tasksWaiting, 100_000),
    out: values.out ?? "BENCHMARKS.md",
  };
}

const OPTIONS = {
  only: { type: "string" },
  skip: { type: "string" },
  paths: { type: "string" },
  quick: { type: "boolean" },
  out: { type: "string" },
  rounds: { type: "string" },
  block: { type: "string" },
  warmup: { type: "string" },
  "drain-ms": { type: "string" },
  "warm-levels": { type: "string" },
  "http-levels": { type: "string" },
  "setup-rounds": { type: "string" },
  "wake-pairs": { type: "string" },
  "wake-sessions": { type: "string" },
  "idle-seconds": { type: "string" },
  "idle-sessions": { type: "string" },
  "wake-sample": { type: "string" },
  "http-sessions": { type: "string" },
  ceiling: { type: "boolean" },
  "ceiling-max": { type: "string" },
  "ceiling-step": { type: "string" },
  "federation-calls": { type: "string" },
  "federation-warmup": { type: "string" },
  "federation-sessions": { type: "string" },
  "federation-idle-seconds": { type: "string" },
  "resume-levels": { type: "string" },
  "resume-blocks": { type: "string" },
  "resume-block-calls": { type: "string" },
  "resume-samples": { type: "string" },
  "resume-evicted": { type: "string" },
  "tasks-blocks": { type: "string" },
  "tasks-waiting": { type: "string" },
  help: { type: "boolean" },
} as const;
