/**
 * The requests this client has written to a session's sockets and not yet
 * seen answered, each with the connection it was written on.
 *
 * After a re-attach the session replays the answers the client missed and
 * then names the requests it still runs (the `resumed` notice's inFlight). A
 * request written on an earlier connection that is in neither is lost: it
 * never reached the gateway, or the gateway lost it (a restart takes running
 * requests with it). The client cannot tell which, so it does not send it
 * again (it may have had effects); it answers it with an error instead of
 * letting it wait forever.
 *
 * Bounded: at most MAX_OUTSTANDING entries; past that the oldest is forgotten
 * (the caller's own request timeout still ends it).
 */

export const MAX_OUTSTANDING = 10_000;

/** A JSON-RPC request id as it travels. */
export type RequestId = string | number;

export class Outstanding {
  /** JSON of the id -> the id and the connection (epoch) it was written on; insertion-ordered. */
  readonly #byKey = new Map<string, { id: RequestId; epoch: number }>();

  constructor(private readonly max = MAX_OUTSTANDING) {}

  get size(): number {
    return this.#byKey.size;
  }

  /** A request was written on connection `epoch`. */
  sent(id: RequestId, epoch: number): void {
    const key = JSON.stringify(id);
    this.#byKey.delete(key);
    this.#byKey.set(key, { id, epoch });
    if (this.#byKey.size > this.max) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }

  has(id: RequestId): boolean {
    return this.#byKey.has(JSON.stringify(id));
  }

  /** Its answer arrived, or the client cancelled it (a cancelled request gets no answer). */
  settled(id: unknown): void {
    if (typeof id === "string" || typeof id === "number") this.#byKey.delete(JSON.stringify(id));
  }

  /**
   * After the resumed notice on connection `epoch`: removes and returns the
   * requests written on earlier connections that are not in `inFlight`
   * (their answers, had there been any, were replayed before the notice).
   */
  lost(inFlight: readonly unknown[], epoch: number): RequestId[] {
    const running = new Set(inFlight.map((id) => JSON.stringify(id)));
    const lost: RequestId[] = [];
    for (const [key, entry] of this.#byKey) {
      if (entry.epoch < epoch && !running.has(key)) {
        lost.push(entry.id);
        this.#byKey.delete(key);
      }
    }
    return lost;
  }

  clear(): void {
    this.#byKey.clear();
  }
}
