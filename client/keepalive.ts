/**
 * The application keepalive of one socket: every `intervalMs` a bare `ping`
 * text frame, which the gateway's runtime answers `pong` without waking the
 * session object. A connection that received nothing at all (no `pong`, no
 * message) in the interval after a ping is taken for dead: this is how a
 * black-holed connection (a NAT that forgot it, a laptop that slept, a proxy
 * that stopped forwarding) is noticed, since TCP alone may not say so for
 * many minutes.
 *
 * So a dead connection is detected between one and two intervals after it
 * died. The timer runs on the client only, never in the session object.
 */
import { KEEPALIVE_REQUEST } from "../shared/limits";

export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;

export class Keepalive {
  #timer: ReturnType<typeof setInterval> | undefined;
  #heard = true;

  constructor(
    private readonly intervalMs: number,
    private readonly sendText: (text: string) => void,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.#timer !== undefined) return;
    this.#heard = true;
    this.#timer = setInterval(() => this.#tick(), this.intervalMs);
    // In Node, a keepalive alone must not keep the process running.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Anything arrived on the socket: it is alive. */
  heard(): void {
    this.#heard = true;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    if (!this.#heard) {
      this.stop();
      this.onDead();
      return;
    }
    this.#heard = false;
    this.sendText(KEEPALIVE_REQUEST);
  }
}
