/**
 * `wake`: the first call after hibernation, in `--wake-pairs` interleaved
 * pairs per path (bench/wake.ts): Dormouse over WebSocket against the bare
 * object, Dormouse's session-era Streamable HTTP against the Worker → object
 * floor, and McpAgent, each pair with its own sessions and idle period.
 */
import { errorsOf, ms, quotient, times } from "../format";
import { LANE_SPECS, type LaneId } from "../lanes";
import { saveResult } from "../results";
import { type BenchPath, PATH_LABELS, type ServerKind } from "../servers";
import { distribution } from "../stats";
import { runWakePairs, type WakeLane, type WakeResult } from "../wake";
import type { Section, TargetRow } from "./section";

const PAIRS: { of: LaneId; floor: LaneId }[] = [
  { of: "dormouse-ws", floor: "bare" },
  { of: "dormouse-http", floor: "do-floor" },
  { of: "mcpagent", floor: "do-floor" },
];

function lanesOf(skip: ReadonlySet<string>): LaneId[] {
  const lanes: LaneId[] = ["dormouse-ws", "bare", "dormouse-http", "do-floor"];
  if (!skip.has("peer")) lanes.push("mcpagent");
  return lanes;
}

export function wakeSection(): Section {
  const results = new Map<BenchPath, WakeResult>();
  return {
    id: "wake",
    summary: "first call after hibernation, verified by wake counts, in interleaved pairs",
    byDefault: () => true,
    servers: (c): ServerKind[] => [...new Set(lanesOf(c.skip).map((id) => LANE_SPECS[id].server))],
    async measure(ctx, path) {
      if (path === null) return;
      const c = ctx.config;
      const lanes = lanesOf(c.skip);
      const servers = await ctx.pool.use(path, [
        ...new Set(lanes.map((id) => LANE_SPECS[id].server)),
      ]);
      process.stderr.write(
        `  wake: ${PATH_LABELS[path]}, ${c.wakePairs} pairs of ${c.wakeSessions} sessions per lane\n`,
      );
      const result = await runWakePairs(path, lanes, servers, {
        pairs: c.wakePairs,
        sessions: c.wakeSessions,
        idleS: c.idleS,
        signal: ctx.signal,
      });
      results.set(path, result);
      await saveResult(ctx.resultsDir, `wake-${path}`, result);
      for (const p of result.pairs) {
        const line = p.lanes
          .map((l) => `${l.id} ${ms(latencyOf(l)?.p50)} ms (${l.evicted}/${l.counted})`)
          .join(", ");
        process.stderr.write(`    pair ${p.index + 1}: ${line}\n`);
      }
    },
    render(ctx, failures) {
      const c = ctx.config;
      const out: string[] = [
        "## First call after hibernation, interleaved pairs",
        "",
        `Per path, ${c.wakePairs} pairs. In each pair every lane opens ${c.wakeSessions} sessions on servers that are all up, makes one \`echo\` call on each (so its object exists) and reads its wake count; ` +
          `then everything stays silent for ${c.idleS} s (local workerd evicts an idle object after 10 s; WebSockets stay open); then one timed call per session, one in flight, rotating through the lanes; then, untimed, every wake count again. ` +
          "Wake counts: Dormouse's `session_info.wakes`; the floors count their constructor runs and answer the message `wakes`. A count that rose proves the timed call woke an evicted object; " +
          "**p50 verified** is over those calls only. McpAgent cannot count its wakes: its rows are over all calls, unverified.",
        "",
      ];
      const targets: TargetRow[] = [];
      for (const path of c.paths) {
        out.push(`### ${PATH_LABELS[path]}`, "");
        const failure = failures.get(path);
        if (failure) out.push(`**Failed on this path:** ${failure}`, "");
        const r = results.get(path);
        if (!r || r.pairs.length === 0) {
          out.push("Not measured in this run.", "");
          continue;
        }
        laneTable(out, r);
        ratioTable(out, r);
        const wsRatios = pairRatios(r, "dormouse-ws", "bare");
        targets.push({
          target: `first call after hibernation p50 ≤ 1.5× the bare object's verified wake, in each of ${c.wakePairs} interleaved pairs (${PATH_LABELS[path]})`,
          measured: wsRatios.length ? wsRatios.map((q) => times(q)).join(", ") : "-",
          met: wsRatios.length ? wsRatios.every((q) => q !== null && q <= 1.5) : null,
        });
      }
      return { markdown: out.join("\n").trimEnd(), charts: [], targets };
    },
  };
}

/** Verified latency when the server counts wakes, else all calls. */
function latencyOf(l: WakeLane) {
  return l.verified ?? l.all;
}

function laneTable(out: string[], r: WakeResult): void {
  out.push(
    "| pair | server | woken | evicted / counted | p50 verified ms | p90 | p99 | max | p50 all ms | errors |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const p of r.pairs) {
    for (const l of p.lanes) {
      const v = l.verified;
      out.push(
        `| ${p.index + 1} | ${LANE_SPECS[l.id].label} | ${l.all?.count ?? 0} of ${l.ready} | ${l.counted > 0 ? `${l.evicted} / ${l.counted}` : "not countable"} | ${ms(v?.p50)} | ${ms(v?.p90)} | ${ms(v?.p99)} | ${ms(v?.max)} | ${ms(l.all?.p50)} | ${errorsOf(l.errors)} |`,
      );
    }
  }
  out.push("");
}

function ratioTable(out: string[], r: WakeResult): void {
  out.push(
    "| ratio of p50 (verified where counted) | " +
      r.pairs.map((p) => `pair ${p.index + 1}`).join(" | ") +
      " | median of pairs |",
  );
  out.push(`|---|${r.pairs.map(() => "---|").join("")}---|`);
  for (const { of, floor } of PAIRS) {
    const ratios = pairRatios(r, of, floor);
    if (ratios.every((q) => q === null)) continue;
    const d = distribution(ratios.filter((q): q is number => q !== null));
    out.push(
      `| ${LANE_SPECS[of].label} ÷ ${LANE_SPECS[floor].label} | ${ratios.map((q) => times(q)).join(" | ")} | ${times(d?.median)} |`,
    );
  }
  out.push("");
}

function pairRatios(r: WakeResult, of: LaneId, floor: LaneId): (number | null)[] {
  return r.pairs.map((p) => {
    const a = p.lanes.find((l) => l.id === of);
    const b = p.lanes.find((l) => l.id === floor);
    if (!a || !b) return null;
    return quotient(latencyOf(a)?.p50, latencyOf(b)?.p50);
  });
}
