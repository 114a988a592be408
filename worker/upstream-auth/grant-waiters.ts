/**
 * Calls of one principal waiting for an upstream grant (another session's, or
 * the call that sent the principal to authorize): woken when a grant is stored
 * or refused, each wait bounded by its caller's timeout, and at most
 * MAX_GRANT_WAITERS at once (more are told "timeout" at once). In memory: a
 * waiting call keeps its own session object awake anyway. A call that stops
 * waiting (cancelled, its session ended) cancels its wait by the id it gave, so
 * it neither holds a slot nor a timer for the rest of its timeout.
 */
import type { GrantWait } from "./messages";

/** Calls of one principal waiting for a grant at once; more are told "timeout" at once. */
export const MAX_GRANT_WAITERS = 64;

export class GrantWaiters {
  readonly #waiters = new Map<string, Set<(outcome: GrantWait) => void>>();
  /** Waits by the id their caller gave, for cancel(). */
  readonly #byId = new Map<string, (outcome: GrantWait) => void>();

  wait(name: string, timeoutMs: number, waitId?: string): Promise<GrantWait> {
    if (this.#count() >= MAX_GRANT_WAITERS) return Promise.resolve("timeout");
    const waiters = this.#waiters.get(name) ?? new Set();
    this.#waiters.set(name, waiters);
    return new Promise((resolve) => {
      const done = (outcome: GrantWait) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(name) === waiters) this.#waiters.delete(name);
        if (waitId !== undefined && this.#byId.get(waitId) === done) this.#byId.delete(waitId);
        resolve(outcome);
      };
      const timer = setTimeout(() => done("timeout"), timeoutMs);
      waiters.add(done);
      if (waitId !== undefined) this.#byId.set(waitId, done);
    });
  }

  /** Ends the wait with this id ("timeout"): its caller no longer waits. */
  cancel(waitId: string): void {
    this.#byId.get(waitId)?.("timeout");
  }

  #count(): number {
    let total = 0;
    for (const set of this.#waiters.values()) total += set.size;
    return total;
  }

  wake(name: string, outcome: GrantWait): void {
    const waiters = this.#waiters.get(name);
    if (!waiters) return;
    this.#waiters.delete(name);
    for (const done of [...waiters]) done(outcome);
  }
}
