/**
 * The `resume` section's measurement: what the WebSocket replay store costs,
 * and how fast a restored connection gets what it missed. Rendered by
 * resume-markdown.ts.
 *
 * Two gateways run at once from the run's snapshot of the Worker, identical but for
 * the REPLAY var (on: every outgoing message numbered and kept in SQLite; off:
 * neither), both with the per-session rate limit off. Warm rows: 1 and 10
 * sessions each make `tools/call echo` calls in blocks of BLOCK_CALLS per
 * session, alternating between the two gateways (ABBA order, so drift hits
 * both alike), with the gateway processes' CPU read from /proc around each
 * block. Re-attach rows: a call is left running, the socket dropped without a
 * close frame, its reply produced while detached; then the time from a new
 * socket to its open event and to the first (replayed) message, warm and after
 * the session object was evicted (idle > 10 s).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { discoverGateway } from "../tools/load/gateway-procs";
import { LatencyRecorder, type LatencySummary, summarize } from "../tools/load/latency";
import { pause } from "../tools/load/pacing";
import type { Target } from "../tools/load/target";
import { WsSession } from "../tools/load/ws-session";
import { cpuMs, ProbeSession, type Reattach } from "./resume-probe";
import type { RunningTarget } from "./targets";

export const WARMUP_BLOCKS = 3;
/** The reply of the call left running comes this long after the drop. */
const SLEEP_MS = 40;
const DROP_AFTER_MS = 15;
const REPLY_SETTLE_MS = 120;

export type Replay = "on" | "off";

export interface ResumeOptions {
  levels: number[];
  blocks: number;
  blockCalls: number;
  samples: number;
  evictedSamples: number;
  idleS: number;
  /** Aborted by Ctrl-C: stop between two blocks or two re-attaches. */
  signal: AbortSignal;
}

export interface WarmRow {
  replay: Replay;
  /** `echo` writes nothing; `counter` writes its state in the same commit as the kept reply. */
  tool: "echo" | "counter";
  sessions: number;
  latency: LatencySummary | null;
  /** Median over blocks of calls/s. */
  blockRateMedian: number;
  /** All calls / all block time. */
  rate: number;
  cpuMsPerCall: number;
  calls: number;
}

export interface ReattachRow {
  replay: Replay;
  label: string;
  samples: number;
  open: LatencySummary | null;
  first: LatencySummary | null;
  /** How many first messages arrived (replay off: none expected). */
  replayed: number;
  /** Evicted rows: how many sessions showed a new wake after the re-attach. */
  evicted?: number;
}

export interface ResumeResult {
  startedAt: Date;
  options: Omit<ResumeOptions, "signal">;
  /** Unmeasured blocks per gateway and level before the measured ones. */
  warmupBlocks: number;
  warm: WarmRow[];
  reattach: ReattachRow[];
  interrupted: boolean;
}

export interface Server {
  replay: Replay;
  target: RunningTarget;
  pids: number[];
}

/**
 * Starts the two gateways (`start` gives one its REPLAY value), measures them,
 * keeps the raw result in `resultsDir`, and stops them (by process group)
 * whatever happens.
 */
export async function runResume(
  options: ResumeOptions,
  start: (replay: Replay) => Promise<RunningTarget>,
  resultsDir: string,
): Promise<ResumeResult> {
  const startedAt = new Date();
  const servers: Server[] = [];
  try {
    for (const replay of ["on", "off"] as const) {
      log(`starting Dormouse with REPLAY=${replay}`);
      const target = await start(replay);
      servers.push({
        replay,
        target,
        pids: discoverGateway(Number(new URL(target.url).port)).map((p) => p.pid),
      });
    }
    const { signal, ...sizes } = options;
    const measured = await measureResume(servers, options);
    const result: ResumeResult = {
      startedAt,
      options: sizes,
      warmupBlocks: WARMUP_BLOCKS,
      ...measured,
      interrupted: signal.aborted,
    };
    await writeFile(join(resultsDir, "resume.json"), JSON.stringify(result, null, 2));
    return result;
  } finally {
    await Promise.all(servers.map((s) => s.target.stop()));
  }
}

/** Measures both gateways: the warm rows at each level, then the re-attach rows. */
async function measureResume(
  servers: readonly Server[],
  options: ResumeOptions,
): Promise<Pick<ResumeResult, "warm" | "reattach">> {
  const warm: WarmRow[] = [];
  for (const level of options.levels) {
    if (options.signal.aborted) break;
    warm.push(...(await warmRows(servers, level, "echo", options)));
  }
  if (!options.signal.aborted) warm.push(...(await warmRows(servers, 1, "counter", options)));
  const reattach: ReattachRow[] = [];
  for (const server of servers) {
    if (options.signal.aborted) break;
    reattach.push(await warmReattach(server, options));
  }
  const on = servers.find((s) => s.replay === "on");
  if (on && !options.signal.aborted) reattach.push(await evictedReattach(on, options));
  return { warm, reattach };
}

