/**
 * One interleaved comparison on one path: the lanes' sessions opened on
 * servers that are already up, the rounds (interleave.ts), the sessions
 * closed. What the sections of BENCHMARKS.md are made of.
 */
import type { LoadSession } from "../tools/load/session";
import { interleave, type Lane, type LaneResult } from "./interleave";
import { echoLane, LANE_SPECS, type LaneId, LostSessions, openSessions, setupLane } from "./lanes";
import type { BenchPath, Server, ServerKind } from "./servers";

export interface RoundOptions {
  rounds: number;
  /** Calls per slot in a block, for one slot; see callsPerSlot. */
  blockCalls: number;
  /** Unmeasured calls per lane, spread over its slots (at least 2 each). */
  warmupCalls: number;
  drainMs: number;
  calibrateMs: number;
  payloadBytes: number;
  signal: AbortSignal;
}

export interface ComparisonResult {
  path: BenchPath;
  /** Slots per lane: sessions for warm rows, handshakes in flight for setup rows. */
  concurrency: number;
  callsPerBlock: number;
  lanes: LaneResult[];
  /** Each lane's server idle CPU, ns per ms of wall time, by process role. */
  idleCpu: Partial<Record<LaneId, Record<string, number>>>;
  interrupted: boolean;
}

/** Failed calls past which a comparison's numbers mean little. */
const MAX_ERRORS = 20;
/** A block never asks much more than this many calls of one lane in all. */
const BLOCK_CALL_CAP = 250;

/**
 * Calls per slot in one block: `blockCalls` for one slot, fewer with many
 * slots so a block stays short (at most about BLOCK_CALL_CAP calls), never
 * fewer than 10 so each slot's stream is more than its ramp.
 */
export function callsPerSlot(blockCalls: number, slots: number): number {
  return Math.max(10, Math.min(blockCalls, Math.floor(BLOCK_CALL_CAP / slots)));
}

type Servers = Map<ServerKind, Server>;

function serverOf(servers: Servers, id: LaneId): Server {
  const server = servers.get(LANE_SPECS[id].server);
  if (!server) throw new Error(`no ${LANE_SPECS[id].server} server for lane ${id}`);
  return server;
}

/** Warm `echo` calls on `sessions` open sessions per lane. */
export async function runEchoComparison(
  path: BenchPath,
  ids: readonly LaneId[],
  servers: Servers,
  sessions: number,
  o: RoundOptions,
): Promise<ComparisonResult> {
  const lost = new LostSessions();
  const open: LoadSession[][] = [];
  try {
    for (const id of ids)
      open.push(await openSessions(id, serverOf(servers, id), sessions, lost, o.signal));
    const lanes = ids.map((id, i) => {
      const lane = echoLane(id, serverOf(servers, id), open[i] ?? [], o.payloadBytes);
      return checked(lane, lost);
    });
    return await run(path, ids, servers, lanes, callsPerSlot(o.blockCalls, sessions), o);
  } finally {
    await Promise.all(open.flat().map((s) => s.close()));
  }
}

/** New sessions, `concurrency` handshakes in flight per lane, `blockCalls` per slot per block. */
export function runSetupComparison(
  path: BenchPath,
  ids: readonly LaneId[],
  servers: Servers,
  concurrency: number,
  o: RoundOptions,
): Promise<ComparisonResult> {
  const lost = new LostSessions();
  const lanes = ids.map((id) => setupLane(id, serverOf(servers, id), concurrency, lost));
  return run(path, ids, servers, lanes, o.blockCalls, o);
}

async function run(
  path: BenchPath,
  ids: readonly LaneId[],
  servers: Servers,
  lanes: Lane[],
  perSlot: number,
  o: RoundOptions,
): Promise<ComparisonResult> {
  const results = await interleave(lanes, {
    warmupCalls: Math.max(2, Math.ceil(o.warmupCalls / Math.max(1, lanes[0]?.concurrency ?? 1))),
    calls: o.rounds * perSlot,
    blockCalls: perSlot,
    drainMs: o.drainMs,
    calibrateMs: o.calibrateMs,
    maxErrors: MAX_ERRORS,
    signal: o.signal,
  });
  const idleCpu: ComparisonResult["idleCpu"] = {};
  for (const id of ids) {
    const cpu = serverOf(servers, id).cpu;
    if (cpu) idleCpu[id] = cpu.idleNsPerMs;
  }
  return {
    path,
    concurrency: lanes[0]?.concurrency ?? 0,
    callsPerBlock: perSlot * (lanes[0]?.concurrency ?? 0),
    lanes: results,
    idleCpu,
    interrupted: o.signal.aborted,
  };
}

/** A lane that fails its next call once any session of the comparison was lost. */
function checked(lane: Lane, lost: LostSessions): Lane {
  return {
    ...lane,
    call(slot, n) {
      lost.check();
      return lane.call(slot, n);
    },
  };
}
