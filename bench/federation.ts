/**
 * The federation rows (issue #4): the latency a relayed `tools/call` adds
 * over calling the upstream directly, all measured in one run against one
 * upstream process and one Dormouse.
 *
 * Each row is one session making sequential calls, one in flight at a time:
 * the direct client's own upstream session, a Dormouse WebSocket session and
 * a Dormouse Streamable HTTP session relaying `state__recall`, and Dormouse's
 * built-in `echo` on both transports (the gateway's own cost, no upstream).
 * After a warm-up, the measured calls are taken in rounds that rotate through
 * the rows (interleave.ts, the engine of every comparison), so machine noise
 * (2 cores shared by the client, the upstream and both workerd processes)
 * falls on every row alike.
 *
 * Every reply is checked (recall must return the value this session
 * remembered), and the upstream's own counters are read at the end to show
 * that each relayed call reached it and that each gateway session kept one
 * upstream session. Every call is bounded by CALL_TIMEOUT_MS.
 *
 * Then, against the same two processes, the wake rows (federation-wake.ts):
 * the first call after hibernation on many sessions, relayed against echo,
 * and whether each woken object continued its upstream session.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LoadError } from "../tools/load/errors";
import { HttpSession } from "../tools/load/http-session";
import { type LatencySummary, summarize } from "../tools/load/latency";
import type { LoadSession } from "../tools/load/session";
import { endpointFor, type Target, type Transport } from "../tools/load/target";
import { WsSession } from "../tools/load/ws-session";
import { measureWakes, type WakeResult } from "./federation-wake";
import { interleave, type LaneResult } from "./interleave";
import { type RunningTarget, startStatefulUpstream } from "./targets";

export const UPSTREAM_PREFIX = "state";
/** Measured calls per row in each round before the next row takes its turn. */
export const ROUND_CALLS = 50;
const CALL_TIMEOUT_MS = 10_000;
/** Past this many failed calls in a run the numbers mean little: stop. */
const MAX_ERRORS = 10;

export type FederationMode = "direct" | "relay-ws" | "relay-http" | "echo-ws" | "echo-http";

export const MODES: readonly FederationMode[] = [
  "direct",
  "relay-ws",
  "relay-http",
  "echo-ws",
  "echo-http",
];

export interface FederationRow {
  mode: FederationMode;
  latencyMs: LatencySummary | null;
  errors: Record<string, number>;
}

export interface UpstreamCounters {
  toolCalls: number;
  expectedToolCalls: number;
  sessions: number;
  expectedSessions: number;
}

export interface FederationResult {
  calls: number;
  warmup: number;
  rows: FederationRow[];
  /** null when the upstream could not be asked. */
  upstream: UpstreamCounters | null;
  /** The wake rows; null when the run was interrupted before them. */
  wake: WakeResult | null;
  /** Stopped early by Ctrl-C: the rows hold the calls made until then. */
  interrupted: boolean;
  startedAt: Date;
  finishedAt: Date;
}

export interface FederationOptions {
  calls: number;
  warmup: number;
  /** Sessions per group in the wake rows, their idle time, and handshakes in flight. */
  wakeSessions: number;
  wakeIdleS: number;
  connectConcurrency: number;
  /** Path of `tests/upstreams/stateful-upstream.ts` (or a snapshot of it). */
  upstreamScript: string;
  /** Starts Dormouse with this UPSTREAMS value. */
  startGateway(upstreams: string): Promise<RunningTarget>;
  resultsDir: string;
  signal: AbortSignal;
}

/** Starts the upstream, then Dormouse in front of it, measures, and stops both. */
export async function runFederation(options: FederationOptions): Promise<FederationResult> {
  const startedAt = new Date();
  const upstream = await startStatefulUpstream(options.upstreamScript);
  try {
    const upstreams = JSON.stringify([
      { name: "state", url: upstream.url, prefix: UPSTREAM_PREFIX },
    ]);
    const gateway = await options.startGateway(upstreams);
    try {
      const result = await measure(upstream.url, gateway.url, options, startedAt);
      await writeFile(join(options.resultsDir, "federation.json"), JSON.stringify(result, null, 2));
      return result;
    } finally {
      await gateway.stop();
    }
  } finally {
    await upstream.stop();
  }
}

/** Who each row calls, over which transport, and which tool. */
const ROW_SPECS: Record<
  FederationMode,
  { server: "upstream" | "gateway"; transport: Transport; tool: "recall" | "echo" }
> = {
  direct: { server: "upstream", transport: "http", tool: "recall" },
  "relay-ws": { server: "gateway", transport: "ws", tool: "recall" },
  "relay-http": { server: "gateway", transport: "http", tool: "recall" },
  "echo-ws": { server: "gateway", transport: "ws", tool: "echo" },
  "echo-http": { server: "gateway", transport: "http", tool: "echo" },
};

interface FederationLane {
  mode: FederationMode;
  session: LoadSession;
  tool: string;
  args: Record<string, unknown>;
  /** Called once first to store `expected` upstream (the recall rows), or null. */
  setup: string | null;
  /** What the reply's text must be. */
  expected: string;
  /** Successful calls, warm-up and setup included. */
  completed: number;
}

