/**
 * Small runtime knobs read from Worker vars, each validated and clamped, with
 * its default in shared/limits.ts.
 */
import { SSE_KEEPALIVE_MS } from "../shared/limits";

/** SSE keepalive interval: the SSE_KEEPALIVE_MS var (tests shorten it), never above 25 s. */
export function sseKeepaliveMs(env: { SSE_KEEPALIVE_MS?: string }): number {
  const value = Number(env.SSE_KEEPALIVE_MS);
  if (!Number.isFinite(value) || value <= 0) return SSE_KEEPALIVE_MS;
  return Math.min(Math.max(Math.round(value), 100), SSE_KEEPALIVE_MS);
}
