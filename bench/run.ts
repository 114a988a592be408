/**
 * `npm run bench`: starts each server in turn, measures it with the load
 * generator, and writes BENCHMARKS.md. Dormouse is always measured in the same
 * run as its floors: the bare hibernating object (same runtime, same path
 * through `wrangler dev`, and the same Miniflare path as `serve:direct`), a
 * plain Node `ws` echo server, and the McpAgent peer over Streamable HTTP.
 *
 * One server runs at a time (the machine has 2 cores); each starts fresh with
 * its own state directory, so memory per session is measured from a clean
 * baseline. Raw JSON reports go to .bench/results/<timestamp>/.
 *
 * The federation rows (bench/federation.ts) run last, or alone with
 * `--federation-only`, which replaces only their section of BENCHMARKS.md.
 * The first Ctrl-C stops them between two calls; every server is stopped by
 * its process group on any exit (targets.ts).
 */
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BENCH_HELP, type BenchConfig, parseBenchConfig } from "./config";
import { type FederationOptions, runFederation } from "./federation";
import {
  describeFederation,
  renderFederationSection,
  spliceFederationSection,
} from "./federation-markdown";
import { type LoadRun, runLoadTool } from "./load-runner";
import { renderBenchmarks } from "./markdown";
import { type RunningTarget, startDirect, startWranglerDev, startWsEcho } from "./targets";
import type { TasksBenchOptions } from "./tasks";
import { writeTasksSection } from "./tasks-markdown";

/**
 * Dormouse is measured from a snapshot of worker/ and shared/ taken when the
 * run starts: `wrangler dev` rebuilds and restarts the runtime on every source
 * change, which closes every hibernated socket, so an edit made while the
 * benchmark runs would otherwise show up as 2,000 dropped sessions. Inside the
 * repository, so imports still resolve from node_modules.
 */
const SNAPSHOT_DIR = join(".bench", "snapshot");
/** Snapshotted with the Worker for the same reason: tests/ is edited while benchmarks run. */
const UPSTREAM_SCRIPT = join("tests", "upstreams", "stateful-upstream.ts");
const SNAPSHOT_PATHS = ["worker", "shared", "wrangler.jsonc", UPSTREAM_SCRIPT];
const DORMOUSE_CONFIG = join(SNAPSHOT_DIR, "wrangler.jsonc");
const BARE_CONFIG = "bench/bare-object/wrangler.jsonc";
const PEER_CONFIG = "bench/mcp-agent-peer/wrangler.jsonc";
/** Benchmarks measure the gateway, not its per-session rate limit (worker/config.ts). */
const DORMOUSE_VARS = { RATE_LIMIT_PER_SECOND: "0" };

type Runs = Map<string, LoadRun>;

