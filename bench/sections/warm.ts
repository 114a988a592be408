/**
 * The warm-call sections: `ws` (WebSocket `echo`: Dormouse, the bare object,
 * Node `ws`) and `http` (Streamable HTTP `tools/call echo`: Dormouse's session
 * era against the Worker → object floor, Dormouse's stateless 2026-07-28 path
 * against the Worker-only floor, and the McpAgent peer), each at several
 * session counts, interleaved on each path. One factory, two instances.
 */
import { type ComparisonResult, runEchoComparison } from "../comparison";
import type { BenchConfig } from "../config";
import { errorsOf, rate, spread, us } from "../format";
import { type LaneSummary, summarizeLane } from "../interleave";
import { LANE_SPECS, type LaneId } from "../lanes";
import { saveResult } from "../results";
import { type BenchPath, PATH_LABELS, type ServerKind } from "../servers";
import { METRICS, pairedRatio } from "../stats";
import { cdfChart } from "../svg";
import type { Chart, RenderContext, Section, SectionContext, TargetRow } from "./section";
import { type PairSpec, pairTable, serverTable } from "./tables";

interface WarmSpec {
  id: string;
  summary: string;
  title: string;
  /** Markdown paragraphs after the title: what is measured, how. */
  intro: string[];
  lanes: (config: BenchConfig) => LaneId[];
  levels: (config: BenchConfig) => number[];
  pairs: PairSpec[];
  /** Targets of issue 16 for this section, from one path's comparisons. */
  targets(path: BenchPath, results: ReadonlyMap<number, ComparisonResult>): TargetRow[];
}

export function warmSection(spec: WarmSpec): Section {
  const results = new Map<BenchPath, Map<number, ComparisonResult>>();
  return {
    id: spec.id,
    summary: spec.summary,
    byDefault: () => true,
    servers: (c): ServerKind[] => [...new Set(spec.lanes(c).map((id) => LANE_SPECS[id].server))],
    async measure(ctx: SectionContext, path: BenchPath | null) {
      if (path === null) return;
      const c = ctx.config;
      const lanes = spec.lanes(c);
      const servers = await ctx.pool.use(path, [
        ...new Set(lanes.map((id) => LANE_SPECS[id].server)),
      ]);
      const byLevel = new Map<number, ComparisonResult>();
      results.set(path, byLevel);
      for (const level of spec.levels(c)) {
        if (ctx.signal.aborted) return;
        process.stderr.write(`  ${spec.id}: ${PATH_LABELS[path]}, ${level} session(s) per lane\n`);
        const result = await runEchoComparison(path, lanes, servers, level, {
          rounds: c.rounds,
          blockCalls: c.block,
          warmupCalls: c.warmup,
          drainMs: c.drainMs,
          calibrateMs: c.calibrateMs,
          payloadBytes: c.payloadBytes,
          signal: ctx.signal,
        });
        byLevel.set(level, result);
        await saveResult(ctx.resultsDir, `${spec.id}-${path}-${level}`, result);
        process.stderr.write(describe(result, spec.pairs));
      }
    },
    render(ctx: RenderContext, failures) {
      const out: string[] = [`## ${spec.title}`, "", ...spec.intro.flatMap((p) => [p, ""])];
      const charts: Chart[] = [];
      const targets: TargetRow[] = [];
      for (const path of ctx.config.paths) {
        out.push(`### ${PATH_LABELS[path]}`, "");
        const failure = failures.get(path);
        if (failure) out.push(`**Failed on this path:** ${failure}`, "");
        const byLevel = results.get(path);
        if (!byLevel || byLevel.size === 0) {
          out.push("Not measured in this run.", "");
          continue;
        }
        serverTable(out, byLevel, "calls");
        pairTable(out, byLevel, spec.pairs, "call");
        targets.push(...spec.targets(path, byLevel));
        const first = [...byLevel.values()][0];
        if (first) {
          const name = `${spec.id}-${path}`;
          charts.push({ name, svg: latencyChart(first, `${spec.title}: ${PATH_LABELS[path]}`) });
          out.push(
            `![Latency distribution per server, ${first.concurrency} session(s), ${PATH_LABELS[path]}](${ctx.chartLink(name)})`,
            "",
          );
        }
      }
      return { markdown: out.join("\n").trimEnd(), charts, targets };
    },
  };
}

function latencyChart(r: ComparisonResult, title: string): string {
  return cdfChart({
    title: `${title.replaceAll("`", "")}, ${r.concurrency} session(s) per lane`,
    xLabel: "round-trip latency, ms (log scale)",
    series: r.lanes.map((lane) => ({
      label: LANE_SPECS[lane.name as LaneId].label,
      samples: lane.latency.samples,
    })),
  });
}

/** The terminal lines of one comparison. */
function describe(r: ComparisonResult, pairs: readonly PairSpec[]): string {
  const lines = r.lanes.map((lane) => {
    const s = summarizeLane(lane);
    return `    ${lane.name}: p50 ${s.latencyMs?.p50 ?? "-"} ms, ${rate(s.throughputPerS)}/s, CPU ${us(s.cpuUsPerCall?.total)} µs/call, errors ${errorsOf(s.errors)}`;
  });
  for (const p of pairs) {
    const a = r.lanes.find((l) => l.name === p.of);
    const b = r.lanes.find((l) => l.name === p.floor);
    if (a && b)
      lines.push(`    ${p.of} ÷ ${p.floor}: p50 ${spread(pairedRatio(a, b, METRICS.p50))}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Summary of lane `id` in a comparison, if it ran. */
export function laneSummary(r: ComparisonResult | undefined, id: LaneId): LaneSummary | null {
  const lane = r?.lanes.find((l) => l.name === id);
  return lane ? summarizeLane(lane) : null;
}

/** The per-round distribution of `of` ÷ `floor` for a metric, if both ran. */
export function roundRatio(
  r: ComparisonResult | undefined,
  of: LaneId,
  floor: LaneId,
  metric: (typeof METRICS)[keyof typeof METRICS],
) {
  const a = r?.lanes.find((l) => l.name === of);
  const b = r?.lanes.find((l) => l.name === floor);
  return a && b ? pairedRatio(a, b, metric) : null;
}

/** `of`'s CPU per call minus `floor`'s, over all rounds, µs. */
export function cpuAdded(
  r: ComparisonResult | undefined,
  of: LaneId,
  floor: LaneId,
): number | null {
  const a = laneSummary(r, of)?.cpuUsPerCall?.total;
  const b = laneSummary(r, floor)?.cpuUsPerCall?.total;
  return a === undefined || b === undefined ? null : a - b;
}
