/**
 * The sessions one client process holds, and the phases it runs on them on
 * command: connect, steady mix, mark (read each sampled session's wake count),
 * wake (first call after idling), close. The coordinator sequences phases and
 * merges the results of every shard; a shard only counts and times.
 *
 * Errors never stop a phase (unless the command says so): they are counted by
 * kind. A session the server drops is counted once, as `closed_<code>`, when
 * it happens, whatever phase is running (idle included).
 */

import { createSession } from "./create-session";
import { ErrorCounter } from "./errors";
import { LatencyRecorder, type RecorderState } from "./latency";
import { argumentsFor, checkReply, type MixEntry, payloadOf, pickTool } from "./mix";
import { forEachBounded, spread } from "./pacing";
import type { LoadSession } from "./session";
import type { Target } from "./target";

export type ShardCommand =
  | { op: "connect"; count: number; ratePerS: number; concurrency: number; stopOnError: boolean }
  | {
      op: "mix";
      durationS: number;
      concurrency: number;
      mix: MixEntry[];
      payloadBytes: number;
      maxCalls: number;
    }
  | { op: "mark"; sample: number; concurrency: number }
  | { op: "wake"; sample: number; concurrency: number; verify: boolean; payloadBytes: number }
  | { op: "status" }
  | { op: "close" };

export interface PhaseResult {
  latency: RecorderState | null;
  ok: number;
  failed: number;
  /** Sessions open when the phase ended. */
  open: number;
  /** Cumulative error counts of this shard (all phases so far). */
  errors: Record<string, number>;
  examples: Record<string, string>;
  /** wake: sessions whose wake count could be read before and after, and those that woke. */
  verified?: number;
  evicted?: number;
}

export interface ShardProgress {
  done: number;
  errors: number;
  open: number;
}

const CLOSE_CONCURRENCY = 256;
const WAKES_UNKNOWN = -1;

export class Shard {
  readonly sessions: LoadSession[] = [];
  readonly errors = new ErrorCounter();
  /** Progress of the running phase, read by the progress bar. */
  readonly progress: ShardProgress = { done: 0, errors: 0, open: 0 };
  #baselineWakes = new Map<number, number>();

  constructor(private readonly target: Target) {}

  async run(command: ShardCommand, signal: AbortSignal): Promise<PhaseResult> {
    this.progress.done = 0;
    switch (command.op) {
      case "connect":
        return this.#connect(command, signal);
      case "mix":
        return this.#mix(command, signal);
      case "mark":
        return this.#mark(command, signal);
      case "wake":
        return this.#wake(command, signal);
      case "status":
        return this.#result(null, 0, 0);
      case "close":
        return this.#close();
    }
  }

  openCount(): number {
    let open = 0;
    for (const session of this.sessions) if (session.isOpen) open++;
    return open;
  }

