/**
 * A request's deadline (REQUEST_DEADLINE_MS). It can be paused while the
 * request waits for the client itself (a person answering a relayed upstream
 * elicitation): the deadline bounds the gateway's work, not the client's
 * thinking time, and whoever pauses it bounds that wait on its own.
 *
 * Deadlines are not one timer each: a session's deadlines are checked by one
 * sweep (DeadlineSweep), a timer that ticks only while a deadline is running
 * and stops at its first tick with none left. A warm call then sets and clears
 * no timer of its own (a timer each was 9% of a warm WebSocket call in the
 * profile), and an idle session still holds no timer, so it can hibernate.
 * A deadline fires up to one tick late: a tenth of its length, at most 1 s.
 */
import { JsonRpcError, REQUEST_TIMEOUT } from "../../shared/errors";

/** Longest tick of a sweep (the lateness of a deadline, at most). */
const MAX_TICK_MS = 1_000;

/** Checks a session's running deadlines every tick while there are any. */
export class DeadlineSweep {
  readonly #running = new Set<Deadline>();
  readonly #tickMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `lengthMs`: the deadlines' usual length, which sets the tick (a tenth of
   * it, at most 1 s). `clearWhenIdle`: stop the timer as soon as no deadline
   * runs (a sweep for one request, which no later call will reuse).
   */
  constructor(
    lengthMs: number,
    private readonly clearWhenIdle = false,
  ) {
    this.#tickMs = Math.max(1, Math.min(MAX_TICK_MS, Math.ceil(lengthMs / 10)));
  }

  /** Starts a deadline `ms` from now, which calls `onExpire` once unless stopped first. */
  start(ms: number, onExpire: () => void): Deadline {
    const deadline = new Deadline(this, ms, onExpire);
    deadline.resume();
    return deadline;
  }

  /**
   * A deadline of `ms` that has not started: its clock runs from its first
   * `resume()`. A request's deadline starts only once its handler waits for
   * something; one that answers without waiting never touches the sweep.
   */
  paused(ms: number, onExpire: () => void): Deadline {
    return new Deadline(this, ms, onExpire);
  }

  /** @internal (Deadline) */
  run(deadline: Deadline): void {
    this.#running.add(deadline);
    if (this.#timer === null) this.#timer = setTimeout(() => this.#tick(), this.#tickMs);
  }

  /** @internal (Deadline) */
  halt(deadline: Deadline): void {
    this.#running.delete(deadline);
    if (this.clearWhenIdle && this.#running.size === 0 && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #tick(): void {
    this.#timer = null;
    const now = Date.now();
    for (const deadline of [...this.#running]) {
      if (deadline.dueAt <= now) {
        this.#running.delete(deadline);
        deadline.expire();
      }
    }
    if (this.#running.size > 0) this.#timer = setTimeout(() => this.#tick(), this.#tickMs);
  }
}

export class Deadline {
  /** When it expires while running (ms since epoch). */
  dueAt = 0;
  #left: number;
  #running = false;
  #stopped = false;

  constructor(
    private readonly sweep: DeadlineSweep,
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.#left = ms;
  }

  pause(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#left = this.dueAt - Date.now();
    this.sweep.halt(this);
  }

  resume(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.dueAt = Date.now() + Math.max(this.#left, 0);
    this.sweep.run(this);
  }

  stop(): void {
    this.#stopped = true;
    this.#running = false;
    this.sweep.halt(this);
  }

  /** @internal (DeadlineSweep) */
  expire(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    this.onExpire();
  }
}

/** The abort reason of a request that ran past its deadline. */
export class RequestTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`request exceeded ${limitMs} ms`);
  }

  toWire(): JsonRpcError {
    return new JsonRpcError(REQUEST_TIMEOUT, `Request timed out after ${this.limitMs} ms`);
  }
}
