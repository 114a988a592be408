/**
 * A request's deadline (REQUEST_DEADLINE_MS): a timer that lives only while
 * its request does, so an idle session holds none. It can be paused while the
 * request waits for the client itself (a person answering a relayed upstream
 * elicitation): the deadline bounds the gateway's work, not the client's
 * thinking time, and whoever pauses it bounds that wait on its own.
 */
import { JsonRpcError, REQUEST_TIMEOUT } from "../../shared/errors";

export class Deadline {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #left: number;
  #since = 0;
  #stopped = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.#left = ms;
    this.resume();
  }

  pause(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#left -= Date.now() - this.#since;
  }

  resume(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#since = Date.now();
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#stopped = true;
        this.onExpire();
      },
      Math.max(this.#left, 0),
    );
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
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
