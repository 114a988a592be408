/**
 * The report of a load run: the JSON shape (`reportVersion` 1) and the table
 * printed at the end. Latencies are in milliseconds with percentiles named
 * p50, p90, p99 and max; rates per second; memory in KiB.
 */
import type { GatewayProcess, ResourceSample } from "./gateway-procs";
import type { LatencySummary } from "./latency";

export interface LoadReport {
  tool: "dormouse-load";
  reportVersion: 1;
  startedAt: string;
  finishedAt: string;
  elapsedS: number;
  interrupted: boolean;
  command: string;
  target: { url: string; endpoint: string; transport: string; protocol: string };
  client: { processes: number; node: string; openFileLimit: number };
  options: Record<string, unknown>;
  sessions: {
    requested: number;
    opened: number;
    failed: number;
    /** Open when idling ended (or after connecting, without --idle). */
    held: number;
    /** `held` when the run had no error; with --ramp-step, the last clean step. */
    heldWithZeroErrors: number | null;
  };
  connect: {
    sessions: number;
    elapsedS: number;
    ratePerS: number;
    latencyMs: LatencySummary | null;
  };
  warm: {
    calls: number;
    failed: number;
    concurrency: number;
    elapsedS: number;
    throughputPerS: number;
    latencyMs: LatencySummary | null;
  } | null;
  wake: {
    idleS: number;
    calls: number;
    failed: number;
    verified: number;
    evicted: number;
    latencyMs: LatencySummary | null;
  } | null;
  ceiling: { step: number; heldClean: number; failedAt: number | null } | null;
  errors: Record<string, number>;
  errorTotal: number;
  errorExamples: Record<string, string>;
  resources: {
    processes: GatewayProcess[];
    samples: ResourceSample[];
    /** (RSS after idling - RSS before connecting) / sessions held. */
    perSessionKiB: number | null;
    perSessionOpenFiles: number | null;
  } | null;
}

export function renderTable(report: LoadReport): string {
  const lines: string[] = [];
  const t = report.target;
  lines.push(
    `dormouse-load: ${t.endpoint} (${t.protocol} over ${t.transport}), ${report.sessions.requested} sessions, ` +
      `${report.client.processes} client process(es)${report.interrupted ? ", INTERRUPTED" : ""}`,
  );
  lines.push("");
  lines.push(row(["", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms"]));
  lines.push(
    latencyRow(
      "connect+init",
      report.connect.sessions,
      report.connect.ratePerS,
      report.connect.latencyMs,
    ),
  );
  if (report.warm)
    lines.push(
      latencyRow("warm call", report.warm.calls, report.warm.throughputPerS, report.warm.latencyMs),
    );
  if (report.wake)
    lines.push(
      latencyRow(
        `wake (${report.wake.idleS} s idle)`,
        report.wake.calls,
        null,
        report.wake.latencyMs,
      ),
    );
  lines.push("");
  const s = report.sessions;
  lines.push(
    `sessions: opened ${s.opened}, failed ${s.failed}, held ${s.held}, held with zero errors ${s.heldWithZeroErrors ?? "-"}`,
  );
  if (report.wake) {
    lines.push(
      `wake check: ${report.wake.verified > 0 ? `${report.wake.evicted} of ${report.wake.verified} woken sessions were evicted while idle (wake counts)` : "not verified"}`,
    );
  }
  if (report.ceiling) {
    lines.push(
      `ceiling search: step ${report.ceiling.step}, held clean ${report.ceiling.heldClean}, first error at ${report.ceiling.failedAt ?? "none"}`,
    );
  }
  const errors = Object.entries(report.errors);
  lines.push(
    `errors: ${errors.length === 0 ? "none" : errors.map(([k, n]) => `${k} ${n}`).join(", ")}`,
  );
  const r = report.resources;
  if (r && r.samples.length > 0) {
    lines.push("");
    lines.push(`gateway processes: ${r.processes.map((p) => `${p.pid} ${p.name}`).join(", ")}`);
    lines.push(row(["", "at s", "RSS MiB", "open files"]));
    for (const sample of r.samples) {
      lines.push(
        row([
          sample.label,
          String(sample.atS),
          (sample.rssKiB / 1024).toFixed(1),
          String(sample.openFiles),
        ]),
      );
    }
    if (r.perSessionKiB !== null) {
      lines.push(
        `per held session: ${r.perSessionKiB.toFixed(1)} KiB RSS, ${r.perSessionOpenFiles?.toFixed(2)} open files`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function latencyRow(
  name: string,
  count: number,
  perS: number | null,
  l: LatencySummary | null,
): string {
  const f = (n: number | undefined) => (n === undefined ? "-" : n.toFixed(2));
  return row([
    name,
    String(count),
    perS === null ? "-" : perS.toFixed(1),
    f(l?.p50),
    f(l?.p90),
    f(l?.p99),
    f(l?.max),
  ]);
}

function row(cells: string[]): string {
  const [first = "", ...rest] = cells;
  return first.padEnd(20) + rest.map((c) => c.padStart(11)).join("");
}
