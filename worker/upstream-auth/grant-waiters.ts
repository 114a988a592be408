/**
 * Calls of one principal waiting for an upstream grant (another session's, or
 * the call that sent the principal to authorize): woken when a grant is stored
 * or refused, each wait bounded by its caller's timeout, and at most
 * MAX_GRANT_WAITERS at once (more are told "timeout" at once). In memory: a
 * waiting call keeps its own session object awake anyway.
 */
import type { GrantWait } from "./messages";

/** Calls of one principal waiting for a grant at once; more are told "timeout" at once. */
export const MAX_GRANT_WAITERS = 64;

export class GrantWaiters {
  readonly #waiters = new Map<string, Set<(outcome: GrantWait) => void>>();

  wait(name: string, timeoutMs: number): Promise<GrantWait> {
    const total = [...this.#waiters.values()].reduce((n, set) => n + set.size, 0);
    if (total >= MAX_GRANT_WAITERS) return Promise.resolve("timeout");
    const waiters = this.#waiters.get(name) ?? new Set();
    this.#waiters.set(name, waiters);
    return new Promise((resolve) => {
      const done = (outcome: GrantWait) => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve(outcome);
      };
      const timer = setTimeout(() => done("timeout"), timeoutMs);
      waiters.add(done);
    });
  }

  wake(name: string, outcome: GrantWait): void {
    const waiters = this.#waiters.get(name);
    if (!waiters) return;
    this.#waiters.delete(name);
    for (const done of [...waiters]) done(outcome);
  }
}
