/**
 * `setup`: new sessions, interleaved. Dormouse's WebSocket setup (upgrade,
 * `initialize`, `notifications/initialized`) against the fair setup floor
 * (the upgrade that creates the durable record a session needs, a table, a
 * row and an alarm, plus one round trip) and the bare upgrade; Dormouse's
 * Streamable HTTP setup against McpAgent's. Each call of a lane's block opens
 * one session (`--setup-concurrency` in flight); the block's sessions are
 * closed after it, untimed.
 */
import { type ComparisonResult, runSetupComparison } from "../comparison";
import { spread } from "../format";
import { LANE_SPECS, type LaneId } from "../lanes";
import { saveResult } from "../results";
import { type BenchPath, PATH_LABELS, type ServerKind } from "../servers";
import { METRICS } from "../stats";
import type { Section, TargetRow } from "./section";
import { type PairSpec, pairTable, serverTable } from "./tables";
import { roundRatio } from "./warm";

const PAIRS: PairSpec[] = [
  { of: "dormouse-ws", floor: "fair-setup" },
  { of: "dormouse-ws", floor: "bare" },
  { of: "fair-setup", floor: "bare" },
  { of: "mcpagent", floor: "dormouse-http" },
];

function lanesOf(skip: ReadonlySet<string>): LaneId[] {
  const lanes: LaneId[] = ["dormouse-ws", "fair-setup", "bare", "dormouse-http"];
  if (!skip.has("peer")) lanes.push("mcpagent");
  return lanes;
}

export function setupSection(): Section {
  const results = new Map<BenchPath, ComparisonResult>();
  return {
    id: "setup",
    summary:
      "session setup: Dormouse against the fair setup floor and the bare upgrade; HTTP setup against McpAgent",
    byDefault: () => true,
    servers: (c): ServerKind[] => [...new Set(lanesOf(c.skip).map((id) => LANE_SPECS[id].server))],
    async measure(ctx, path) {
      if (path === null) return;
      const c = ctx.config;
      const lanes = lanesOf(c.skip);
      const servers = await ctx.pool.use(path, [
        ...new Set(lanes.map((id) => LANE_SPECS[id].server)),
      ]);
      process.stderr.write(`  setup: ${PATH_LABELS[path]}\n`);
      const result = await runSetupComparison(path, lanes, servers, c.setupConcurrency, {
        rounds: c.setupRounds,
        blockCalls: c.setupBlock,
        warmupCalls: 1,
        drainMs: c.drainMs,
        calibrateMs: c.calibrateMs,
        payloadBytes: c.payloadBytes,
        signal: ctx.signal,
      });
      results.set(path, result);
      await saveResult(ctx.resultsDir, `setup-${path}`, result);
      const ratio = roundRatio(result, "dormouse-ws", "fair-setup", METRICS.throughput);
      process.stderr.write(`    dormouse-ws ÷ fair-setup, sessions/s: ${spread(ratio)}\n`);
    },
    render(ctx, failures) {
      const c = ctx.config;
      const out: string[] = [
        "## Session setup, interleaved",
        "",
        `New sessions, ${c.setupConcurrency} handshakes in flight per lane, blocks of ${c.setupConcurrency * c.setupBlock} sessions rotating through the lanes, ${c.setupRounds} rounds; each block's sessions are closed after it, untimed. ` +
          "A **setup** is what a client does before its first call: **Dormouse** over WebSocket, the upgrade, `initialize` and `notifications/initialized`; over Streamable HTTP (and **McpAgent**), the `initialize` POST and the `notifications/initialized` POST. " +
          "The **bare object** is the WebSocket upgrade alone. The **fair setup floor** (`GET /ws-durable` in `bench/bare-object/`) is the upgrade to an object that first creates the durable record a session needs (a SQLite table, one row, an alarm for its expiry), then one round trip on the socket: what Dormouse's setup must at least do. " +
          "Every new object creates its SQLite file. Rates are sessions per second of block wall time; CPU is per session set up.",
        "",
      ];
      const targets: TargetRow[] = [];
      for (const path of c.paths) {
        out.push(`### ${PATH_LABELS[path]}`, "");
        const failure = failures.get(path);
        if (failure) out.push(`**Failed on this path:** ${failure}`, "");
        const r = results.get(path);
        if (!r) {
          out.push("Not measured in this run.", "");
          continue;
        }
        const byLevel = new Map([[r.concurrency, r]]);
        serverTable(out, byLevel, "sessions");
        pairTable(out, byLevel, PAIRS, "session");
        const rate = roundRatio(r, "dormouse-ws", "fair-setup", METRICS.throughput);
        targets.push({
          target: `session setup rate ≥ 0.95× the fair setup floor (${PATH_LABELS[path]})`,
          measured: spread(rate),
          met: rate ? rate.median >= 0.95 : null,
        });
      }
      return { markdown: out.join("\n").trimEnd(), charts: [], targets };
    },
  };
}
