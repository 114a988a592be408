/**
 * The resume section of BENCHMARKS.md (sections/resume.ts), from its heading
 * on: the runner adds the markers and, on a partial run, the stamp saying what
 * wrote it and when.
 */
import type { LatencySummary } from "../tools/load/latency";
import type { ReattachRow, ResumeResult, WarmRow } from "./resume";

export const RESUME_HEADING = "## Resumable WebSocket: the replay store's cost";

/** `failure`: why there is no result, when there is none. */
export function renderResumeSection(result: ResumeResult | null, failure?: string): string {
  if (!result)
    return `${RESUME_HEADING}\n\nNot measured in this run${failure ? `: ${failure}` : "."}`;
  const { options } = result;
  const lines = [RESUME_HEADING, ""];
  if (result.interrupted)
    lines.push("**This run was interrupted (Ctrl-C): the rows hold fewer calls and samples.**", "");
  lines.push(
    "> Read the on/off pairs (same run, interleaved) rather than the absolute figures: on a busy",
    "> machine they move by tens of percent between runs.",
    "",
    "Two `wrangler dev` gateways up at once, identical but for `REPLAY` (on: every message a",
    "session sends on its sockets is numbered and kept in SQLite; off: neither), per-session rate",
    "limit off. Warm rows: `tools/call echo` (which writes nothing, so with replay off a call",
    "commits nothing) at each level, and `counter` (which writes its state anyway) at 1 session,",
    `in blocks of ${options.blockCalls} calls per session,`,
    `${options.blocks} blocks per gateway after ${result.warmupBlocks} warm-up blocks, alternating between the`,
    "gateways (ABBA); CPU is what the gateway's processes (both workerd) spent, from",
    "`/proc/<pid>/task/*/schedstat`, divided by the calls.",
    "",
    "| tool | sessions | REPLAY | calls | p50 ms | p99 ms | calls/s (median block) | calls/s (all) | gateway CPU ms/call |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ...result.warm.map(warmLine),
    "",
    ...costLines(result.warm),
    "",
    "Re-attach: a `sleep` call is left running, the socket dropped without a close frame, and its",
    "reply produced while nobody is attached; then a new socket with `received=<n>`. *open* is",
    "from `new WebSocket` to its open event (the 101), *first* to the first message, which with",
    "replay on is the replayed reply (the session sends the replay before the 101).",
    "",
    "| REPLAY | when | samples | open p50 ms | open p99 ms | first message p50 ms | first message p99 ms | replayed |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...result.reattach.map(reattachLine),
  );
  return lines.join("\n");
}

function warmLine(row: WarmRow): string {
  return `| \`${row.tool}\` | ${row.sessions} | ${row.replay} | ${row.calls} | ${ms(row.latency?.p50)} | ${ms(row.latency?.p99)} | ${Math.round(row.blockRateMedian)} | ${Math.round(row.rate)} | ${row.cpuMsPerCall.toFixed(3)} |`;
}

function costLines(rows: readonly WarmRow[]): string[] {
  const lines: string[] = [];
  for (const on of rows.filter((r) => r.replay === "on")) {
    const off = rows.find(
      (r) => r.replay === "off" && r.sessions === on.sessions && r.tool === on.tool,
    );
    if (!off) continue;
    lines.push(
      `- \`${on.tool}\`, ${on.sessions} session${on.sessions === 1 ? "" : "s"}: replay on costs ${delta(on.latency, off.latency, "p50")} at p50, ${delta(on.latency, off.latency, "p99")} at p99, ${percent(on.rate, off.rate)} throughput, ${percent(on.cpuMsPerCall, off.cpuMsPerCall)} gateway CPU per call.`,
    );
  }
  return lines;
}

function reattachLine(row: ReattachRow): string {
  const evicted =
    row.evicted === undefined ? "" : ` (${row.evicted}/${row.samples} woke the object)`;
  const first = row.replayed > 0;
  return `| ${row.replay} | ${row.label}${evicted} | ${row.samples} | ${ms(row.open?.p50)} | ${ms(row.open?.p99)} | ${first ? ms(row.first?.p50) : "-"} | ${first ? ms(row.first?.p99) : "-"} | ${row.replayed}/${row.samples} |`;
}

function delta(on: LatencySummary | null, off: LatencySummary | null, key: "p50" | "p99"): string {
  if (!on || !off) return "-";
  const d = on[key] - off[key];
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(3)} ms`;
}

function percent(on: number, off: number): string {
  if (!off) return "-";
  const d = ((on - off) / off) * 100;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(0)}%`;
}

function ms(v: number | undefined): string {
  return v === undefined ? "-" : v.toFixed(2);
}
