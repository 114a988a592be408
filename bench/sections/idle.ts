/**
 * `idle`: what an idle session costs. Memory is not a timing and is not
 * interleaved: each run starts a fresh server (its own state directory) so
 * memory per session is measured from a clean baseline, and drives it with
 * the load generator as a child process (exactly `npm run load`,
 * bench/load-runner.ts), whose command lines the section lists. Runs go one
 * at a time.
 *
 * `idle`: per path, WebSocket sessions on Dormouse and the bare object, and
 * Streamable HTTP sessions on Dormouse, the Worker → object floor and
 * McpAgent, left silent past the 10 s eviction, then a sample woken one at a
 * time (each server alone, at scale: the interleaved wake rows are `wake`);
 * plus the Node `ws` server. The ceiling search is its own section (ceiling.ts).
 */
import { openFileLimit } from "../../tools/load/options";
import type { LoadReport } from "../../tools/load/report";
import type { BenchConfig } from "../config";
import { errorsOf, ms, rate, ratio } from "../format";
import type { LoadRun } from "../load-runner";
import { type BenchPath, PATH_LABELS, type ServerConfigs } from "../servers";
import { barChart } from "../svg";
import { type RunningTarget, startWsEcho } from "../targets";
import { onFreshServer, pathName, starter } from "./fresh";
import type { RenderContext, Section, TargetRow } from "./section";

/** What one idle run measures: which server, over what, against which floor. */
interface IdleRun {
  key: string;
  label: string;
  transport: "WebSocket" | "HTTP";
  path: BenchPath | "node";
  floorKey: string | null;
  start(configs: ServerConfigs): Promise<RunningTarget>;
  args(c: BenchConfig, url: string): string[];
  expectedS(c: BenchConfig): number;
}

const PROCESS_FILE_LIMIT = 20_000;

/**
 * Dormouse's RSS per hibernated WebSocket session over the bare object's
 * before issue 16's work: the first run of this harness, BENCHMARKS.md at git
 * 6bb1a4b (629.7 / 516.7 KiB under wrangler dev, 402.9 / 309.5 KiB direct).
 * "No regression" is measured against it. Runs of the same code differ by up
 * to about 10% in this ratio (the isolate's heap at the moment RSS is read).
 */
const RSS_RATIO_BEFORE: Record<BenchPath, number> = {
  wrangler: 629.7 / 516.7,
  direct: 402.9 / 309.5,
};

function wsArgs(protocol: "mcp" | "echo") {
  return (c: BenchConfig, url: string) => [
    "--url",
    `${url}/ws`,
    "--protocol",
    protocol,
    "--sessions",
    String(c.idleSessions),
    "--concurrency",
    String(c.connectConcurrency),
    "--idle",
    String(c.idleS),
    "--wake-sample",
    String(Math.min(c.wakeSample, c.idleSessions)),
  ];
}

function httpArgs(endpoint: string, protocol: "mcp" | "echo") {
  return (c: BenchConfig, url: string) => [
    "--url",
    `${url}${endpoint}`,
    "--transport",
    "http",
    "--protocol",
    protocol,
    "--sessions",
    String(c.httpSessions),
    "--concurrency",
    "10",
    "--idle",
    String(c.idleS),
    "--wake-sample",
    String(Math.min(50, c.httpSessions)),
  ];
}

function idleRuns(c: BenchConfig): IdleRun[] {
  const runs: IdleRun[] = [];
  const wsS = (cfg: BenchConfig) => cfg.idleSessions / 20 + cfg.idleS + 60;
  const httpS = (cfg: BenchConfig) => cfg.httpSessions / 5 + cfg.idleS + 60;
  for (const path of c.paths) {
    runs.push(
      {
        key: `idle:dormouse:${path}`,
        label: "Dormouse",
        transport: "WebSocket",
        path,
        floorKey: `idle:bare:${path}`,
        start: starter("dormouse", path),
        args: wsArgs("mcp"),
        expectedS: wsS,
      },
      {
        key: `idle:bare:${path}`,
        label: "bare object",
        transport: "WebSocket",
        path,
        floorKey: null,
        start: starter("floors", path),
        args: wsArgs("echo"),
        expectedS: wsS,
      },
      {
        key: `idle-http:dormouse:${path}`,
        label: "Dormouse",
        transport: "HTTP",
        path,
        floorKey: `idle-http:do-floor:${path}`,
        start: starter("dormouse", path),
        args: httpArgs("/mcp", "mcp"),
        expectedS: httpS,
      },
      {
        key: `idle-http:do-floor:${path}`,
        label: "Worker → object floor",
        transport: "HTTP",
        path,
        floorKey: null,
        start: starter("floors", path),
        args: httpArgs("/do/mcp", "echo"),
        expectedS: httpS,
      },
    );
    if (!c.skip.has("peer"))
      runs.push({
        key: `idle-http:mcpagent:${path}`,
        label: "McpAgent",
        transport: "HTTP",
        path,
        floorKey: `idle-http:do-floor:${path}`,
        start: starter("mcpagent", path),
        args: httpArgs("/mcp", "mcp"),
        expectedS: httpS,
      });
  }
  if (!c.skip.has("node"))
    runs.push({
      key: "idle:nodews:node",
      label: "Node ws",
      transport: "WebSocket",
      path: "node",
      floorKey: null,
      start: () => startWsEcho(),
      args: wsArgs("echo"),
      expectedS: wsS,
    });
  return runs;
}

