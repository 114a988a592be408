/**
 * The session object's one alarm (Durable Objects have one per object) over
 * named deadlines, today only the idle TTL or the next purge step (expiry.ts).
 * The storage alarm is armed at the earliest deadline and set again only when
 * that changes, so a deadline that moves later costs no write. Deadlines live
 * in memory: after an eviction the alarm handler recomputes the TTL from
 * SQLite. (What the session holds in memory for a while, the replay ring and
 * the wake count, is written by a timer in runtime.ts, not by the alarm:
 * arming one is itself a storage write.)
 */
export type Deadline = "expiry";

export class AlarmClock {
  readonly #deadlines = new Map<Deadline, number>();
  #armedAt: number | null = null;

  constructor(private readonly setAlarm: (at: number) => void) {}

  /** Due at `at` (replacing this deadline's earlier value). */
  set(deadline: Deadline, at: number): void {
    this.#deadlines.set(deadline, at);
    this.#arm();
  }

  /** Met: no longer due. The armed alarm may fire early; the handler then re-arms. */
  clear(deadline: Deadline): void {
    this.#deadlines.delete(deadline);
  }

  /** The alarm fired: nothing is armed until a deadline is set again. */
  fired(): void {
    this.#armedAt = null;
  }

  #arm(): void {
    let next = Number.POSITIVE_INFINITY;
    for (const at of this.#deadlines.values()) next = Math.min(next, at);
    if (!Number.isFinite(next) || this.#armedAt === next) return;
    // Armed earlier than needed already: that alarm fires first and re-arms.
    if (this.#armedAt !== null && this.#armedAt < next && this.#armedAt > Date.now()) return;
    this.#armedAt = next;
    this.setAlarm(next);
  }
}