  #count(error: unknown): void {
    this.errors.add(error);
    this.progress.errors = this.errors.total;
  }

  async #connect(
    command: Extract<ShardCommand, { op: "connect" }>,
    signal: AbortSignal,
  ): Promise<PhaseResult> {
    const latency = new LatencyRecorder();
    let ok = 0;
    let failed = 0;
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    await forEachBounded(
      command.count,
      command.concurrency,
      both,
      async () => {
        const session = createSession(this.target, (error) => {
          this.#count(error);
          this.progress.open = Math.max(0, this.progress.open - 1);
        });
        const started = performance.now();
        try {
          await session.open();
          latency.record(performance.now() - started);
          this.sessions.push(session);
          ok++;
          this.progress.open++;
        } catch (error) {
          failed++;
          this.#count(error);
          await session.close();
          if (command.stopOnError) stop.abort();
        }
        this.progress.done++;
      },
      command.ratePerS,
    );
    return this.#result(latency.export(), ok, failed);
  }

  async #mix(
    command: Extract<ShardCommand, { op: "mix" }>,
    signal: AbortSignal,
  ): Promise<PhaseResult> {
    const latency = new LatencyRecorder();
    const live = this.sessions.filter((s) => s.isOpen);
    if (live.length === 0 || command.durationS <= 0 || command.concurrency <= 0) {
      return this.#result(null, 0, 0);
    }
    const payload = payloadOf(command.payloadBytes);
    const deadline = performance.now() + command.durationS * 1000;
    let calls = 0;
    let ok = 0;
    let failed = 0;
    const lane = async (index: number) => {
      const session = live[index % live.length] as LoadSession;
      while (!signal.aborted && performance.now() < deadline && calls < command.maxCalls) {
        const n = calls++;
        const tool = pickTool(command.mix, Math.random());
        const started = performance.now();
        try {
          const reply = await session.call(tool, argumentsFor(tool, payload, n));
          latency.record(performance.now() - started);
          checkReply(tool, payload, n, reply);
          ok++;
        } catch (error) {
          failed++;
          this.#count(error);
          if (!session.isOpen) return;
        }
        this.progress.done++;
      }
    };
    await Promise.all(Array.from({ length: command.concurrency }, (_, i) => lane(i)));
    return this.#result(latency.export(), ok, failed);
  }

  /** Reads the wake count of the sampled sessions, to tell later whether they were evicted. */
  async #mark(
    command: Extract<ShardCommand, { op: "mark" }>,
    signal: AbortSignal,
  ): Promise<PhaseResult> {
    this.#baselineWakes.clear();
    const sample = spread(command.sample, this.sessions.length);
    let ok = 0;
    await forEachBounded(sample.length, command.concurrency, signal, async (k) => {
      const index = sample[k] as number;
      const wakes = await this.#wakesOf(index);
      this.#baselineWakes.set(index, wakes);
      if (wakes !== WAKES_UNKNOWN) ok++;
      this.progress.done++;
    });
    return this.#result(null, ok, 0);
  }

  async #wake(
    command: Extract<ShardCommand, { op: "wake" }>,
    signal: AbortSignal,
  ): Promise<PhaseResult> {
    const latency = new LatencyRecorder();
    const payload = payloadOf(command.payloadBytes);
    const sample = spread(command.sample, this.sessions.length);
    let ok = 0;
    let failed = 0;
    let verified = 0;
    let evicted = 0;
    await forEachBounded(sample.length, command.concurrency, signal, async (k) => {
      const index = sample[k] as number;
      const session = this.sessions[index] as LoadSession;
      const started = performance.now();
      try {
        const reply = await session.call("echo", argumentsFor("echo", payload, 0));
        latency.record(performance.now() - started);
        checkReply("echo", payload, 0, reply);
        ok++;
      } catch (error) {
        failed++;
        this.#count(error);
        this.progress.done++;
        return;
      }
      const before = this.#baselineWakes.get(index) ?? WAKES_UNKNOWN;
      if (command.verify && before !== WAKES_UNKNOWN) {
        const after = await this.#wakesOf(index);
        if (after !== WAKES_UNKNOWN) {
          verified++;
          if (after > before) evicted++;
        }
      }
      this.progress.done++;
    });
    return { ...this.#result(latency.export(), ok, failed), verified, evicted };
  }

  /** The session's wake count (LoadSession.wakes), or WAKES_UNKNOWN when the server cannot say. */
  async #wakesOf(index: number): Promise<number> {
    const session = this.sessions[index];
    if (!session?.isOpen) return WAKES_UNKNOWN;
    try {
      return (await session.wakes()) ?? WAKES_UNKNOWN;
    } catch (error) {
      this.#count(error);
      return WAKES_UNKNOWN;
    }
  }

  async #close(): Promise<PhaseResult> {
    const open = this.openCount();
    const never = new AbortController().signal;
    await forEachBounded(this.sessions.length, CLOSE_CONCURRENCY, never, async (i) => {
      await this.sessions[i]?.close();
      this.progress.done++;
    });
    this.progress.open = 0;
    return { ...this.#result(null, open, 0), open: 0 };
  }

  #result(latency: RecorderState | null, ok: number, failed: number): PhaseResult {
    const open = this.openCount();
    this.progress.open = open;
    return {
      latency,
      ok,
      failed,
      open,
      errors: this.errors.toJSON(),
      examples: Object.fromEntries(this.errors.examples),
    };
  }
}