async function measure(
  upstreamUrl: string,
  gatewayUrl: string,
  options: FederationOptions,
  startedAt: Date,
): Promise<FederationResult> {
  let lost: LoadError | null = null;
  const lanes = MODES.map((mode) =>
    laneFor(mode, { upstream: upstreamUrl, gateway: gatewayUrl }, (error) => {
      lost = error;
    }),
  );
  try {
    for (const lane of lanes) {
      await lane.session.open();
      // Opens the upstream session (relayed rows) and gives recall a value to check.
      if (lane.setup) {
        await lane.session.call(lane.setup, { value: lane.expected });
        lane.completed++;
      }
    }
    const measured = await interleave(
      lanes.map((lane) => ({
        name: lane.mode,
        concurrency: 1,
        cpu: null,
        async call() {
          if (lost)
            throw new Error(`a WebSocket session was closed: ${(lost as LoadError).message}`);
          const reply = await lane.session.call(lane.tool, lane.args);
          if (reply.text !== lane.expected)
            throw new LoadError("wrong_reply", `${lane.mode}: ${String(reply.text).slice(0, 80)}`);
        },
      })),
      {
        warmupCalls: options.warmup,
        calls: options.calls,
        blockCalls: ROUND_CALLS,
        drainMs: 0,
        calibrateMs: 0,
        maxErrors: MAX_ERRORS,
        signal: options.signal,
      },
    );
    const rows = lanes.map((lane, i) => {
      const result = measured[i] as LaneResult;
      lane.completed += result.completed;
      return {
        mode: lane.mode,
        latencyMs: summarize(result.latency),
        errors: result.errors,
      };
    });
    // Read before the wake rows add their own upstream sessions and calls.
    const upstream = await upstreamCounters(lanes);
    const direct = lanes.find((lane) => lane.mode === "direct");
    const wake = options.signal.aborted
      ? null
      : await measureWakes({
          gatewayUrl,
          prefix: UPSTREAM_PREFIX,
          sessions: options.wakeSessions,
          idleS: options.wakeIdleS,
          connectConcurrency: options.connectConcurrency,
          callTimeoutMs: CALL_TIMEOUT_MS,
          maxErrors: MAX_ERRORS,
          upstreamSessions: async () =>
            direct ? ((await readStats(direct))?.sessions ?? null) : null,
          signal: options.signal,
        });
    return {
      calls: options.calls,
      warmup: options.warmup,
      rows,
      upstream,
      wake,
      interrupted: options.signal.aborted,
      startedAt,
      finishedAt: new Date(),
    };
  } finally {
    await Promise.all(lanes.map((lane) => lane.session.close()));
  }
}

function laneFor(
  mode: FederationMode,
  urls: { upstream: string; gateway: string },
  onLost: (error: LoadError) => void,
): FederationLane {
  const spec = ROW_SPECS[mode];
  const target: Target = {
    endpoint: endpointFor(urls[spec.server], spec.transport),
    transport: spec.transport,
    protocol: "mcp",
    token: undefined,
    timeoutMs: CALL_TIMEOUT_MS,
  };
  const value = `bench-${mode}`;
  const prefix = spec.server === "gateway" ? `${UPSTREAM_PREFIX}__` : "";
  const recall = spec.tool === "recall";
  return {
    mode,
    session: spec.transport === "ws" ? new WsSession(target, onLost) : new HttpSession(target),
    tool: recall ? `${prefix}recall` : "echo",
    args: recall ? {} : { text: value },
    setup: recall ? `${prefix}remember` : null,
    expected: value,
    completed: 0,
  };
}

/**
 * The upstream's process-wide counters, read through the direct session: every
 * `tools/call` it served (this one included) and its live sessions, against
 * what one upstream session per relaying gateway session implies. A failed
 * call may or may not have reached it, so the counts are exact only without errors.
 */
async function upstreamCounters(lanes: FederationLane[]): Promise<UpstreamCounters | null> {
  const direct = lanes.find((lane) => lane.mode === "direct");
  if (!direct) return null;
  const upstreamLanes = lanes.filter((lane) => lane.setup !== null);
  const stats = await readStats(direct);
  if (!stats) return null;
  return {
    toolCalls: stats.calls,
    expectedToolCalls: upstreamLanes.reduce((n, lane) => n + lane.completed, 0) + 1,
    sessions: stats.sessions,
    expectedSessions: upstreamLanes.length,
  };
}

/** The upstream's `stats` (one `tools/call` on the direct session), or null when unreadable. */
async function readStats(
  direct: FederationLane,
): Promise<{ calls: number; sessions: number } | null> {
  try {
    const reply = await direct.session.call("stats", {});
    const stats = JSON.parse(reply.text ?? "") as { calls?: unknown; sessions?: unknown };
    if (typeof stats.calls !== "number" || typeof stats.sessions !== "number") return null;
    return { calls: stats.calls, sessions: stats.sessions };
  } catch {
    return null;
  }
}
