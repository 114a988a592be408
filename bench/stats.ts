/**
 * Paired ratios of two lanes measured in the same rounds (interleave.ts):
 * in each round, lane A's block metric over lane B's, then the distribution
 * of those per-round ratios. The median is the estimate; the spread (quartiles
 * and range) says how far one round can stray, i.e. how much a single
 * back-to-back comparison on this machine could be trusted.
 */
import { totalNs } from "./cpu";
import type { Block, LaneResult } from "./interleave";

export interface Distribution {
  /** Rounds in which both lanes had a value. */
  n: number;
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
}

export type BlockMetric = (block: Block) => number | null;

export const METRICS = {
  p50: (b: Block) => b.p50Ms,
  throughput: (b: Block) => (b.wallMs > 0 && b.calls > 0 ? (b.calls * 1000) / b.wallMs : null),
  cpuPerCall: (b: Block) => (b.cpuNs && b.calls > 0 ? totalNs(b.cpuNs) / 1000 / b.calls : null),
} satisfies Record<string, BlockMetric>;

/** A's metric over B's, round by round; null when no round had both. */
export function pairedRatio(
  a: LaneResult,
  b: LaneResult,
  metric: BlockMetric,
): Distribution | null {
  return paired(a, b, metric, (value, floor) => (floor > 0 ? value / floor : null));
}

/** A's metric minus B's, round by round (e.g. CPU per call a server adds over its floor). */
export function pairedDifference(
  a: LaneResult,
  b: LaneResult,
  metric: BlockMetric,
): Distribution | null {
  return paired(a, b, metric, (value, floor) => value - floor);
}

/** `combine` of A's and B's metric for each round both measured (null: the round is left out). */
function paired(
  a: LaneResult,
  b: LaneResult,
  metric: BlockMetric,
  combine: (value: number, floor: number) => number | null,
): Distribution | null {
  const byRound = new Map<number, number>();
  for (const block of b.blocks) {
    const value = metric(block);
    if (value !== null) byRound.set(block.round, value);
  }
  const values: number[] = [];
  for (const block of a.blocks) {
    const value = metric(block);
    const floor = byRound.get(block.round);
    if (value === null || floor === undefined) continue;
    const combined = combine(value, floor);
    if (combined !== null) values.push(combined);
  }
  return distribution(values);
}

export function distribution(values: readonly number[]): Distribution | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/** Linear interpolation between the closest ranks of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const low = sorted[lo] as number;
  return low + ((sorted[hi] as number) - low) * (at - lo);
}
