/**
 * The coordinator of a load run: sequences the phases over the fleet of
 * client processes, samples the gateway's processes between them, and builds
 * the report. Phases: connect (or a ramp of connect steps), steady mix, mark,
 * idle, wake, close. Each ends early when the run's signal aborts (Ctrl-C or
 * --max-runtime); close always runs, bounded, so the report still comes out.
 */
import { mergeErrorCounts } from "./errors";
import { createFleet } from "./fleet";
import {
  discoverGateway,
  type GatewayProcess,
  isLoopback,
  namedProcesses,
  type ResourceSample,
  sampleProcesses,
} from "./gateway-procs";
import {
  emptyRecorderState,
  mergeRecorders,
  type RecorderState,
  round3,
  summarize,
} from "./latency";
import { type LoadOptions, openFileLimit } from "./options";
import { pause } from "./pacing";
import { ProgressBar } from "./progress";
import type { LoadReport } from "./report";
import type { PhaseResult, ShardCommand } from "./shard";

const IDLE_SAMPLE_INTERVAL_MS = 2_000;
const MAX_CALLS_PER_MIX = 50_000_000;

export async function runLoad(
  options: LoadOptions,
  signal: AbortSignal,
  command: string,
): Promise<LoadReport> {
  const started = new Date();
  const t0 = performance.now();
  const sinceStart = () => (performance.now() - t0) / 1000;
  const gateway = gatewayProcesses(options);
  const samples: ResourceSample[] = [];
  const sample = (label: string) => {
    if (gateway.length > 0) samples.push(sampleProcesses(label, sinceStart(), gateway));
  };
  const fleet = await createFleet(options.target, options.processes);
  const bar = new ProgressBar(() => fleet.progress(), !options.quiet);
  const run = (cmd: ShardCommand) => fleet.run(cmd, signal);
  let last: PhaseResult[] = [];
  const report = emptyReport(options, started, command, fleet.size);

  try {
    sample("before");
    // Connect (or ramp).
    const connectStart = performance.now();
    const connectLatency: RecorderState[] = [];
    /** Time spent connecting (a ramp's settle pauses excluded). */
    let connectingMs = 0;
    if (options.rampStep > 0) {
      report.ceiling = { step: options.rampStep, heldClean: 0, failedAt: null };
      let opened = 0;
      while (opened < options.sessions && !signal.aborted) {
        const step = Math.min(options.rampStep, options.sessions - opened);
        bar.phase(`ramp ${opened + step}`, step);
        const stepStart = performance.now();
        last = await run(connectCommand(options, step, true));
        connectingMs += performance.now() - stepStart;
        connectLatency.push(...latencies(last));
        report.sessions.opened += sum(last, (r) => r.ok);
        report.sessions.failed += sum(last, (r) => r.failed);
        opened += step;
        bar.phase("settle", 0, options.rampSettleS);
        await pause(options.rampSettleS * 1000, signal);
        last = await run({ op: "status" });
        sample(`ramp ${opened}`);
        if (errorTotal(last) > 0) {
          report.ceiling.failedAt = report.sessions.opened + report.sessions.failed;
          break;
        }
        report.ceiling.heldClean = sum(last, (r) => r.open);
      }
    } else {
      bar.phase("connect", options.sessions);
      last = await run(connectCommand(options, options.sessions, options.stopOnError));
      connectLatency.push(...latencies(last));
      report.sessions.opened = sum(last, (r) => r.ok);
      report.sessions.failed = sum(last, (r) => r.failed);
    }
    const connectS = (performance.now() - connectStart) / 1000;
    report.connect = {
      sessions: report.sessions.opened,
      elapsedS: round3(connectS),
      ratePerS: round3(
        report.sessions.opened / (options.rampStep > 0 ? connectingMs / 1000 : connectS),
      ),
      latencyMs: summarize(mergeRecorders(connectLatency)),
    };
    sample("connected");

    if (options.durationS > 0 && report.sessions.opened > 0 && !signal.aborted) {
      bar.phase("warm", 0, options.durationS);
      const mixStart = performance.now();
      last = await run({
        op: "mix",
        durationS: options.durationS,
        concurrency: options.concurrency,
        mix: options.mix,
        payloadBytes: options.payloadBytes,
        maxCalls: MAX_CALLS_PER_MIX,
      });
      const mixS = (performance.now() - mixStart) / 1000;
      const calls = sum(last, (r) => r.ok);
      report.warm = {
        calls,
        failed: sum(last, (r) => r.failed),
        concurrency: options.concurrency,
        elapsedS: round3(mixS),
        throughputPerS: round3(calls / mixS),
        latencyMs: summarize(mergeRecorders(latencies(last))),
      };
    }

    const wakeSample = Math.min(options.wakeSample, report.sessions.opened);
    if (options.idleS > 0 && !signal.aborted) {
      if (wakeSample > 0 && options.verifyWakes && options.target.protocol !== "stateless") {
        bar.phase("mark", wakeSample);
        last = await run({ op: "mark", sample: wakeSample, concurrency: options.concurrency });
      }
      bar.phase("idle", 0, options.idleS);
      const idleEnd = performance.now() + options.idleS * 1000;
      while (performance.now() < idleEnd && !signal.aborted) {
        await pause(Math.min(IDLE_SAMPLE_INTERVAL_MS, idleEnd - performance.now()), signal);
        if (performance.now() < idleEnd - 500) sample("idle");
      }
      last = await run({ op: "status" });
      sample("after idle");
    }
    report.sessions.held = sum(last, (r) => r.open);

    if (options.idleS > 0 && wakeSample > 0 && !signal.aborted) {
      bar.phase("wake", wakeSample);
      last = await run({
        op: "wake",
        sample: wakeSample,
        concurrency: options.wakeConcurrency,
        verify: options.verifyWakes,
        payloadBytes: options.payloadBytes,
      });
      report.wake = {
        idleS: options.idleS,
        calls: sum(last, (r) => r.ok),
        failed: sum(last, (r) => r.failed),
        verified: sum(last, (r) => r.verified ?? 0),
        evicted: sum(last, (r) => r.evicted ?? 0),
        latencyMs: summarize(mergeRecorders(latencies(last))),
      };
      sample("after wake");
    }
  } finally {
    bar.phase("close", report.sessions.opened);
    try {
      const closed = await fleet.run({ op: "close" }, new AbortController().signal);
      if (closed.length > 0) last = mergeErrorsInto(last, closed);
    } finally {
      bar.stop();
      await fleet.dispose();
    }
  }

  report.errors = mergeErrorCounts(last.map((r) => r.errors));
  report.errorTotal = Object.values(report.errors).reduce((a, b) => a + b, 0);
  report.errorExamples = Object.assign({}, ...last.map((r) => r.examples));
  report.sessions.heldWithZeroErrors = report.ceiling
    ? report.ceiling.heldClean
    : report.errorTotal === 0
      ? report.sessions.held
      : null;
  report.resources = resourcesOf(gateway, samples, report.sessions.held);
  report.interrupted = signal.aborted;
  report.finishedAt = new Date().toISOString();
  report.elapsedS = round3(sinceStart());
  return report;
}

