/**
 * Recent upstream failures, per isolate. A list (tools/list, prompts/list...)
 * skips an upstream that failed within RETRY_AFTER_MS and reports it as
 * unavailable at once, so one black-holed upstream does not add its timeout
 * to every list of every session. Calls always try: the caller asked for that
 * upstream, and a success clears the record.
 *
 * Bounded by the number of configured upstreams (keys are name + URL).
 */
export const RETRY_AFTER_MS = 15_000;

interface Failure {
  at: number;
  reason: string;
}

const failures = new Map<string, Failure>();

function keyOf(upstream: { name: string; url: string }): string {
  return `${upstream.name}\u0000${upstream.url}`;
}

export function recordFailure(
  upstream: { name: string; url: string },
  reason: string,
  now = Date.now(),
): void {
  failures.set(keyOf(upstream), { at: now, reason });
}

export function recordSuccess(upstream: { name: string; url: string }): void {
  failures.delete(keyOf(upstream));
}

/** The reason a list should skip this upstream now, or null to try it. */
export function skipReason(
  upstream: { name: string; url: string },
  now = Date.now(),
): string | null {
  const failure = failures.get(keyOf(upstream));
  if (!failure) return null;
  const left = failure.at + RETRY_AFTER_MS - now;
  if (left <= 0) return null;
  return `${failure.reason} (failed ${Math.round((now - failure.at) / 1000)} s ago; tried again in ${Math.ceil(left / 1000)} s)`;
}
