/**
 * Interleaved measurement, the one engine every comparison in `npm run bench`
 * runs on (the federation rows included): every server of a comparison is up
 * at once; each lane (one server, one way of calling it) makes a short block
 * of calls in turn, and the rounds rotate through the lanes, each round
 * starting one lane later. Machine noise (2 shared cores) then falls on every
 * lane alike, and two lanes measured in the same round form a pair whose
 * ratio is one sample of their true ratio (`stats.ts` summarises the
 * rounds' ratios as a distribution).
 *
 * A block is `blockCalls` sequential calls on each of the lane's slots, all
 * slots at once: a slot is one call in flight (usually one open session; for
 * the setup rows, one handshake at a time). Its latencies, its wall
 * time (for throughput) and, when the lane has a CPU probe, the server's CPU
 * over the block plus `drainMs` (work a server finishes after its last reply,
 * such as wrangler's request log, belongs to that block) are kept per block.
 *
 * Before the rounds, `warmupCalls` unmeasured calls per slot, lane by lane,
 * then each server's idle CPU is calibrated (cpu.ts) with nothing running.
 * A failed call is counted by kind and the run goes on, up to `maxErrors` in
 * all; the signal stops the run between two calls.
 */
import { errorKind } from "../tools/load/errors";
import { LatencyRecorder, type RecorderState, summarize } from "../tools/load/latency";
import { pause } from "../tools/load/pacing";
import { type CpuDelta, type CpuProbe, totalNs } from "./cpu";

export interface Lane {
  /** The row key, unique in its comparison. */
  name: string;
  /** Calls in flight at once: slots 0..concurrency-1. */
  concurrency: number;
  /** One call on `slot` (the n-th of the run); throws when the reply is not the expected one. */
  call(slot: number, n: number): Promise<void>;
  /** The server's CPU probe; null when its processes cannot be read. */
  cpu: CpuProbe | null;
  /** Untimed work after each of its blocks (closing the sessions a setup block opened). */
  afterBlock?(): Promise<void>;
}

export interface InterleaveOptions {
  /** Unmeasured calls per slot before the rounds. */
  warmupCalls: number;
  /** Measured calls per slot in all; the last round may be shorter than a block. */
  calls: number;
  /** Calls per slot in one lane's block of a round. */
  blockCalls: number;
  /** Pause after each block before the CPU sample that closes it. */
  drainMs: number;
  /** How long each server's idle CPU is measured before the rounds (0: not subtracted). */
  calibrateMs: number;
  /** Past this many failed calls in the whole run, stop with an error. */
  maxErrors: number;
  signal: AbortSignal;
}

export interface Block {
  round: number;
  /** Successful measured calls. */
  calls: number;
  failed: number;
  wallMs: number;
  p50Ms: number | null;
  /** Server CPU over the block and its drain, by process role (ns); null without a probe. */
  cpuNs: CpuDelta | null;
}

export interface LaneResult {
  name: string;
  concurrency: number;
  /** Every measured call of every block. */
  latency: RecorderState;
  blocks: Block[];
  /** Successful calls, warm-up included. */
  completed: number;
  errors: Record<string, number>;
}