async function warmRows(
  servers: readonly Server[],
  level: number,
  tool: WarmRow["tool"],
  options: ResumeOptions,
) {
  const target = (server: Server): Target => ({
    endpoint: `${server.target.url.replace(/^http/, "ws")}/ws`,
    transport: "ws",
    protocol: "mcp",
    token: undefined,
    timeoutMs: 10_000,
  });
  const fleets = await Promise.all(
    servers.map(async (server) => {
      const sessions = Array.from({ length: level }, () => new WsSession(target(server), () => {}));
      await Promise.all(sessions.map((s) => s.open()));
      return {
        server,
        sessions,
        latency: new LatencyRecorder(),
        rates: [] as number[],
        cpu: 0,
        ms: 0,
      };
    }),
  );
  log(
    `warm ${tool}, ${level} session(s): ${options.blocks} blocks of ${options.blockCalls} calls per session on each gateway`,
  );
  try {
    for (let block = -WARMUP_BLOCKS; block < options.blocks && !options.signal.aborted; block++) {
      const order = block % 2 === 0 ? fleets : [...fleets].reverse();
      for (const fleet of order) {
        const cpuBefore = cpuMs(fleet.server.pids);
        const started = performance.now();
        const samples: number[] = [];
        await Promise.all(
          fleet.sessions.map(async (session) => {
            for (let i = 0; i < options.blockCalls; i++) {
              const t0 = performance.now();
              await session.call(tool, tool === "echo" ? { text: "resume bench" } : {});
              samples.push(performance.now() - t0);
            }
          }),
        );
        const elapsed = performance.now() - started;
        const cpu = cpuMs(fleet.server.pids) - cpuBefore;
        if (block < 0) continue;
        for (const sample of samples) fleet.latency.record(sample);
        fleet.rates.push((samples.length / elapsed) * 1000);
        fleet.cpu += cpu;
        fleet.ms += elapsed;
      }
    }
  } finally {
    await Promise.all(fleets.flatMap((f) => f.sessions.map((s) => s.close())));
  }
  return fleets.map((fleet): WarmRow => {
    const calls = fleet.rates.length * options.blockCalls * level;
    return {
      replay: fleet.server.replay,
      tool,
      sessions: level,
      latency: summarize(fleet.latency.export()),
      blockRateMedian: median(fleet.rates),
      rate: (calls / fleet.ms) * 1000,
      cpuMsPerCall: fleet.cpu / calls,
      calls,
    };
  });
}

/** Leaves a call running, drops the socket without a close frame, lets the reply be kept. */
async function leaveReplyBehind(session: ProbeSession): Promise<void> {
  session.send("tools/call", { name: "sleep", arguments: { ms: SLEEP_MS } });
  await pause(DROP_AFTER_MS);
  session.drop();
}

async function warmReattach(server: Server, options: ResumeOptions): Promise<ReattachRow> {
  const samples = options.samples;
  log(`re-attach after a drop, REPLAY=${server.replay}: ${samples} samples`);
  const session = new ProbeSession(`${server.target.url.replace(/^http/, "ws")}/ws`);
  await session.open();
  const open = new LatencyRecorder();
  const first = new LatencyRecorder();
  let replayed = 0;
  let taken = 0;
  for (; taken < samples && !options.signal.aborted; taken++) {
    await leaveReplyBehind(session);
    await pause(SLEEP_MS + REPLY_SETTLE_MS);
    const timing = await session.reattach(server.replay === "on");
    record(timing, open, first);
    if (timing.firstMs !== null) replayed++;
  }
  session.close();
  return {
    replay: server.replay,
    label: "warm (object resident)",
    samples: taken,
    open: summarize(open.export()),
    first: summarize(first.export()),
    replayed,
  };
}

async function evictedReattach(server: Server, options: ResumeOptions): Promise<ReattachRow> {
  const n = options.evictedSamples;
  log(`re-attach after ${options.idleS} s away (object evicted): ${n} sessions`);
  const url = `${server.target.url.replace(/^http/, "ws")}/ws`;
  const sessions = Array.from({ length: n }, () => new ProbeSession(url));
  await Promise.all(sessions.map((s) => s.open()));
  const wakesBefore = await Promise.all(sessions.map(wakesOf));
  await Promise.all(sessions.map(leaveReplyBehind));
  await pause(options.idleS * 1000);
  const open = new LatencyRecorder();
  const first = new LatencyRecorder();
  let replayed = 0;
  let evicted = 0;
  for (const [i, session] of sessions.entries()) {
    const timing = await session.reattach(true);
    record(timing, open, first);
    if (timing.firstMs !== null) replayed++;
    if ((await wakesOf(session)) > (wakesBefore[i] ?? Number.POSITIVE_INFINITY)) evicted++;
    session.close();
  }
  return {
    replay: server.replay,
    label: `after ${options.idleS} s away (object evicted)`,
    samples: n,
    open: summarize(open.export()),
    first: summarize(first.export()),
    replayed,
    evicted,
  };
}

async function wakesOf(session: ProbeSession): Promise<number> {
  const reply = await session.request("tools/call", { name: "session_info", arguments: {} });
  const result = reply.result as { content?: { text?: string }[] } | undefined;
  const wakes = (JSON.parse(result?.content?.[0]?.text ?? "{}") as { wakes?: unknown }).wakes;
  return typeof wakes === "number" ? wakes : -1;
}

function record(timing: Reattach, open: LatencyRecorder, first: LatencyRecorder): void {
  open.record(timing.openMs);
  if (timing.firstMs !== null) first.record(timing.firstMs);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return 0;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function log(line: string): void {
  process.stderr.write(`bench: resume: ${line}\n`);
}
