/**
 * First call after hibernation, in interleaved pairs: for each pair, every
 * lane (Dormouse and its floor, on the same path, at the same time) opens
 * `sessions` sessions, makes one `echo` call on each (so its object exists)
 * and reads its wake count; everything then idles, sockets open, past local
 * workerd's 10 s eviction; then one timed call per session, one in flight,
 * rotating through the lanes (session 0 of each lane, then session 1, ...),
 * and afterwards, untimed, every wake count again. A count that rose proves
 * that the timed call woke an evicted object: only those calls make the
 * "verified" latency. A lane whose server cannot count (McpAgent) reports all
 * its calls, marked unverified.
 *
 * Several pairs, each with its own sessions and idle period, show how far one
 * pair's ratio can be trusted on this machine. Every call is bounded.
 */
import { errorKind, LoadError } from "../tools/load/errors";
import { LatencyRecorder, type LatencySummary, summarize } from "../tools/load/latency";
import { payloadOf } from "../tools/load/mix";
import { forEachBounded, pause } from "../tools/load/pacing";
import type { LoadSession } from "../tools/load/session";
import { LANE_SPECS, type LaneId, LostSessions, openSessions } from "./lanes";
import type { BenchPath, Server, ServerKind } from "./servers";

export interface WakeOptions {
  pairs: number;
  /** Sessions per lane per pair. */
  sessions: number;
  idleS: number;
  signal: AbortSignal;
}

export interface WakeLane {
  id: LaneId;
  /** Sessions set up before idling. */
  ready: number;
  /** Every timed call. */
  all: LatencySummary | null;
  /** Timed calls whose object was verified evicted (wake count rose); null when unverifiable. */
  verified: LatencySummary | null;
  /** Sessions whose count was read before and after / of those, whose count rose. */
  counted: number;
  evicted: number;
  errors: Record<string, number>;
}

export interface WakePair {
  index: number;
  lanes: WakeLane[];
  /** Wall time of setup, idling, the timed calls and the checks, s. */
  phasesS: { setup: number; idle: number; timed: number; verify: number };
}

export interface WakeResult {
  path: BenchPath;
  sessions: number;
  idleS: number;
  pairs: WakePair[];
  interrupted: boolean;
}

const CONCURRENCY = 16;
/** Past this many failures in one pair, stop: the numbers would mean little. */
const MAX_ERRORS = 20;

interface Member {
  session: LoadSession;
  before: number | null;
  ms: number | null;
  ready: boolean;
}

export async function runWakePairs(
  path: BenchPath,
  ids: readonly LaneId[],
  servers: Map<ServerKind, Server>,
  options: WakeOptions,
): Promise<WakeResult> {
  const pairs: WakePair[] = [];
  for (let index = 0; index < options.pairs && !options.signal.aborted; index++)
    pairs.push(await onePair(index, ids, servers, options));
  return {
    path,
    sessions: options.sessions,
    idleS: options.idleS,
    pairs,
    interrupted: options.signal.aborted,
  };
}

async function onePair(
  index: number,
  ids: readonly LaneId[],
  servers: Map<ServerKind, Server>,
  options: WakeOptions,
): Promise<WakePair> {
  const { signal } = options;
  const text = payloadOf(64);
  // A socket the server drops while idle fails its timed call (not_open), counted there.
  const lost = new LostSessions();
  const errors = ids.map(() => new Map<string, number>());
  let failures = 0;
  const guard = async (lane: number, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      const kind = errorKind(error);
      const counts = errors[lane] as Map<string, number>;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      if (++failures > MAX_ERRORS)
        throw new Error(
          `more than ${MAX_ERRORS} failed wake-row calls; the last: ${String(error)}`,
        );
    }
  };
  const echo = async (m: Member) => {
    const reply = await m.session.call("echo", { text });
    if (reply.text !== text) throw new LoadError("wrong_reply", String(reply.text).slice(0, 80));
  };
  const clock = phaseClock();
  const members: Member[][] = [];
  try {
    for (const id of ids) {
      const server = servers.get(LANE_SPECS[id].server);
      if (!server) throw new Error(`no server for lane ${id}`);
      const sessions = await openSessions(id, server, options.sessions, lost, signal);
      members.push(sessions.map((session) => ({ session, before: null, ms: null, ready: false })));
    }
    await forEachAll(members, signal, (lane, m) =>
      guard(lane, async () => {
        await echo(m);
        m.before = await m.session.wakes();
        m.ready = true;
      }),
    );
    const setup = clock();
    await pause(options.idleS * 1000, signal);
    const idle = clock();
    for (let i = 0; i < options.sessions && !signal.aborted; i++) {
      for (let k = 0; k < ids.length; k++) {
        const lane = (i + k) % ids.length;
        const m = members[lane]?.[i];
        if (!m?.ready) continue;
        await guard(lane, async () => {
          const started = performance.now();
          await echo(m);
          m.ms = performance.now() - started;
        });
      }
    }
    const timed = clock();
    const after = members.map((lane) => lane.map(() => null as number | null));
    await forEachAll(members, signal, (lane, m, i) =>
      guard(lane, async () => {
        if (m.ms === null || m.before === null) return;
        (after[lane] as (number | null)[])[i] = await m.session.wakes();
      }),
    );
    const lanes = ids.map((id, lane) =>
      summarizeLane(id, members[lane] ?? [], after[lane] ?? [], errors[lane]),
    );
    return { index, lanes, phasesS: { setup, idle, timed, verify: clock() } };
  } finally {
    const all = members.flat();
    const never = new AbortController().signal;
    await forEachBounded(all.length, 64, never, (i) => (all[i] as Member).session.close());
  }
}

function summarizeLane(
  id: LaneId,
  members: readonly Member[],
  after: readonly (number | null)[],
  errors: Map<string, number> | undefined,
): WakeLane {
  const all = new LatencyRecorder();
  const verified = new LatencyRecorder();
  let counted = 0;
  let evicted = 0;
  members.forEach((m, i) => {
    if (m.ms === null) return;
    all.record(m.ms);
    const later = after[i];
    if (m.before === null || later === null || later === undefined) return;
    counted++;
    if (later > m.before) {
      evicted++;
      verified.record(m.ms);
    }
  });
  return {
    id,
    ready: members.filter((m) => m.ready).length,
    all: summarize(all.export()),
    verified: counted > 0 ? summarize(verified.export()) : null,
    counted,
    evicted,
    errors: Object.fromEntries(errors ?? []),
  };
}

/** `body` on every member of every lane, bounded concurrency, lanes interleaved. */
function forEachAll(
  members: Member[][],
  signal: AbortSignal,
  body: (lane: number, m: Member, i: number) => Promise<void>,
): Promise<number> {
  const order: [number, number][] = [];
  const longest = Math.max(0, ...members.map((lane) => lane.length));
  for (let i = 0; i < longest; i++)
    for (let lane = 0; lane < members.length; lane++) if (members[lane]?.[i]) order.push([lane, i]);
  return forEachBounded(order.length, CONCURRENCY, signal, (k) => {
    const [lane, i] = order[k] as [number, number];
    return body(lane, (members[lane] as Member[])[i] as Member, i);
  });
}

/** Seconds since the previous reading, to one decimal. */
function phaseClock(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = Math.round((now - last) / 100) / 10;
    last = now;
    return seconds;
  };
}
