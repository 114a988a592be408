/**
 * A token bucket, pure: no timers. Tokens refill continuously at
 * `ratePerSecond` up to `burst`; each message takes one. Used for a session's
 * message rate (worker/session/rate-limit.ts) and for notifications relayed
 * from one upstream call (worker/federation/relay.ts).
 */

export interface Bucket {
  tokens: number;
  /** When `tokens` was last computed (ms since epoch). */
  at: number;
}

export interface Take {
  bucket: Bucket;
  allowed: boolean;
  /** When not allowed: how long until one token is available. */
  retryAfterMs: number;
}

export function fullBucket(burst: number, now: number): Bucket {
  return { tokens: burst, at: now };
}

export function take(bucket: Bucket, now: number, ratePerSecond: number, burst: number): Take {
  const elapsedMs = Math.max(0, now - bucket.at);
  const tokens = Math.min(burst, bucket.tokens + (elapsedMs * ratePerSecond) / 1000);
  if (tokens >= 1)
    return { bucket: { tokens: tokens - 1, at: now }, allowed: true, retryAfterMs: 0 };
  const retryAfterMs = Math.ceil(((1 - tokens) * 1000) / ratePerSecond);
  return { bucket: { tokens, at: now }, allowed: false, retryAfterMs };
}

/**
 * Whether a bucket that sees nothing for `idleMs` is full again by then: if
 * so, losing it to an eviction that needs that much idleness first (the
 * object's memory goes only after ~10 s without events) loses nothing, and it
 * need not be kept anywhere durable.
 */
export function refillsWithin(
  bucket: Bucket,
  now: number,
  idleMs: number,
  ratePerSecond: number,
  burst: number,
): boolean {
  const elapsedMs = Math.max(0, now - bucket.at);
  return bucket.tokens + ((elapsedMs + idleMs) * ratePerSecond) / 1000 >= burst;
}
