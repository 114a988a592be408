/**
 * Bounded waits, for tests in Node and in workerd alike. Every helper takes an explicit timeout and
 * fails with a message naming what it waited for, so a hung peer shows up as a
 * readable failure instead of the test runner's generic timeout.
 */

/** Resolves after `ms`. Use only for deliberate idleness (e.g. letting an object hibernate). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles like `promise`, or rejects once `timeoutMs` passes. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, deadline]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/**
 * Polls `probe` until it returns something other than undefined/false, and
 * returns that value. A probe that throws is retried until the deadline.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}

/** The next `type` event from an EventTarget (a WebSocket, an AbortSignal), bounded. */
export function nextEvent<E extends Event = Event>(
  target: EventTarget,
  type: string,
  timeoutMs: number,
): Promise<E> {
  let listener: ((event: Event) => void) | undefined;
  const event = new Promise<E>((resolve) => {
    listener = (e) => resolve(e as E);
    target.addEventListener(type, listener, { once: true });
  });
  return withTimeout(event, timeoutMs, `a "${type}" event`).finally(() => {
    if (listener) target.removeEventListener(type, listener);
  });
}
