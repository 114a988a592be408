/**
 * The federation section of BENCHMARKS.md (its markers are the runner's:
 * `npm run bench -- --federation-only` replaces it in place and leaves every
 * other byte of the file as the last full run wrote it). The section carries
 * its own command, date, revision and machine, since it may be newer than the
 * rest of the file. Two parts: the warm rows, then the wake rows (first call
 * after hibernation, with their checks).
 */
import type { LatencySummary } from "../tools/load/latency";
import { gitRevision, machine, versions } from "./environment";
import type { FederationMode, FederationResult, FederationRow } from "./federation";
import { ROUND_CALLS, UPSTREAM_PREFIX } from "./federation";
import type { WakeGroup, WakeResult, WakeRow } from "./federation-wake";
import { utc } from "./format";

export interface FederationSectionInput {
  /** The whole command line that produced it, e.g. `npm run bench -- --federation-only`. */
  command: string;
  /** When the run started; the result's own start is shown when there is one. */
  startedAt: Date;
  result: FederationResult | null;
  /** Why there is no result, when there is none. */
  failure?: string;
}

const LABELS: Record<FederationMode, [string, string]> = {
  direct: ["direct", "Node client → upstream, Streamable HTTP"],
  "relay-ws": ["relayed, WebSocket", "client → Dormouse `/ws` → upstream"],
  "relay-http": ["relayed, Streamable HTTP", "client → Dormouse `/mcp` → upstream"],
  "echo-ws": ["gateway echo, WebSocket", "client → Dormouse `/ws`, built-in `echo`"],
  "echo-http": ["gateway echo, Streamable HTTP", "client → Dormouse `/mcp`, built-in `echo`"],
};

/** The echo row on the same transport as a relayed row. */
const ECHO_FOR: Partial<Record<FederationMode, FederationMode>> = {
  "relay-ws": "echo-ws",
  "relay-http": "echo-http",
};

export function renderFederationSection(input: FederationSectionInput): string {
  const out: string[] = ["## Federation: added latency of a relayed call", ""];
  const r = input.result;
  const startedAt = r?.startedAt ?? input.startedAt;
  const seconds = r ? Math.round((r.finishedAt.getTime() - startedAt.getTime()) / 1000) : 0;
  out.push(
    `Written by \`${input.command}\` on ${utc(startedAt)} UTC${r ? ` (${seconds} s, starting the upstream and Dormouse included)` : ""}; ` +
      `Dormouse ${gitRevision()}. Machine: ${machine()}. Versions: ${versions()}.`,
  );
  if (!r) {
    out.push("", `Not measured in this run${input.failure ? `: ${input.failure}` : "."}`);
  } else {
    if (r.interrupted)
      out.push("", "**This run was interrupted (Ctrl-C): the rows hold fewer calls than N.**");
    out.push(
      "",
      `Sequential warm \`tools/call\`s, one in flight at a time, each row on its own session: ${r.warmup} unmeasured warm-up calls, ` +
        `then N = ${r.calls} measured calls per row, taken in rounds of ${ROUND_CALLS} that rotate through the rows (each round starting one row later), ` +
        "so machine noise falls on every row alike. One upstream process: the stateful upstream of the federation tests " +
        "(`tests/upstreams/stateful-upstream.ts`, the MCP SDK's Streamable HTTP server transport, which answers each POST as an SSE stream), " +
        `configured as \`UPSTREAMS=[{"name":"state","url":"http://127.0.0.1:<port>/mcp","prefix":"${UPSTREAM_PREFIX}"}]\`; ` +
        "Dormouse under `wrangler dev` with `RATE_LIMIT_PER_SECOND=0` and `STATELESS_RATE_LIMIT_PER_SECOND=0`. Every reply is checked.",
      "",
    );
    table(out, r);
    explanation(out, r);
    out.push("", "### First call after hibernation, at scale", "");
    if (r.wake) wakeSection(out, r.wake, latencyOf(r, "relay-ws"), latencyOf(r, "echo-ws"));
    else out.push("Not measured in this run.");
  }
  return out.join("\n");
}