export async function interleave(
  lanes: readonly Lane[],
  options: InterleaveOptions,
): Promise<LaneResult[]> {
  const { signal } = options;
  const state = lanes.map((lane) => ({
    lane,
    recorder: new LatencyRecorder(),
    blocks: [] as Block[],
    completed: 0,
    errors: new Map<string, number>(),
  }));
  let errorCount = 0;
  let n = 0;
  const callOnce = async (s: (typeof state)[number], slot: number, record?: number[]) => {
    const started = performance.now();
    try {
      await s.lane.call(slot, n++);
      const ms = performance.now() - started;
      if (record) {
        s.recorder.record(ms);
        record.push(ms);
      }
      s.completed++;
      return true;
    } catch (error) {
      const kind = errorKind(error);
      s.errors.set(kind, (s.errors.get(kind) ?? 0) + 1);
      if (++errorCount > options.maxErrors)
        throw new Error(`more than ${options.maxErrors} failed calls; the last: ${String(error)}`);
      return false;
    }
  };
  for (const s of state) {
    await eachSlot(s.lane, async (slot) => {
      for (let i = 0; i < options.warmupCalls && !signal.aborted; i++) await callOnce(s, slot);
    });
    await s.lane.afterBlock?.();
  }
  const probes = new Set(lanes.map((lane) => lane.cpu).filter((p): p is CpuProbe => p !== null));
  if (options.calibrateMs > 0) {
    await pause(options.drainMs, signal);
    await Promise.all([...probes].map((p) => p.calibrate(options.calibrateMs, signal)));
  }
  let done = 0;
  for (let round = 0; done < options.calls && !signal.aborted; round++) {
    const size = Math.min(options.blockCalls, options.calls - done);
    for (let k = 0; k < state.length && !signal.aborted; k++) {
      const s = state[(round + k) % state.length] as (typeof state)[number];
      const cpuBefore = s.lane.cpu?.sample() ?? null;
      const latencies: number[] = [];
      let failed = 0;
      const started = performance.now();
      await eachSlot(s.lane, async (slot) => {
        for (let i = 0; i < size && !signal.aborted; i++)
          if (!(await callOnce(s, slot, latencies))) failed++;
      });
      const wallMs = performance.now() - started;
      let cpuNs: CpuDelta | null = null;
      if (s.lane.cpu && cpuBefore) {
        await pause(options.drainMs);
        cpuNs = s.lane.cpu.delta(cpuBefore, s.lane.cpu.sample());
      }
      if (s.lane.afterBlock) {
        await s.lane.afterBlock();
        await pause(options.drainMs);
      }
      s.blocks.push({
        round,
        calls: latencies.length,
        failed,
        wallMs,
        p50Ms: median(latencies),
        cpuNs,
      });
    }
    done += size;
  }
  return state.map((s) => ({
    name: s.lane.name,
    concurrency: s.lane.concurrency,
    latency: s.recorder.export(),
    blocks: s.blocks,
    completed: s.completed,
    errors: Object.fromEntries(s.errors),
  }));
}

function eachSlot(lane: Lane, body: (slot: number) => Promise<void>): Promise<unknown> {
  return Promise.all(Array.from({ length: lane.concurrency }, (_, slot) => body(slot)));
}

/** The summary of a lane: latency over all blocks, throughput and CPU per call over all blocks. */
export interface LaneSummary {
  name: string;
  concurrency: number;
  calls: number;
  latencyMs: ReturnType<typeof summarize>;
  /** Calls per second of block wall time. */
  throughputPerS: number | null;
  /** Server CPU per successful call, µs, by process role and in all; null without a probe. */
  cpuUsPerCall: { total: number; byRole: Record<string, number> } | null;
  errors: Record<string, number>;
}

export function summarizeLane(result: LaneResult): LaneSummary {
  const calls = result.blocks.reduce((a, b) => a + b.calls, 0);
  const wallMs = result.blocks.reduce((a, b) => a + b.wallMs, 0);
  let cpuUsPerCall: LaneSummary["cpuUsPerCall"] = null;
  const measured = result.blocks.filter((b) => b.cpuNs !== null);
  const measuredCalls = measured.reduce((a, b) => a + b.calls, 0);
  if (measured.length > 0 && measuredCalls > 0) {
    const byRole: Record<string, number> = {};
    for (const b of measured)
      for (const [role, ns] of Object.entries(b.cpuNs ?? {}))
        byRole[role] = (byRole[role] ?? 0) + ns / 1000 / measuredCalls;
    cpuUsPerCall = { total: totalNs(byRole), byRole };
  }
  return {
    name: result.name,
    concurrency: result.concurrency,
    calls,
    latencyMs: summarize(result.latency),
    throughputPerS: wallMs > 0 ? (calls * 1000) / wallMs : null,
    cpuUsPerCall,
    errors: result.errors,
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
