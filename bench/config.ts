/**
 * Sizes of a benchmark run, from flags or environment variables (flags win).
 * Defaults finish in about five minutes on a 2-core machine; `--ceiling` adds
 * the search for the most idle sessions each server holds (several minutes
 * more, and it crashes local workerd on purpose at the end of each search).
 * `--federation-only` runs just the federation rows (about a minute) and
 * splices their section into an existing BENCHMARKS.md.
 */
import { parseArgs } from "node:util";

export interface BenchConfig {
  /** Idle WebSocket sessions per server in the idle-scale runs. */
  idleSessions: number;
  /** Silence before waking (> 10 s: local workerd evicts after 10 s). */
  idleS: number;
  wakeSample: number;
  connectConcurrency: number;
  warmS: number;
  warmLevels: number[];
  httpSessions: number;
  ceiling: boolean;
  ceilingMax: number;
  ceilingStep: number;
  /** Measured calls per federation row, after `federationWarmup` unmeasured ones. */
  federationCalls: number;
  federationWarmup: number;
  /** WebSocket sessions per group (relayed, echo) in the federation wake rows. */
  federationSessions: number;
  /** Silence before their first call after hibernation (> 10 s, as idleS). */
  federationIdleS: number;
  federationOnly: boolean;
  /** Blocks of 50 per row in the tasks rows, and tasks left waiting at once (bench/tasks.ts). */
  tasksBlocks: number;
  tasksWaiting: number;
  tasksOnly: boolean;
  skip: Set<string>;
  out: string;
}

export const BENCH_HELP = `Usage: npm run bench -- [options]   (or the BENCH_* environment variables)

  --idle-sessions N   idle WebSocket sessions per server (BENCH_IDLE_SESSIONS, default 2000)
  --idle-seconds S    idle time before waking (BENCH_IDLE_SECONDS, default 12)
  --wake-sample N     sessions woken after idling (BENCH_WAKE_SAMPLE, default 200)
  --warm-seconds S    steady echo calls per level (BENCH_WARM_SECONDS, default 4)
  --warm-levels LIST  concurrent sessions for the warm rows (BENCH_WARM_LEVELS, default 1,10,100)
  --http-sessions N   Streamable HTTP sessions for the McpAgent rows (BENCH_HTTP_SESSIONS, default 100)
  --ceiling           also search the most idle sessions each server holds (BENCH_CEILING=1)
  --ceiling-max N     upper bound of that search (BENCH_CEILING_MAX, default 25000)
  --ceiling-step N    sessions added per step (BENCH_CEILING_STEP, default 500)
  --federation-calls N   measured calls per federation row (BENCH_FEDERATION_CALLS, default 500)
  --federation-warmup N  unmeasured calls per row first (BENCH_FEDERATION_WARMUP, default 50)
  --federation-sessions N  WebSocket sessions per group woken after idling, relayed and echo
                         (BENCH_FEDERATION_SESSIONS, default 200)
  --federation-idle-seconds S  their idle time (BENCH_FEDERATION_IDLE_SECONDS, default 12.5)
  --federation-only   run only the federation rows and replace their section of --out
  --tasks-blocks N    measured blocks of 50 per tasks row (BENCH_TASKS_BLOCKS, default 10)
  --tasks-waiting N   tasks left waiting at once (BENCH_TASKS_WAITING, default 1000)
  --tasks-only        run only the tasks rows and replace their section of --out
  --skip LIST         leave out any of: direct, peer, node, http, federation, tasks (BENCH_SKIP)
  --out FILE          where to write the tables (default BENCHMARKS.md)
  --help
`;

export function parseBenchConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): BenchConfig | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "idle-sessions": { type: "string" },
      "idle-seconds": { type: "string" },
      "wake-sample": { type: "string" },
      "warm-seconds": { type: "string" },
      "warm-levels": { type: "string" },
      "http-sessions": { type: "string" },
      ceiling: { type: "boolean" },
      "ceiling-max": { type: "string" },
      "ceiling-step": { type: "string" },
      "federation-calls": { type: "string" },
      "federation-warmup": { type: "string" },
      "federation-sessions": { type: "string" },
      "federation-idle-seconds": { type: "string" },
      "federation-only": { type: "boolean" },
      "tasks-blocks": { type: "string" },
      "tasks-waiting": { type: "string" },
      "tasks-only": { type: "boolean" },
      skip: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return "help";
  const pick = (flag: string | undefined, name: string, fallback: number, max: number) => {
    const raw = flag ?? env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || n > max)
      throw new Error(`${name}: "${raw}" is not a number in 1..${max}`);
    return n;
  };
  const levels = (values["warm-levels"] ?? env.BENCH_WARM_LEVELS ?? "1,10,100")
    .split(",")
    .map((s) => Number(s.trim()));
  if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 1000))
    throw new Error("--warm-levels: 1..1000 each");
  return {
    idleSessions: Math.round(pick(values["idle-sessions"], "BENCH_IDLE_SESSIONS", 2000, 100_000)),
    idleS: pick(values["idle-seconds"], "BENCH_IDLE_SECONDS", 12, 600),
    wakeSample: Math.round(pick(values["wake-sample"], "BENCH_WAKE_SAMPLE", 200, 100_000)),
    connectConcurrency: 16,
    warmS: pick(values["warm-seconds"], "BENCH_WARM_SECONDS", 4, 600),
    warmLevels: levels,
    httpSessions: Math.round(pick(values["http-sessions"], "BENCH_HTTP_SESSIONS", 100, 10_000)),
    ceiling: values.ceiling ?? env.BENCH_CEILING === "1",
    ceilingMax: Math.round(pick(values["ceiling-max"], "BENCH_CEILING_MAX", 25_000, 100_000)),
    ceilingStep: Math.round(pick(values["ceiling-step"], "BENCH_CEILING_STEP", 500, 100_000)),
    federationCalls: Math.round(
      pick(values["federation-calls"], "BENCH_FEDERATION_CALLS", 500, 100_000),
    ),
    federationWarmup: Math.round(
      pick(values["federation-warmup"], "BENCH_FEDERATION_WARMUP", 50, 10_000),
    ),
    federationSessions: Math.round(
      pick(values["federation-sessions"], "BENCH_FEDERATION_SESSIONS", 200, 10_000),
    ),
    federationIdleS: pick(
      values["federation-idle-seconds"],
      "BENCH_FEDERATION_IDLE_SECONDS",
      12.5,
      600,
    ),
    federationOnly: values["federation-only"] ?? false,
    tasksBlocks: Math.round(pick(values["tasks-blocks"], "BENCH_TASKS_BLOCKS", 10, 10_000)),
    tasksWaiting: Math.round(pick(values["tasks-waiting"], "BENCH_TASKS_WAITING", 1_000, 100_000)),
    tasksOnly: values["tasks-only"] ?? false,
    skip: new Set(
      (values.skip ?? env.BENCH_SKIP ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    out: values.out ?? "BENCHMARKS.md",
  };
}