function table(out: string[], r: FederationResult): void {
  out.push(
    "| row | path | calls | p50 ms | p90 ms | p99 ms | mean ms | added p50 ms vs direct | × direct p50 | × direct p99 | upstream leg p50 ms (relayed − echo) | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const direct = latencyOf(r, "direct");
  for (const x of r.rows) {
    const l = x.latencyMs ?? undefined;
    const [name, path] = LABELS[x.mode];
    const echo = ECHO_FOR[x.mode];
    const cells = echo
      ? [
          signed(l?.p50, direct?.p50),
          ratio(l?.p50, direct?.p50),
          ratio(l?.p99, direct?.p99),
          signed(l?.p50, latencyOf(r, echo)?.p50),
        ]
      : [floorOr(x.mode), floorOr(x.mode), floorOr(x.mode), "-"];
    out.push(
      `| ${name} | ${path} | ${l?.count ?? 0} | ${ms(l?.p50)} | ${ms(l?.p90)} | ${ms(l?.p99)} | ${ms(l?.mean)} | ${cells.join(" | ")} | ${errorsOf(x)} |`,
    );
  }
}

function explanation(out: string[], r: FederationResult): void {
  out.push("", "What each row measures:", "");
  out.push(
    "- **direct**: a Node client (`fetch`, the load generator's Streamable HTTP session) calls `recall` on the upstream on its own upstream session " +
      "(`initialize` + `notifications/initialized`, then POSTs with `Mcp-Session-Id` and `MCP-Protocol-Version`): one HTTP round trip to the upstream per call. The floor.",
    `- **relayed, WebSocket**: one Dormouse WebSocket session calls \`${UPSTREAM_PREFIX}__recall\`; its session object forwards the call to the upstream over Streamable HTTP, ` +
      "on the one upstream session it opened for this gateway session and kept across calls, and relays the answer back on the socket.",
    "- **relayed, Streamable HTTP**: the same through one Dormouse Streamable HTTP session (session era, `Mcp-Session-Id`): the same client code as the direct row, pointed at the gateway.",
    "- **gateway echo**: Dormouse's built-in `echo` on the same two transports, no upstream involved: the gateway's own cost per call, measured alongside.",
  );
  out.push(
    "",
    "**What the added latency consists of.** Relayed − direct is everything the gateway puts between the client and the upstream: " +
      "the client's hop into Dormouse (locally through `wrangler dev`'s proxy workerd, then the Worker's router and the session object parsing, validating and dispatching the call: what the echo rows cost) " +
      "plus one extra HTTP round trip gateway → upstream made by the object's `fetch` (the upstream answers as an SSE stream), reading that reply and parsing its JSON-RPC result, and re-wrapping it for the caller. " +
      "The upstream's own work is in both. The last latency column, relayed − echo on the same transport, is that upstream leg as the gateway sees it; compare it with the direct row, the same leg from a Node client. " +
      "Everything here runs on one 2-core machine over loopback; in production both hops cross a network and their round trips dominate these numbers.",
  );
  const direct = latencyOf(r, "direct")?.p50;
  const reading = (["relay-ws", "relay-http"] as const).flatMap((mode) => {
    const relayed = latencyOf(r, mode)?.p50;
    const echo = latencyOf(r, ECHO_FOR[mode] ?? mode)?.p50;
    if (relayed === undefined || echo === undefined || direct === undefined) return [];
    const via = mode === "relay-ws" ? "over WebSocket" : "over Streamable HTTP";
    return [
      `${via} a relayed call took ${signed(relayed, direct)} ms at p50: the gateway's own cost (echo) ${ms(echo)} ms, plus its upstream leg ${ms(relayed - echo)} ms, less the direct call's ${ms(direct)} ms`,
    ];
  });
  if (reading.length > 0) out.push("", `In this run, ${reading.join("; ")}.`);
  const u = r.upstream;
  out.push(
    "",
    u
      ? `Upstream counters read at the end: ${u.toolCalls} \`tools/call\`s served (expected ${u.expectedToolCalls}: every successful call of the direct and relayed rows, warm-up included, plus the read itself), ` +
          `${u.sessions} live upstream sessions (expected ${u.expectedSessions}: the direct client's and one per relaying gateway session, kept across all its calls).`
      : "The upstream's counters could not be read at the end of this run.",
  );
}

const WAKE_LABELS: Record<WakeGroup, string> = {
  relayed: `relayed, WebSocket: \`${UPSTREAM_PREFIX}__recall\``,
  echo: "gateway echo, WebSocket: built-in `echo`",
};

function wakeSection(
  out: string[],
  w: WakeResult,
  warmRelayed: LatencySummary | undefined,
  warmEcho: LatencySummary | undefined,
): void {
  out.push(
    `${w.sessions} Dormouse WebSocket sessions that relay to the upstream and ${w.sessions} that use only built-ins, opened with bounded concurrency on the same Dormouse and upstream, after the rows above ` +
      `(\`--federation-sessions ${w.sessions} --federation-idle-seconds ${w.idleS}\`). ` +
      `Each relayed session called \`${UPSTREAM_PREFIX}__remember {value: "v<i>"}\` and \`${UPSTREAM_PREFIX}__recall\`, then recorded which upstream session it holds ` +
      `(the \`Mcp-Session-Id\` of the gateway's request, read back through the upstream's \`header\` tool, since the load generator's sessions return a reply's text and not its \`structuredContent\`) ` +
      "and its `session_info.wakes`; each built-in session called `echo` once and recorded its wakes. " +
      `Every socket then stayed open and silent for ${w.idleS} s (local workerd evicts an idle object after 10 s). ` +
      "Then one timed call per session, one in flight, alternating the groups: the first message each evicted object receives. " +
      "Afterwards, untimed, every session's wakes and every relayed session's upstream session were read again, " +
      "and the upstream's live sessions were read through the direct client before setup, after setup and after the wakes.",
    "",
    "| first call after hibernation | woken | evicted / verified | p50 ms | p90 ms | p99 ms | max ms | mean ms | added p50 ms (relayed − echo) | × echo p50 | × echo p99 | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  const relayed = w.rows.find((x) => x.group === "relayed");
  const echo = w.rows.find((x) => x.group === "echo");
  for (const x of w.rows) {
    const l = x.latencyMs ?? undefined;
    const e = echo?.latencyMs ?? undefined;
    const added =
      x.group === "relayed"
        ? [signed(l?.p50, e?.p50), ratio(l?.p50, e?.p50), ratio(l?.p99, e?.p99)]
        : ["baseline", "-", "-"];
    out.push(
      `| ${WAKE_LABELS[x.group]} | ${l?.count ?? 0} of ${x.ready} | ${x.evicted} / ${x.verified} | ${ms(l?.p50)} | ${ms(l?.p90)} | ${ms(l?.p99)} | ${ms(l?.max)} | ${ms(l?.mean)} | ${added.join(" | ")} | ${errorsOf(x)} |`,
    );
  }
  wakeChecks(out, w, relayed, echo);
  wakeReading(out, w, relayed, echo, warmRelayed, warmEcho);
}

function wakeChecks(
  out: string[],
  w: WakeResult,
  relayed: WakeRow | undefined,
  echo: WakeRow | undefined,
): void {
  const u = w.upstreamSessions;
  const grew = u.afterWakes !== null && u.afterSetup !== null ? u.afterWakes - u.afterSetup : null;
  const opened = u.afterSetup !== null && u.before !== null ? u.afterSetup - u.before : null;
  const live = [u.before, u.afterSetup, u.afterWakes].map((n) => n ?? "?").join(" → ");
  const evicted = (x: WakeRow | undefined) => (x ? `${x.evicted} of ${x.verified}` : "-");
  out.push(
    "",
    "| check | this run | expected |",
    "|---|---|---|",
    `| objects evicted while idle (wakes rose), relayed / echo | ${evicted(relayed)} / ${evicted(echo)} | all / all |`,
    `| upstream session reused after the wake (same \`Mcp-Session-Id\` as before) | ${w.upstreamReused} of ${relayed?.ready ?? 0} | all |`,
    `| upstream session changed after the wake | ${w.upstreamChanged} | 0 |`,
    `| upstream sessions re-created by the wakes (live after the wakes − after setup) | ${grew ?? "?"} | 0 |`,
    `| upstream live sessions: before setup → after setup → after the wakes | ${live} (+${opened ?? "?"}, then ${grew === null ? "?" : signedInt(grew)}) | +${relayed?.ready ?? 0}, then +0 |`,
    `| recalled value not the session's own \`v<i>\` | ${w.valueMismatches} | 0 |`,
  );
  const m = w.rssKiB;
  if (m) {
    const perSession = (m.idle - m.beforeSetup) / (2 * w.sessions);
    out.push(
      `| gateway RSS, both workerd processes: before setup → idle, hibernated → after the wakes | ${mib(m.beforeSetup)} → ${mib(m.idle)} → ${mib(m.afterWakes)} MiB (+${perSession.toFixed(0)} KiB per session opened) | - |`,
    );
  }
}

function wakeReading(
  out: string[],
  w: WakeResult,
  relayed: WakeRow | undefined,
  echo: WakeRow | undefined,
  warmRelayed: LatencySummary | undefined,
  warmEcho: LatencySummary | undefined,
): void {
  const p = w.phasesS;
  out.push(
    "",
    `Phases: setup ${p.setup} s, idle ${p.idle} s, timed calls ${p.timed} s, checks ${p.verify} s.`,
    "",
    "**What this shows.** An evicted session object wakes on its socket's next message, reads the upstream session it holds (id, protocol version, capabilities) back from its SQLite, " +
      "and continues that upstream session: no new `initialize` upstream (each would open a new upstream session and raise the live count), the same `Mcp-Session-Id`, and the value remembered before the eviction. " +
      "A woken built-in `echo` is the baseline: waking the object and answering. The extra cost of the first relayed call over it is the upstream leg, one request from the woken object to the upstream and its reply.",
  );
  const r = relayed?.latencyMs?.p50;
  const e = echo?.latencyMs?.p50;
  const leg = warmRelayed && warmEcho ? warmRelayed.p50 - warmEcho.p50 : undefined;
  if (r === undefined || e === undefined) return;
  out.push(
    "",
    `In this run the first relayed call after hibernation took ${ms(r)} ms at p50 against ${ms(e)} ms for a woken \`echo\`: ` +
      `the upstream leg added ${ms(r - e)} ms (${ratio(r, e)})` +
      (leg === undefined
        ? "."
        : `, where the warm rows above put it at ${ms(leg)} ms; the difference, ${signed(r - e, leg)} ms, is what the first upstream request of a freshly constructed object costs over a warm one (its upstream client rebuilt from the stored state; this run does not break it down further).`),
  );
}

function latencyOf(r: FederationResult, mode: FederationMode): LatencySummary | undefined {
  return r.rows.find((x) => x.mode === mode)?.latencyMs ?? undefined;
}

function floorOr(mode: FederationMode): string {
  return mode === "direct" ? "floor" : "-";
}

function ms(v: number | undefined): string {
  return v === undefined ? "-" : v.toFixed(2);
}

function signed(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return "-";
  const d = a - b;
  return `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(2)}`;
}

function signedInt(n: number): string {
  return n >= 0 ? `+${n}` : `−${Math.abs(n)}`;
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(0);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b <= 0 ? "-" : `${(a / b).toFixed(2)}×`;
}

function errorsOf(row: FederationRow | WakeRow): string {
  const entries = Object.entries(row.errors);
  return entries.length === 0 ? "0" : entries.map(([k, n]) => `${n} ${k}`).join(", ");
}

/** A few lines for the terminal: each row's p50 / p99, and the added latency of the relayed ones. */
export function describeFederation(r: FederationResult): string {
  const direct = r.rows.find((x) => x.mode === "direct")?.latencyMs;
  const lines = r.rows.map((x) => {
    const l = x.latencyMs;
    const added = x.mode.startsWith("relay")
      ? `, added p50 ${signed(l?.p50, direct?.p50)} ms (${ratio(l?.p50, direct?.p50)})`
      : "";
    return `  ${x.mode}: p50 ${ms(l?.p50)} / p99 ${ms(l?.p99)} ms over ${l?.count ?? 0} calls${added}, errors ${errorsOf(x)}`;
  });
  const u = r.upstream;
  if (u)
    lines.push(
      `  upstream: ${u.toolCalls} tools/call (expected ${u.expectedToolCalls}), ${u.sessions} sessions (expected ${u.expectedSessions})`,
    );
  const w = r.wake;
  if (w) {
    for (const x of w.rows) {
      const l = x.latencyMs;
      lines.push(
        `  wake ${x.group}: p50 ${ms(l?.p50)} / p99 ${ms(l?.p99)} / max ${ms(l?.max)} ms over ${l?.count ?? 0} of ${x.ready}, evicted ${x.evicted} of ${x.verified}, errors ${errorsOf(x)}`,
      );
    }
    const s = w.upstreamSessions;
    lines.push(
      `  wake upstream: ${w.upstreamReused} sessions reused, ${w.upstreamChanged} changed, live ${s.before} → ${s.afterSetup} → ${s.afterWakes}, ${w.valueMismatches} value mismatches`,
    );
  }
  return `${lines.join("\n")}\n`;
}
