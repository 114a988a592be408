/**
 * The session's buckets (pure): when one must be written to the socket
 * attachment to survive an eviction. An object leaves memory only after
 * MIN_IDLE_BEFORE_EVICTION_MS without events, so a bucket that is full again
 * by then is kept in memory only; one that refills slower is kept durable.
 */
import { describe, expect, it } from "vitest";
import { MIN_IDLE_BEFORE_EVICTION_MS } from "../../shared/limits";
import { refillsWithin } from "../../shared/token-bucket";
import { MessageRate, OutboundBudget } from "../../worker/session/rate-limit";

const NOW = 1_000_000;

describe("refillsWithin", () => {
  it("answers whether the tokens plus the refill over the idle time reach the burst", () => {
    // 50/s, burst 100: empty refills in 2 s.
    expect(refillsWithin({ tokens: 0, at: NOW }, NOW, 2_000, 50, 100)).toBe(true);
    expect(refillsWithin({ tokens: 0, at: NOW }, NOW, 1_999, 50, 100)).toBe(false);
    // Time already elapsed since the bucket was computed counts too.
    expect(refillsWithin({ tokens: 0, at: NOW - 1_000 }, NOW, 1_000, 50, 100)).toBe(true);
  });
});

describe("MessageRate.mustKeep", () => {
  it("keeps nothing before the first message, or with the limit off", () => {
    expect(new MessageRate({ perSecond: 1, burst: 100 }).mustKeep(NOW)).toBe(false);
    const off = new MessageRate(null);
    off.admit(NOW);
    expect(off.mustKeep(NOW)).toBe(false);
  });

  it("keeps nothing at the default rate (50/s, burst 100), even drained", () => {
    const rate = new MessageRate({ perSecond: 50, burst: 100 });
    for (let i = 0; i < 150; i++) rate.admit(NOW);
    expect(rate.saved?.[0]).toBeLessThan(1);
    expect(rate.mustKeep(NOW)).toBe(false);
  });

  it("keeps a slow bucket once it is drained below what the eviction idleness refills", () => {
    // 1/s, burst 30: the idleness refills 10 tokens, so the bucket is kept below 20.
    const perSecond = 1;
    const burst = 30;
    const refill = (MIN_IDLE_BEFORE_EVICTION_MS / 1000) * perSecond;
    const rate = new MessageRate({ perSecond, burst });
    for (let i = 0; i < burst - 2 * refill; i++) {
      rate.admit(NOW);
      const tokens = rate.saved?.[0] ?? burst;
      expect(rate.mustKeep(NOW), `at ${tokens} tokens`).toBe(tokens + refill < burst);
    }
    // 20 tokens left: the idleness brings it back to 30, so nothing to keep; at 19 it must be kept.
    expect(rate.saved?.[0]).toBe(burst - refill);
    expect(rate.mustKeep(NOW)).toBe(false);
    rate.admit(NOW);
    expect(rate.mustKeep(NOW)).toBe(true);
    // Waited out, it is full again: nothing to keep.
    expect(rate.mustKeep(NOW + 30_000)).toBe(false);
  });
});

describe("OutboundBudget.mustKeep", () => {
  it("keeps a budget that refills slower than the eviction idleness, not one that refills faster", () => {
    const fast = new OutboundBudget({ perSecond: 16, burst: 64 });
    expect(fast.spend(64, NOW)).toBe(true);
    expect(fast.mustKeep(NOW)).toBe(false);
    const slow = new OutboundBudget({ perSecond: 1, burst: 64 });
    expect(slow.spend(64, NOW)).toBe(true);
    expect(slow.mustKeep(NOW)).toBe(true);
  });
});