function connectCommand(options: LoadOptions, count: number, stopOnError: boolean): ShardCommand {
  return {
    op: "connect",
    count,
    ratePerS: options.ratePerS,
    concurrency: options.concurrency,
    stopOnError,
  };
}

function gatewayProcesses(options: LoadOptions): GatewayProcess[] {
  if (options.pids === "none") return [];
  if (options.pids !== "auto") return namedProcesses(options.pids);
  if (!isLoopback(options.url)) return [];
  const url = new URL(options.target.endpoint);
  const port = Number(
    url.port || (url.protocol === "wss:" || url.protocol === "https:" ? 443 : 80),
  );
  return discoverGateway(port);
}

function resourcesOf(
  gateway: GatewayProcess[],
  samples: ResourceSample[],
  held: number,
): LoadReport["resources"] {
  if (gateway.length === 0) return null;
  const before = samples.find((s) => s.label === "before");
  const after =
    samples.find((s) => s.label === "after idle") ?? samples.find((s) => s.label === "connected");
  const per = (f: (s: ResourceSample) => number) =>
    before && after && held > 0 ? round3((f(after) - f(before)) / held) : null;
  return {
    processes: gateway,
    samples,
    perSessionKiB: per((s) => s.rssKiB),
    perSessionOpenFiles: per((s) => s.openFiles),
  };
}

/** Keeps the latest per-shard error counts (close may add some). */
function mergeErrorsInto(previous: PhaseResult[], closed: PhaseResult[]): PhaseResult[] {
  return closed.map((result, i) => ({
    ...(previous[i] ?? result),
    errors: result.errors,
    examples: result.examples,
  }));
}

function latencies(results: PhaseResult[]): RecorderState[] {
  return results.map((r) => r.latency ?? emptyRecorderState());
}

function sum(results: PhaseResult[], f: (r: PhaseResult) => number): number {
  return results.reduce((total, r) => total + f(r), 0);
}

function errorTotal(results: PhaseResult[]): number {
  return sum(results, (r) => Object.values(r.errors).reduce((a, b) => a + b, 0));
}

function emptyReport(
  options: LoadOptions,
  started: Date,
  command: string,
  processes: number,
): LoadReport {
  return {
    tool: "dormouse-load",
    reportVersion: 1,
    startedAt: started.toISOString(),
    finishedAt: "",
    elapsedS: 0,
    interrupted: false,
    command,
    target: {
      url: options.url,
      endpoint: options.target.endpoint,
      transport: options.target.transport,
      protocol: options.target.protocol,
    },
    client: { processes, node: process.version, openFileLimit: openFileLimit() },
    options: {
      sessions: options.sessions,
      ratePerS: options.ratePerS,
      concurrency: options.concurrency,
      durationS: options.durationS,
      mix: options.mixSpec,
      payloadBytes: options.payloadBytes,
      idleS: options.idleS,
      wakeSample: options.wakeSample,
      wakeConcurrency: options.wakeConcurrency,
      verifyWakes: options.verifyWakes,
      rampStep: options.rampStep,
      timeoutS: options.target.timeoutMs / 1000,
      token: options.target.token ? "(set)" : null,
    },
    sessions: {
      requested: options.sessions,
      opened: 0,
      failed: 0,
      held: 0,
      heldWithZeroErrors: null,
    },
    connect: { sessions: 0, elapsedS: 0, ratePerS: 0, latencyMs: null },
    warm: null,
    wake: null,
    ceiling: null,
    errors: {},
    errorTotal: 0,
    errorExamples: {},
    resources: null,
  };
}
