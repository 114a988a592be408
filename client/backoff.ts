/**
 * Re-attach delays: exponential, capped, with "equal jitter" (half the step
 * fixed, half random), so a gateway restart that drops thousands of sockets at
 * once is not met by thousands of re-attaches in the same millisecond, and a
 * client still backs off even when its random numbers are small.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */

export interface BackoffOptions {
  /** Step of the first retry (its delay is between half of it and all of it). */
  initialDelayMs: number;
  /** Largest step. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 10_000 };

/** The delay before retry number `attempt` (0 for the first), in ms. */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const step = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** exponent);
  const unit = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + (unit * step) / 2);
}
