/**
 * What this client wrote that the session may not have read: its answers to
 * the session's requests (elicitation, sampling, roots, ping) and its
 * `notifications/cancelled`. A connection can die half-open (a laptop that
 * slept, a NAT that forgot the flow) with frames written into it that never
 * arrive, and a frame that reaches a socket the session has just retired is
 * dropped. The session would then wait for an answer that never comes, or
 * keep running a call the client cancelled.
 *
 * Each is kept with the connection it was written on until the session is
 * known to have read it: the runtime answers a keepalive `ping` in order, so
 * its `pong` confirms everything written on that connection before the ping.
 * After a re-attach (the `resumed` notice on a later connection), what was
 * written on earlier connections and not confirmed is written again: an
 * answer the session already has is ignored (a server request's id is random
 * and answered once), and a cancel is sent again only for a request the
 * notice lists as still running.
 *
 * Bounded: the newest MAX_UNCONFIRMED_MESSAGES, at most
 * MAX_UNCONFIRMED_CHARS of JSON in all; older ones are forgotten.
 */

export const MAX_UNCONFIRMED_MESSAGES = 64;
export const MAX_UNCONFIRMED_CHARS = 4 * 1024 * 1024;

export interface Rewritable {
  text: string;
  /** JSON of the request id a `notifications/cancelled` cancels. */
  cancelsKey?: string | undefined;
}

interface Written {
  epoch: number;
  /** The position of the write among all writes of this transport. */
  serial: number;
}

export class Unconfirmed<T extends Rewritable> {
  /** Insertion-ordered: oldest first. */
  readonly #written = new Map<T, Written>();
  #chars = 0;
  #serial = 0;
  /** Per ping in flight on the current connection: the serial of the last write before it. */
  #pings: number[] = [];

  constructor(
    private readonly maxMessages = MAX_UNCONFIRMED_MESSAGES,
    private readonly maxChars = MAX_UNCONFIRMED_CHARS,
  ) {}

  get size(): number {
    return this.#written.size;
  }

  /** Any frame was written on connection `epoch`; `entry` when it is one to keep. */
  wrote(epoch: number, entry?: T): void {
    this.#serial += 1;
    if (!entry) return;
    this.#forget(entry);
    this.#written.set(entry, { epoch, serial: this.#serial });
    this.#chars += entry.text.length;
    for (const [oldest] of this.#written) {
      if (this.#written.size <= this.maxMessages && this.#chars <= this.maxChars) break;
      this.#forget(oldest);
    }
  }

  /** A keepalive ping was written on the current connection. */
  pinged(): void {
    this.#pings.push(this.#serial);
  }

  /** Its answer arrived on connection `epoch`: what was written there before that ping was read. */
  ponged(epoch: number): void {
    const through = this.#pings.shift();
    if (through === undefined) return;
    for (const [entry, written] of this.#written) {
      if (written.epoch === epoch && written.serial <= through) this.#forget(entry);
    }
  }

  /** A new connection: pings of the old one will never be answered. */
  connected(): void {
    this.#pings = [];
  }

  /**
   * After the resumed notice on connection `epoch`: removes and returns, oldest
   * first, what was written on earlier connections and should be written again.
   */
  again(inFlight: readonly unknown[], epoch: number): T[] {
    const running = new Set(inFlight.map((id) => JSON.stringify(id)));
    const again: T[] = [];
    for (const [entry, written] of this.#written) {
      if (written.epoch >= epoch) continue;
      this.#forget(entry);
      if (entry.cancelsKey === undefined || running.has(entry.cancelsKey)) again.push(entry);
    }
    return again;
  }

  /** It never left this machine and will be written again (or never). */
  drop(entry: T): void {
    this.#forget(entry);
  }

  clear(): void {
    this.#written.clear();
    this.#chars = 0;
    this.#pings = [];
  }

  #forget(entry: T): void {
    if (this.#written.delete(entry)) this.#chars -= entry.text.length;
  }
}