export function idleSection(): Section {
  const runs = new Map<string, LoadRun>();
  const failed = new Map<string, string>();
  return {
    id: "idle",
    summary: "memory and open files per idle session, and the first call after idling at scale",
    byDefault: () => true,
    async measure(ctx) {
      for (const run of idleRuns(ctx.config)) {
        if (ctx.signal.aborted) return;
        process.stderr.write(`  idle: ${run.label}, ${run.transport}, ${pathName(run.path)}\n`);
        try {
          runs.set(
            run.key,
            await onFreshServer(
              ctx,
              () => run.start(ctx.configs),
              run.key,
              (url) => run.args(ctx.config, url),
              run.expectedS(ctx.config),
            ),
          );
        } catch (error) {
          failed.set(
            run.key,
            error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error),
          );
        }
      }
    },
    render(ctx, failures) {
      return renderIdle(ctx, runs, failed, failures.get(""));
    },
  };
}

function renderIdle(
  ctx: RenderContext,
  runs: ReadonlyMap<string, LoadRun>,
  failed: ReadonlyMap<string, string>,
  failure: string | undefined,
) {
  const c = ctx.config;
  const get = (key: string | null) => (key ? runs.get(key)?.report : undefined);
  const all = idleRuns(c);
  const out: string[] = [
    "## Idle sessions: memory, open files, and waking at scale",
    "",
    `Each row on a fresh server, one server at a time, driven by the load generator: ${c.idleSessions} WebSocket sessions (connect + initialize for Dormouse) or ${c.httpSessions} Streamable HTTP sessions (\`initialize\`; for the floor, one POST that creates its object), ` +
      `left silent for ${c.idleS} s so their objects hibernate, then ${c.wakeSample} (WebSocket) or ${Math.min(50, c.httpSessions)} (HTTP) woken one at a time. ` +
      "RSS per hibernated session = (RSS of the server's processes after idling − before connecting) ÷ sessions held; under `wrangler dev` that sums both workerd processes (proxy and runtime). An idle HTTP session holds no connection, only its object.",
    "",
  ];
  if (failure) out.push(`**Failed:** ${failure}`, "");
  for (const [key, why] of failed) out.push(`- **${key} failed:** ${why}`);
  if (failed.size > 0) out.push("");
  out.push(
    "| server | transport | path | sessions held, zero errors | errors | RSS per hibernated session | × floor | open files per session |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const run of all) {
    const r = get(run.key);
    if (!r) continue;
    const kib = r.resources?.perSessionKiB ?? null;
    const floorKib = get(run.floorKey)?.resources?.perSessionKiB ?? null;
    out.push(
      `| ${run.label} | ${run.transport} | ${pathName(run.path)} | ${held(r)} | ${errorsOf(r.errors)} | ${kib === null ? "-" : `${kib.toFixed(1)} KiB`} | ${run.floorKey ? ratio(kib, floorKib) : run.path === "node" ? "-" : "floor"} | ${r.resources?.perSessionOpenFiles?.toFixed(2) ?? "-"} |`,
    );
  }
  const chart = barChart({
    title: "RSS per hibernated session (KiB), each server alone",
    unit: "KiB",
    bars: all
      .filter((run) => get(run.key))
      .map((run) => ({
        label: `${run.label}, ${run.transport}, ${pathName(run.path)}`,
        value: get(run.key)?.resources?.perSessionKiB ?? null,
      })),
  });
  out.push("", `![RSS per hibernated session, each server](${ctx.chartLink("idle-memory")})`, "");
  wakeAtScale(out, all, get);
  openFiles(out, get);
  commands(out, runs);
  const targets: TargetRow[] = [];
  for (const path of c.paths) {
    const d = get(`idle:dormouse:${path}`)?.resources?.perSessionKiB;
    const b = get(`idle:bare:${path}`)?.resources?.perSessionKiB;
    const q = d !== undefined && d !== null && b ? d / b : null;
    const before = RSS_RATIO_BEFORE[path];
    targets.push({
      target: `RSS per hibernated WebSocket session ÷ the bare object, no regression: ≤ ${before.toFixed(2)}×, the ratio before issue 16's work (${PATH_LABELS[path]})`,
      measured: q === null ? "-" : `${q.toFixed(2)}×`,
      met: q === null ? null : Number(q.toFixed(2)) <= Number(before.toFixed(2)),
    });
  }
  return {
    markdown: out.join("\n").trimEnd(),
    charts: [{ name: "idle-memory", svg: chart }],
    targets,
  };
}

