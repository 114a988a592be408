/**
 * Per-principal bounds on stateless 2026-07-28 requests, kept per Worker
 * isolate (shared/limits.ts says why): a message-rate token bucket and a count
 * of requests in flight. A refused request gets 429 with the JSON-RPC error
 * (-32005 with retryAfterMs, or -32006) and Retry-After, like a session's.
 *
 * Bounded: at most STATELESS_MAX_PRINCIPALS entries; the least recently seen
 * principal with nothing in flight is forgotten first (a forgotten principal
 * starts again with a full bucket, which is the generous direction).
 */
import { JsonRpcError, RATE_LIMITED, TOO_MANY_IN_FLIGHT } from "../../shared/errors";
import { STATELESS_MAX_PRINCIPALS } from "../../shared/limits";
import { type Bucket, fullBucket, take } from "../../shared/token-bucket";

export interface StatelessBounds {
  /** The message rate per principal; null when it is off. */
  rate: { perSecond: number; burst: number } | null;
  maxInFlight: number;
}

interface Counters {
  bucket: Bucket;
  inFlight: number;
}

/** A refusal, or a ticket whose release ends the request's time in flight. */
export type Admission = { ok: true; release(): void } | { ok: false; error: JsonRpcError };

export class StatelessLimits {
  readonly #principals = new Map<string, Counters>();

  constructor(
    private readonly bounds: StatelessBounds,
    private readonly maxPrincipals = STATELESS_MAX_PRINCIPALS,
  ) {}

  /** Admits one message from `principal`; a request (`holds`) also takes an in-flight slot. */
  admit(principal: string, holds: boolean, now = Date.now()): Admission {
    const counters = this.#counters(principal, now);
    const rate = this.bounds.rate;
    if (rate) {
      const taken = take(counters.bucket, now, rate.perSecond, rate.burst);
      counters.bucket = taken.bucket;
      if (!taken.allowed) {
        return {
          ok: false,
          error: new JsonRpcError(
            RATE_LIMITED,
            `Rate limited: at most ${rate.perSecond} stateless messages/s per principal (burst ${rate.burst}); retry in ${taken.retryAfterMs} ms`,
            { retryAfterMs: taken.retryAfterMs },
          ),
        };
      }
    }
    if (!holds) return { ok: true, release: () => {} };
    if (counters.inFlight >= this.bounds.maxInFlight) {
      return {
        ok: false,
        error: new JsonRpcError(
          TOO_MANY_IN_FLIGHT,
          `Too many stateless requests in flight for this principal (at most ${this.bounds.maxInFlight}); wait for replies`,
        ),
      };
    }
    counters.inFlight += 1;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        counters.inFlight -= 1;
      },
    };
  }

  #counters(principal: string, now: number): Counters {
    let counters = this.#principals.get(principal);
    if (counters) {
      // Most recently seen last: Map iteration order is insertion order.
      this.#principals.delete(principal);
    } else {
      counters = { bucket: fullBucket(this.bounds.rate?.burst ?? 0, now), inFlight: 0 };
      this.#evict();
    }
    this.#principals.set(principal, counters);
    return counters;
  }

  #evict(): void {
    if (this.#principals.size < this.maxPrincipals) return;
    for (const [principal, counters] of this.#principals) {
      if (counters.inFlight === 0) {
        this.#principals.delete(principal);
        return;
      }
    }
  }
}

let memo: { key: string; limits: StatelessLimits } | null = null;

/** The isolate's counters for these bounds (rebuilt only if the configuration changes). */
export function statelessLimitsFor(bounds: StatelessBounds): StatelessLimits {
  const rate = bounds.rate ? `${bounds.rate.perSecond}/${bounds.rate.burst}` : "off";
  const key = `${rate}/${bounds.maxInFlight}`;
  if (!memo || memo.key !== key) memo = { key, limits: new StatelessLimits(bounds) };
  return memo.limits;
}
