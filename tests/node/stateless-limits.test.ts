/**
 * The per-principal bounds of stateless 2026-07-28 requests (pure), read from
 * the Worker vars as the gateway reads them: the message rate (which "0"
 * switches off) and the requests in flight (which stay bounded either way).
 */
import { describe, expect, it } from "vitest";
import { RATE_LIMITED, TOO_MANY_IN_FLIGHT } from "../../shared/errors";
import { statelessBounds } from "../../worker/config/vars";
import { StatelessLimits } from "../../worker/http/stateless-limits";

const NOW = 1_000_000;

describe("stateless limits", () => {
  it("refuses past the burst with -32005 and a finite retryAfterMs", () => {
    const limits = new StatelessLimits(
      statelessBounds({ STATELESS_RATE_LIMIT_PER_SECOND: "2", STATELESS_RATE_LIMIT_BURST: "2" }),
    );
    expect(limits.admit("alice", false, NOW).ok).toBe(true);
    expect(limits.admit("alice", false, NOW).ok).toBe(true);
    const refused = limits.admit("alice", false, NOW);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe(RATE_LIMITED);
    expect(refused.error.data).toEqual({ retryAfterMs: 500 });
    // Another principal has its own bucket.
    expect(limits.admit("bob", false, NOW).ok).toBe(true);
  });

  it("admits every message when STATELESS_RATE_LIMIT_PER_SECOND is 0, in the same millisecond too", () => {
    const limits = new StatelessLimits(
      statelessBounds({ STATELESS_RATE_LIMIT_PER_SECOND: "0", STATELESS_MAX_IN_FLIGHT: "1000" }),
    );
    for (let i = 0; i < 1_000; i += 1) {
      const admitted = limits.admit("alice", i % 2 === 0, NOW);
      expect(admitted.ok).toBe(true);
      if (admitted.ok) admitted.release();
    }
  });

  it("still bounds the requests in flight with the rate off", () => {
    const limits = new StatelessLimits(
      statelessBounds({ STATELESS_RATE_LIMIT_PER_SECOND: "0", STATELESS_MAX_IN_FLIGHT: "2" }),
    );
    const first = limits.admit("alice", true, NOW);
    expect(limits.admit("alice", true, NOW).ok).toBe(true);
    const third = limits.admit("alice", true, NOW);
    expect(third.ok).toBe(false);
    if (!third.ok) expect(third.error.code).toBe(TOO_MANY_IN_FLIGHT);
    // A notification holds no slot; a released request frees one.
    expect(limits.admit("alice", false, NOW).ok).toBe(true);
    if (first.ok) first.release();
    expect(limits.admit("alice", true, NOW).ok).toBe(true);
  });
});
