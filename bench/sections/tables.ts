/**
 * The two tables of an interleaved comparison: each lane's numbers, and each
 * pair's per-round ratios (stats.ts) with the CPU a server adds over its floor.
 */
import type { ComparisonResult } from "../comparison";
import { errorsOf, pair, quotient, rate, spread, times, us } from "../format";
import { type LaneSummary, summarizeLane } from "../interleave";
import { LANE_SPECS, type LaneId } from "../lanes";
import { METRICS, pairedDifference, pairedRatio } from "../stats";

/** A ratio row: `of` against `floor`. */
export interface PairSpec {
  of: LaneId;
  floor: LaneId;
}

/** One row per lane: count, p50 / p99, rate, server CPU per unit (`calls` or `sessions`). */
export function serverTable(
  out: string[],
  byLevel: ReadonlyMap<number, ComparisonResult>,
  unit: "calls" | "sessions",
): void {
  const one = unit === "calls" ? "call" : "session";
  out.push(
    `| ${unit === "calls" ? "sessions" : "handshakes in flight"} per lane | server | ${unit} | p50 / p99 ms | ${unit}/s | server CPU µs per ${one} | where (µs per ${one}) | errors |`,
    "|---|---|---|---|---|---|---|---|",
  );
  for (const [level, r] of byLevel) {
    for (const lane of r.lanes) {
      const s = summarizeLane(lane);
      out.push(
        `| ${level} | ${LANE_SPECS[lane.name as LaneId].label} | ${s.calls.toLocaleString("en")} | ${pair(s.latencyMs)} | ${rate(s.throughputPerS)} | ${us(s.cpuUsPerCall?.total)} | ${roles(s)} | ${errorsOf(s.errors)} |`,
      );
    }
  }
  out.push("");
}

/** One row per pair: the per-round ratio distributions, and CPU over the floor. */
export function pairTable(
  out: string[],
  byLevel: ReadonlyMap<number, ComparisonResult>,
  pairs: readonly PairSpec[],
  one: "call" | "session",
): void {
  out.push(
    `| ${one === "call" ? "sessions" : "handshakes in flight"} per lane | ratio | p50, per round | throughput, per round | server CPU per ${one}, all rounds | CPU µs per ${one} added over the floor, per round |`,
    "|---|---|---|---|---|---|",
  );
  for (const [level, r] of byLevel) {
    for (const p of pairs) {
      const a = r.lanes.find((l) => l.name === p.of);
      const b = r.lanes.find((l) => l.name === p.floor);
      if (!a || !b) continue;
      const sa = summarizeLane(a);
      const sb = summarizeLane(b);
      out.push(
        `| ${level} | ${LANE_SPECS[p.of].label} ÷ ${LANE_SPECS[p.floor].label} | ${spread(pairedRatio(a, b, METRICS.p50))} | ${spread(pairedRatio(a, b, METRICS.throughput))} | ${times(quotient(sa.cpuUsPerCall?.total, sb.cpuUsPerCall?.total))} | ${spread(pairedDifference(a, b, METRICS.cpuPerCall), " µs")} |`,
      );
    }
  }
  out.push("");
}

function roles(s: LaneSummary): string {
  if (!s.cpuUsPerCall) return "-";
  return Object.entries(s.cpuUsPerCall.byRole)
    .filter(([, v]) => v >= 0.5)
    .map(([role, v]) => `${role} ${us(v)}`)
    .join(", ");
}