async function main(): Promise<void> {
  const config = parseBenchConfig(process.argv.slice(2), process.env);
  if (config === "help") {
    process.stdout.write(BENCH_HELP);
    return;
  }
  const argv = process.argv.slice(2);
  const command = `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  const startedAt = new Date();
  const resultsDir = join(".bench", "results", startedAt.toISOString().replace(/[:.]/g, "-"));
  await mkdir(resultsDir, { recursive: true });
  await rm(SNAPSHOT_DIR, { recursive: true, force: true });
  for (const path of SNAPSHOT_PATHS) {
    await cp(path, join(SNAPSHOT_DIR, path), { recursive: true });
  }
  const stop = new AbortController();
  process.once("SIGINT", () => {
    stop.abort();
    process.stderr.write("\nbench: stopping after the current server (Ctrl-C again to quit)\n");
    process.once("SIGINT", () => process.exit(130));
  });
  // process.exit runs the exit hooks that kill every server's process group.
  process.once("SIGTERM", () => process.exit(143));
  process.once("SIGHUP", () => process.exit(129));
  const federation: FederationOptions = {
    calls: config.federationCalls,
    warmup: config.federationWarmup,
    wakeSessions: config.federationSessions,
    wakeIdleS: config.federationIdleS,
    connectConcurrency: config.connectConcurrency,
    upstreamScript: join(SNAPSHOT_DIR, UPSTREAM_SCRIPT),
    startGateway: (upstreams) =>
      startWranglerDev("Dormouse", DORMOUSE_CONFIG, { ...DORMOUSE_VARS, UPSTREAMS: upstreams }),
    resultsDir,
    signal: stop.signal,
  };
  if (config.federationOnly) {
    await federationOnly(config, federation, command);
    return;
  }
  // The tasks rows (bench/tasks.ts): their own section of --out, alone with --tasks-only.
  const tasks: TasksBenchOptions = {
    startGateway: () =>
      startWranglerDev("Dormouse", DORMOUSE_CONFIG, {
        ...DORMOUSE_VARS,
        MAX_TASKS_PER_PRINCIPAL: String(10 * (config.tasksWaiting + 100 * config.tasksBlocks)),
      }),
    blocks: config.tasksBlocks,
    waiting: config.tasksWaiting,
    resultsDir,
    signal: stop.signal,
  };
  if (config.tasksOnly) {
    process.stderr.write("bench: tasks: a task against a plain call, and waiting tasks\n");
    await writeTasksSection(tasks, command, config.out);
    return;
  }
  const runs: Runs = new Map();
  const bench = new Bench(config, resultsDir, runs);
  const steps: [string, () => Promise<void>][] = [
    [
      "bare object (wrangler dev)",
      () =>
        bench.wsServer(
          "bare",
          "wrangler",
          () => startWranglerDev("bare object", BARE_CONFIG),
          "echo",
        ),
    ],
    [
      "Dormouse (wrangler dev)",
      () =>
        bench.wsServer(
          "dormouse",
          "wrangler",
          () => startWranglerDev("Dormouse", DORMOUSE_CONFIG, DORMOUSE_VARS),
          "mcp",
        ),
    ],
  ];
  if (!config.skip.has("node"))
    steps.push(["Node ws", () => bench.wsServer("nodews", "node", startWsEcho, "echo")]);
  if (!config.skip.has("direct")) {
    steps.push([
      "bare object (serve:direct)",
      () =>
        bench.idleOnly(
          "bare",
          "direct",
          () => startDirect("bare object direct", BARE_CONFIG),
          "echo",
        ),
    ]);
    steps.push([
      "Dormouse (serve:direct)",
      () =>
        bench.idleOnly(
          "dormouse",
          "direct",
          () => startDirect("Dormouse direct", DORMOUSE_CONFIG, DORMOUSE_VARS),
          "mcp",
        ),
    ]);
  }
  if (!config.skip.has("http")) {
    steps.push([
      "Dormouse over HTTP (wrangler dev)",
      () =>
        bench.httpServer("dormouse", () =>
          startWranglerDev("Dormouse", DORMOUSE_CONFIG, DORMOUSE_VARS),
        ),
    ]);
  }
  if (!config.skip.has("peer")) {
    steps.push([
      "McpAgent peer (wrangler dev)",
      () => bench.httpServer("mcpagent", () => startWranglerDev("McpAgent", PEER_CONFIG)),
    ]);
  }
  if (config.ceiling) {
    steps.push([
      "ceiling: Dormouse (wrangler dev)",
      () =>
        bench.ceiling(
          "dormouse",
          "wrangler",
          () => startWranglerDev("Dormouse", DORMOUSE_CONFIG, DORMOUSE_VARS),
          "mcp",
        ),
    ]);
    steps.push([
      "ceiling: bare object (wrangler dev)",
      () =>
        bench.ceiling(
          "bare",
          "wrangler",
          () => startWranglerDev("bare object", BARE_CONFIG),
          "echo",
        ),
    ]);
    if (!config.skip.has("direct")) {
      steps.push([
        "ceiling: Dormouse (serve:direct)",
        () =>
          bench.ceiling(
            "dormouse",
            "direct",
            () => startDirect("Dormouse direct", DORMOUSE_CONFIG, DORMOUSE_VARS),
            "mcp",
          ),
      ]);
      steps.push([
        "ceiling: bare object (serve:direct)",
        () =>
          bench.ceiling(
            "bare",
            "direct",
            () => startDirect("bare object direct", BARE_CONFIG),
            "echo",
          ),
      ]);
    }
    if (!config.skip.has("node"))
      steps.push(["ceiling: Node ws", () => bench.ceiling("nodews", "node", startWsEcho, "echo")]);
  }
  let federationSection: string | undefined;
  if (!config.skip.has("federation")) {
    steps.push([
      "federation: relayed vs direct calls (wrangler dev)",
      async () => {
        try {
          const result = await runFederation(federation);
          process.stderr.write(describeFederation(result));
          federationSection = renderFederationSection({ command, startedAt, result });
        } catch (error) {
          const failure = firstLine(error);
          federationSection = renderFederationSection({
            command,
            startedAt,
            result: null,
            failure,
          });
          throw error;
        }
      },
    ]);
  }
  const failures: string[] = [];
  for (const [name, step] of steps) {
    if (stop.signal.aborted) break;
    process.stderr.write(`bench: ${name}\n`);
    try {
      await step();
    } catch (error) {
      failures.push(`${name}: ${firstLine(error)}`);
      process.stderr.write(`bench: ${name} failed: ${String(error)}\n`);
    }
  }
  const markdown = await renderBenchmarks({
    config,
    runs,
    startedAt,
    finishedAt: new Date(),
    failures,
    interrupted: stop.signal.aborted,
    argv,
    federationSection,
  });
  await writeFile(config.out, markdown);
  process.stderr.write(`bench: wrote ${config.out} (raw reports in ${resultsDir})\n`);
  if (!config.skip.has("tasks") && !stop.signal.aborted) {
    process.stderr.write("bench: tasks: a task against a plain call, and waiting tasks\n");
    await writeTasksSection(tasks, command, config.out);
  }
}

/**
 * `--federation-only`: the federation rows alone, their section spliced into
 * the existing file (created when missing). A failed or interrupted run
 * leaves the file as it was.
 */
async function federationOnly(
  config: BenchConfig,
  options: FederationOptions,
  command: string,
): Promise<void> {
  const startedAt = new Date();
  process.stderr.write("bench: federation: relayed vs direct calls (wrangler dev)\n");
  const result = await runFederation(options);
  process.stderr.write(describeFederation(result));
  if (result.interrupted) {
    process.stderr.write(`bench: interrupted; ${config.out} left as it was\n`);
    process.exitCode = 130;
    return;
  }
  let existing = "";
  try {
    existing = await readFile(config.out, "utf8");
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
    await mkdir(dirname(config.out), { recursive: true });
  }
  const section = renderFederationSection({ command, startedAt, result });
  await writeFile(config.out, spliceFederationSection(existing, section));
  process.stderr.write(
    `bench: wrote the federation section of ${config.out} (raw report in ${options.resultsDir})\n`,
  );
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}

class Bench {
  constructor(
    private readonly config: BenchConfig,
    private readonly resultsDir: string,
    private readonly runs: Runs,
  ) {}

  /** Idle scale, wake and setup rate, then the warm rows, on one fresh server. */
  async wsServer(
    name: string,
    path: string,
    start: () => Promise<RunningTarget>,
    protocol: "mcp" | "echo",
  ): Promise<void> {
    await this.#with(start, async (target) => {
      await this.#idleRun(name, path, target, protocol);
      for (const level of this.config.warmLevels) {
        const args = [
          "--url",
          target.url,
          "--protocol",
          protocol,
          "--sessions",
          String(level),
          "--concurrency",
          String(level),
        ];
        args.push("--duration", String(this.config.warmS), "--mix", "echo", "--pids", "none");
        await this.#load(`warm:${name}:${level}`, args, this.config.warmS + 30);
      }
    });
  }

  async idleOnly(
    name: string,
    path: string,
    start: () => Promise<RunningTarget>,
    protocol: "mcp" | "echo",
  ): Promise<void> {
    await this.#with(start, (target) => this.#idleRun(name, path, target, protocol));
  }

  /** Streamable HTTP: setup, warm calls at 10 and 1 concurrent sessions, first call after idling. */
  async httpServer(name: string, start: () => Promise<RunningTarget>): Promise<void> {
    const c = this.config;
    await this.#with(start, async (target) => {
      const args = [
        "--url",
        target.url,
        "--transport",
        "http",
        "--sessions",
        String(c.httpSessions),
      ];
      args.push("--concurrency", "10", "--duration", String(c.warmS), "--idle", String(c.idleS));
      args.push("--wake-sample", String(Math.min(50, c.httpSessions)));
      await this.#load(`http:${name}`, args, c.httpSessions / 5 + c.warmS + c.idleS + 30);
      const one = [
        "--url",
        target.url,
        "--transport",
        "http",
        "--sessions",
        "1",
        "--concurrency",
        "1",
      ];
      one.push("--duration", String(c.warmS), "--pids", "none");
      await this.#load(`http-warm:${name}:1`, one, c.warmS + 30);
    });
  }

  async ceiling(
    name: string,
    path: string,
    start: () => Promise<RunningTarget>,
    protocol: "mcp" | "echo",
  ): Promise<void> {
    const c = this.config;
    await this.#with(start, async (target) => {
      const args = [
        "--url",
        target.url,
        "--protocol",
        protocol,
        "--sessions",
        String(c.ceilingMax),
      ];
      args.push("--ramp-step", String(c.ceilingStep), "--ramp-settle", "2", "--concurrency", "32");
      args.push("--idle", String(c.idleS), "--wake-sample", "100", "--timeout", "30");
      await this.#load(`ceiling:${name}:${path}`, args, c.ceilingMax / 50 + c.idleS + 120);
    });
  }

  async #idleRun(
    name: string,
    path: string,
    target: RunningTarget,
    protocol: "mcp" | "echo",
  ): Promise<void> {
    const c = this.config;
    const args = [
      "--url",
      target.url,
      "--protocol",
      protocol,
      "--sessions",
      String(c.idleSessions),
    ];
    args.push("--concurrency", String(c.connectConcurrency), "--idle", String(c.idleS));
    args.push("--wake-sample", String(Math.min(c.wakeSample, c.idleSessions)));
    await this.#load(`idle:${name}:${path}`, args, c.idleSessions / 20 + c.idleS + 60);
  }

  async #load(label: string, args: string[], expectedS: number): Promise<void> {
    this.runs.set(label, await runLoadTool(label, args, this.resultsDir, expectedS));
  }

  async #with(
    start: () => Promise<RunningTarget>,
    body: (target: RunningTarget) => Promise<void>,
  ): Promise<void> {
    const target = await start();
    try {
      await body(target);
    } finally {
      await target.stop();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
