/**
 * `http`: warm Streamable HTTP `tools/call echo`, interleaved: Dormouse's
 * session era against the Worker → object floor, Dormouse's stateless
 * 2026-07-28 path against the Worker-only floor, and the McpAgent peer in the
 * same rounds, at each `--http-levels` session count.
 */
import type { ComparisonResult } from "../comparison";
import { spread, times } from "../format";
import type { LaneId } from "../lanes";
import { type BenchPath, PATH_LABELS } from "../servers";
import { METRICS } from "../stats";
import type { Section, TargetRow } from "./section";
import { laneSummary, roundRatio, warmSection } from "./warm";

export const httpSection = (): Section =>
  warmSection({
    id: "http",
    summary: "warm Streamable HTTP: Dormouse session era and stateless, their floors, McpAgent",
    title: "Warm Streamable HTTP `tools/call echo`, interleaved",
    intro: [
      "One POST per call, one call in flight per session, on every path in the same rounds (method as in the WebSocket section above). " +
        "**Dormouse, session era**: `initialize` once, then POSTs with `Mcp-Session-Id` to `/mcp`, answered by the session's Durable Object. " +
        "**Worker → object floor** (`POST /do/mcp` in `bench/bare-object/`): a Worker forwards the POST to the Durable Object named by its `Mcp-Session-Id`, which answers with the body it read: the least a session-era server on objects can do. " +
        "**Dormouse, stateless 2026-07-28**: no session; each POST carries the protocol version and client capabilities in `_meta` and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers, and the Worker answers without an object. " +
        "**Worker-only floor** (`POST /worker/mcp`): a Worker that reads the body and sends it back. " +
        "**Worker JSON-RPC floor** (`POST /worker-jsonrpc/mcp`): a Worker that parses the body and answers it in JSON (the `tools/call` text in a content block), no validation: what reading and answering a stateless request alone takes, so **Worker JSON-RPC floor ÷ Worker-only floor** is that part of the stateless targets. " +
        "**McpAgent** (`bench/mcp-agent-peer/`): the peer, a minimal `agents` McpAgent with the same `echo` tool, session era.",
      "Under `wrangler dev` every request also crosses wrangler's proxy workerd and a log round trip to its Node process; its CPU is in the `where` column, and `serve:direct` shows the same rows without it.",
    ],
    lanes: (c) => [
      "dormouse-http",
      "do-floor",
      "dormouse-stateless",
      "worker-floor",
      "worker-json-floor",
      ...(c.skip.has("peer") ? [] : ["mcpagent" as LaneId]),
    ],
    levels: (c) => c.httpLevels,
    pairs: [
      { of: "dormouse-http", floor: "do-floor" },
      { of: "dormouse-stateless", floor: "worker-floor" },
      { of: "dormouse-stateless", floor: "worker-json-floor" },
      { of: "worker-json-floor", floor: "worker-floor" },
      { of: "mcpagent", floor: "do-floor" },
      { of: "mcpagent", floor: "dormouse-http" },
    ],
    targets: httpTargets,
  });

function httpTargets(path: BenchPath, byLevel: ReadonlyMap<number, ComparisonResult>): TargetRow[] {
  const one = byLevel.get(1);
  if (!one) return [];
  const where = PATH_LABELS[path];
  const rows: TargetRow[] = [];
  const cpuRatio = (of: LaneId, floor: LaneId): number | null => {
    const a = laneSummary(one, of)?.cpuUsPerCall?.total;
    const b = laneSummary(one, floor)?.cpuUsPerCall?.total;
    return a === undefined || b === undefined || b <= 0 ? null : a / b;
  };
  const check = (
    of: LaneId,
    floor: LaneId,
    name: string,
    p50Max: number,
    cpuMax: number,
    parseFloor?: LaneId,
  ) => {
    const p50 = roundRatio(one, of, floor, METRICS.p50);
    // What the JSON-RPC floor alone takes of the same ratio, when it ran.
    const parseP50 = parseFloor ? roundRatio(one, parseFloor, floor, METRICS.p50) : null;
    const parseCpu = parseFloor ? cpuRatio(parseFloor, floor) : null;
    rows.push({
      target: `${name}, 1 session, p50 ≤ ${p50Max}× the ${floorName(floor)} (${where})`,
      measured: `${spread(p50)}${parseP50 ? `; JSON-RPC floor ÷ it ${parseP50.median.toFixed(2)}×` : ""}`,
      met: p50 ? p50.median <= p50Max : null,
    });
    const cpu = cpuRatio(of, floor);
    rows.push({
      target: `${name}, server CPU per call ≤ ${cpuMax}× the ${floorName(floor)} (${where})`,
      measured: `${times(cpu)}${parseCpu !== null ? `; JSON-RPC floor ÷ it ${times(parseCpu)}` : ""}`,
      met: cpu === null ? null : cpu <= cpuMax,
    });
  };
  check("dormouse-http", "do-floor", "session-era HTTP echo", 1.1, 1.2);
  check(
    "dormouse-stateless",
    "worker-floor",
    "stateless 2026-07-28 echo",
    1.1,
    1.25,
    "worker-json-floor",
  );
  return rows;
}

function floorName(id: LaneId): string {
  return id === "do-floor" ? "Worker → object floor" : "Worker-only floor";
}
