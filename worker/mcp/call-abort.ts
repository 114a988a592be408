/**
 * A call's cancellation: aborted by the client (`notifications/cancelled`), a
 * deadline, a newer connection reusing its id, or the session's end. The
 * AbortController behind `signal` is made only when something reads the
 * signal (a tool that waits, an upstream request): most warm calls never do,
 * and one per call was 3% of a warm WebSocket call in the profile.
 */
export class CallAbort {
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  /** The signal, aborted already (with the same reason) if the call was. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts once; later calls change nothing. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
