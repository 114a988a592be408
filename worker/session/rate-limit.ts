/**
 * A token bucket, pure: no timers. Tokens refill continuously at `ratePerSecond`
 * up to `burst`; each message takes one. The session keeps the bucket in its
 * socket attachment (WebSocket) or in memory (HTTP), so a woken object
 * continues where it left off.
 */
import { JsonRpcError, RATE_LIMITED } from "../../shared/errors";
import type { RateLimit } from "../config/vars";

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
 * One session's message-rate gate: its bucket, the refusal a client gets, and
 * the bucket's form in the socket attachment (`tb`), so a woken object
 * continues where it left off. A null limit admits everything.
 */
export class MessageRate {
  #bucket: Bucket | null = null;

  constructor(private readonly limit: RateLimit | null) {}

  /** Takes a token; returns the error when the session is over its rate. */
  admit(now: number): JsonRpcError | null {
    const limit = this.limit;
    if (!limit) return null;
    const result = take(
      this.#bucket ?? fullBucket(limit.burst, now),
      now,
      limit.perSecond,
      limit.burst,
    );
    this.#bucket = result.bucket;
    if (result.allowed) return null;
    return new JsonRpcError(
      RATE_LIMITED,
      `Rate limited: at most ${limit.perSecond} messages/s per session (burst ${limit.burst}); retry in ${result.retryAfterMs} ms`,
      { retryAfterMs: result.retryAfterMs },
    );
  }

  /** Restores the bucket from an attachment, clamped: a corrupt one must not lock the session out (or grant it a flood). */
  restore(saved: readonly [number, number] | undefined, now: number): void {
    if (!saved) return;
    const burst = this.limit?.burst ?? 0;
    this.#bucket = { tokens: Math.min(Math.max(saved[0], 0), burst), at: Math.min(saved[1], now) };
  }

  /** The bucket as the attachment keeps it, if one was taken from. */
  get saved(): [number, number] | undefined {
    return this.#bucket ? [this.#bucket.tokens, this.#bucket.at] : undefined;
  }
}
