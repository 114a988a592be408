/**
 * `ws`: warm WebSocket `echo` round trips, Dormouse against the bare
 * hibernating object (its floor on the same path) and a plain Node `ws`
 * server, interleaved, at each `--warm-levels` session count.
 */
import type { ComparisonResult } from "../comparison";
import { spread, us } from "../format";
import type { LaneId } from "../lanes";
import { type BenchPath, PATH_LABELS } from "../servers";
import { METRICS } from "../stats";
import type { Section, TargetRow } from "./section";
import { cpuAdded, roundRatio, warmSection } from "./warm";

export const wsSection = (): Section =>
  warmSection({
    id: "ws",
    summary:
      "warm WebSocket echo: Dormouse, the JSON-RPC floor, the bare object, Node ws (per path, per level)",
    title: "Warm WebSocket `echo`, interleaved",
    intro: [
      "Back-to-back calls on open sessions, one call in flight per session. Dormouse answers `tools/call echo` over `/ws` (parse, validate, dispatch, reply); " +
        "the **bare object** (`bench/bare-object/`, `GET /ws`) is a hibernating Durable Object that sends each frame back unread, the least the runtime allows on the same path; " +
        "the **JSON-RPC floor** (`GET /ws-jsonrpc`, same file) is a hibernating object that parses each frame as JSON and answers it with a JSON reply (the `tools/call` text in a content block), no validation and no state: the least any MCP server does per message, so **JSON-RPC floor ÷ bare object** is the part of a target that reading and answering the message alone takes; " +
        "**Node ws** is a plain `ws` echo server in one Node process (no objects; the same for both paths).",
      "All servers are up at once. Each lane makes a block of calls on each of its sessions (50 per session at 1 session, fewer with more sessions, see `bench/comparison.ts`), then the next lane, rotating the order every round. " +
        "p50 / p99 and throughput are over all of a lane's blocks; a **per round** ratio pairs two lanes' blocks of the same round, and its median, quartiles and range over the rounds show how much one such pair can be trusted on this machine. " +
        "**Server CPU** is the time on CPU of the server's whole process group (`/proc/<pid>/task/*/schedstat`; under `wrangler dev` its Node process, the proxy workerd and the runtime workerd) from just before a block to 20 ms after it, less what the server burns idle, divided by the block's calls.",
    ],
    lanes: (c) => [
      "dormouse-ws",
      "json-floor",
      "bare",
      ...(c.skip.has("node") ? [] : ["nodews" as LaneId]),
    ],
    levels: (c) => c.warmLevels,
    pairs: [
      { of: "dormouse-ws", floor: "bare" },
      { of: "dormouse-ws", floor: "json-floor" },
      { of: "json-floor", floor: "bare" },
      { of: "bare", floor: "nodews" },
    ],
    targets: wsTargets,
  });

function wsTargets(path: BenchPath, byLevel: ReadonlyMap<number, ComparisonResult>): TargetRow[] {
  const where = PATH_LABELS[path];
  const rows: TargetRow[] = [];
  const one = byLevel.get(1);
  if (one) {
    const p50 = roundRatio(one, "dormouse-ws", "bare", METRICS.p50);
    rows.push({
      target: `warm WebSocket echo, 1 session, p50 ≤ 1.15× bare object (${where})`,
      measured: `${spread(p50)}${floorAlone(one, METRICS.p50)}`,
      met: p50 ? p50.median <= 1.15 : null,
    });
    const added = cpuAdded(one, "dormouse-ws", "bare");
    rows.push(ownCpuRow(1, added, where));
  }
  const ten = byLevel.get(10);
  if (ten) {
    // One call in flight per session is the strictest case; with ten, a turn of the runtime serves several.
    rows.push(ownCpuRow(10, cpuAdded(ten, "dormouse-ws", "bare"), where));
    const tput = roundRatio(ten, "dormouse-ws", "bare", METRICS.throughput);
    rows.push({
      target: `warm WebSocket echo, 10 sessions, throughput ≥ 0.8× bare object (${where})`,
      measured: `${spread(tput)}${floorAlone(ten, METRICS.throughput)}`,
      met: tput ? tput.median >= 0.8 : null,
    });
  }
  return rows;
}

/** The same ratio for the JSON-RPC floor: what parsing and answering alone take of the target. */
function floorAlone(r: ComparisonResult, metric: (typeof METRICS)[keyof typeof METRICS]): string {
  const ratio = roundRatio(r, "json-floor", "bare", metric);
  return ratio ? `; JSON-RPC floor ÷ bare object ${ratio.median.toFixed(2)}×` : "";
}

function ownCpuRow(sessions: number, added: number | null, where: string): TargetRow {
  return {
    target: `Dormouse's own server CPU per WebSocket message (Dormouse − bare object), ${sessions} session${sessions === 1 ? "" : "s"}, ≤ 40 µs (${where})`,
    measured: added === null ? "-" : `${us(added)} µs`,
    met: added === null ? null : added <= 40,
  };
}
