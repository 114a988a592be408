/**
 * One session's message-rate gate over a pure token bucket (shared/token-bucket.ts),
 * and the outbound budget of its socket. Both live in memory; a bucket that
 * would not be full again after the idleness an eviction needs
 * (MIN_IDLE_BEFORE_EVICTION_MS) is also written to the socket attachment
 * (`mustKeep`), so a woken object continues where it left off. With the
 * default limits both refill in under 10 s and a warm message writes no
 * attachment; a slow refill configured by an operator is kept.
 */
import type { DecodedFrame } from "../../shared/codec";
import { JsonRpcError, RATE_LIMITED } from "../../shared/errors";
import { MIN_IDLE_BEFORE_EVICTION_MS } from "../../shared/limits";
import { type Bucket, fullBucket, refillsWithin, take } from "../../shared/token-bucket";
import type { RateLimit } from "../config/vars";

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

  /** Whether an eviction now would lose something the bucket must remember (see the module doc). */
  mustKeep(now: number): boolean {
    return mustKeep(this.#bucket, this.limit, now);
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

/** The message-rate check for one frame; answers to the server's own requests are never refused. */
export function admitFrame(
  rate: MessageRate,
  frame: DecodedFrame,
  now: number,
): JsonRpcError | null {
  return frame.kind === "response" ? null : rate.admit(now);
}

export interface OutboundLimit {
  perSecond: number;
  burst: number;
}

/**
 * What the session may still send toward its current socket (OUTBOUND_* in
 * shared/limits.ts), kept in the socket's attachment like the message rate so a
 * woken object continues it, and full again for a newly attached socket (the
 * old one, and whatever it held, is closed). A null limit admits everything.
 */
export class OutboundBudget {
  #bucket: Bucket | null = null;

  constructor(readonly limit: OutboundLimit | null) {}

  /** Spends `chars`; false when the socket is over its budget. */
  spend(chars: number, now: number): boolean {
    const limit = this.limit;
    if (!limit) return true;
    const bucket = this.#bucket ?? fullBucket(limit.burst, now);
    const elapsedMs = Math.max(0, now - bucket.at);
    const tokens = Math.min(limit.burst, bucket.tokens + (elapsedMs * limit.perSecond) / 1000);
    if (tokens < chars) {
      this.#bucket = { tokens, at: now };
      return false;
    }
    this.#bucket = { tokens: tokens - chars, at: now };
    return true;
  }

  /** Whether an eviction now would lose something the budget must remember. */
  mustKeep(now: number): boolean {
    return mustKeep(this.#bucket, this.limit, now);
  }

  /** A new socket starts with a full budget: the bound is on what one socket may hold. */
  reset(): void {
    this.#bucket = null;
  }

  restore(saved: readonly [number, number] | undefined, now: number): void {
    if (!saved) return;
    const burst = this.limit?.burst ?? 0;
    this.#bucket = { tokens: Math.min(saved[0], burst), at: Math.min(saved[1], now) };
  }

  get saved(): [number, number] | undefined {
    return this.#bucket ? [this.#bucket.tokens, this.#bucket.at] : undefined;
  }
}

function mustKeep(
  bucket: Bucket | null,
  limit: { perSecond: number; burst: number } | null,
  now: number,
): boolean {
  if (!bucket || !limit) return false;
  return !refillsWithin(bucket, now, MIN_IDLE_BEFORE_EVICTION_MS, limit.perSecond, limit.burst);
}