function wakeAtScale(
  out: string[],
  all: readonly IdleRun[],
  get: (key: string | null) => LoadReport | undefined,
): void {
  out.push(
    "First call after hibernation with every idle session of the row still open (each server alone, so noise is not shared: the interleaved pairs above are the comparison), and the setup rate while connecting (16 handshakes in flight for WebSocket, 10 for HTTP):",
    "",
    "| server | transport | path | woken | evicted / verified | wake p50 / p99 ms | × floor p50 | setup, sessions/s |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const run of all) {
    const r = get(run.key);
    if (!r) continue;
    const w = r.wake;
    const f = get(run.floorKey)?.wake?.latencyMs;
    out.push(
      `| ${run.label} | ${run.transport} | ${pathName(run.path)} | ${w?.calls ?? 0} | ${w && w.verified > 0 ? `${w.evicted} / ${w.verified}` : "not verifiable"} | ${ms(w?.latencyMs?.p50)} / ${ms(w?.latencyMs?.p99)} | ${run.floorKey ? ratio(w?.latencyMs?.p50, f?.p50) : "-"} | ${rate(r.connect.ratePerS)} |`,
    );
  }
  out.push("");
}

function openFiles(out: string[], get: (key: string | null) => LoadReport | undefined): void {
  const per = (path: BenchPath) => {
    const run = get(`idle:dormouse:${path}`);
    const files = run?.resources?.perSessionOpenFiles;
    // The limit is per process: the busiest process (under wrangler dev, the proxy) sets the ceiling.
    const busiest = busiestProcessFiles(run);
    if (files === undefined || files === null) return null;
    return path === "wrangler"
      ? `${fmt(files)} open files through \`wrangler dev\` (in the proxy workerd its socket and the connection onward, in the runtime the incoming connection and the object's files), ${fmt(busiest)} of them in the busiest process, so about ${estimate(busiest)} sessions fit`
      : `${fmt(files)} directly on workerd (\`serve:direct\`, one process), so about ${estimate(busiest)} fit`;
  };
  const costs = (["wrangler", "direct"] as const).map(per).filter((s): s is string => s !== null);
  if (costs.length === 0) return;
  out.push(
    "**What sets the ceiling.** Open files, not memory. The process limit is " +
      `${openFileLimit().toLocaleString("en")} (\`ulimit -n\`, hard limit ${PROCESS_FILE_LIMIT.toLocaleString("en")} on this machine; it cannot be raised here). ` +
      `A hibernated Dormouse WebSocket session costs ${costs.join("; ")}. ` +
      "Past the limit local workerd fails to accept and, more often than not, drops every socket. In production each object's sockets are Cloudflare's to hold and this limit does not apply.",
    "",
  );
}

function commands(out: string[], runs: ReadonlyMap<string, LoadRun>): void {
  if (runs.size === 0) return;
  out.push(
    "The load runs behind this section (`--url` pointed at the server started for it; each also had `--quiet --json <file>`):",
    "",
  );
  for (const [label, run] of runs) {
    const args = run.args.map((a) => a.replace(/^http:\/\/127\.0\.0\.1:\d+/, "<server>"));
    out.push(`- ${label}: \`npm run load -- ${args.join(" ")}\``);
  }
}

/** Open files per held session of the process that gained the most (after idling − before). */
function busiestProcessFiles(r: LoadReport | undefined): number | null {
  const samples = r?.resources?.samples ?? [];
  const before = samples.find((s) => s.label === "before");
  const after = samples.find((s) => s.label === "after idle");
  const held = r?.sessions.held ?? 0;
  if (!before || !after || held === 0) return null;
  let most = 0;
  for (const p of after.processes) {
    const start = before.processes.find((q) => q.pid === p.pid)?.openFiles ?? 0;
    most = Math.max(most, (p.openFiles - start) / held);
  }
  return most;
}

function held(r: LoadReport): string {
  const h = r.sessions.heldWithZeroErrors;
  return h === null ? `${r.sessions.held} (with errors)` : `${h} of ${r.sessions.requested}`;
}

function fmt(v: number | null | undefined): string {
  return v === undefined || v === null ? "(not measured)" : v.toFixed(1);
}

function estimate(filesPerSession: number | null | undefined): string {
  if (!filesPerSession || filesPerSession <= 0) return "(unknown)";
  return `${(Math.floor(PROCESS_FILE_LIMIT / filesPerSession / 100) * 100).toLocaleString("en")}`;
}
