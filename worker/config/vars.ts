/**
 * Small runtime knobs read from Worker vars, each validated and clamped, with
 * its default in shared/limits.ts.
 */
import {
  DEFAULT_MAX_SESSIONS_PER_PRINCIPAL,
  DEFAULT_MAX_TASKS_PER_PRINCIPAL,
  DEFAULT_REPLY_STREAM_MAX_MS,
  DEFAULT_SESSION_IDLE_TTL_MS,
  MAX_TOOL_CALL_MS,
  OUTBOUND_BURST_CHARS,
  OUTBOUND_CHARS_PER_SECOND,
  RATE_BURST_MESSAGES,
  RATE_MESSAGES_PER_SECOND,
  SSE_KEEPALIVE_MS,
  STATELESS_MAX_IN_FLIGHT,
  STATELESS_RATE_BURST,
  STATELESS_RATE_PER_SECOND,
} from "../../shared/limits";

/** SSE keepalive interval: the SSE_KEEPALIVE_MS var (tests shorten it), never above 25 s. */
export function sseKeepaliveMs(env: { SSE_KEEPALIVE_MS?: string }): number {
  const value = Number(env.SSE_KEEPALIVE_MS);
  if (!Number.isFinite(value) || value <= 0) return SSE_KEEPALIVE_MS;
  return Math.min(Math.max(Math.round(value), 100), SSE_KEEPALIVE_MS);
}

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * Per-session message rate: RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST vars,
 * defaulting to shared/limits.ts; "0" switches the limit off (benchmarks).
 */
export function rateLimit(env: {
  RATE_LIMIT_PER_SECOND?: string;
  RATE_LIMIT_BURST?: string;
}): RateLimit | null {
  const perSecond = positiveOr(env.RATE_LIMIT_PER_SECOND, RATE_MESSAGES_PER_SECOND);
  if (perSecond === 0) return null;
  return { perSecond, burst: Math.max(1, positiveOr(env.RATE_LIMIT_BURST, RATE_BURST_MESSAGES)) };
}

/** SESSION_IDLE_TTL_MS: idle time before a session expires (at least one minute). */
export function sessionIdleTtlMs(env: { SESSION_IDLE_TTL_MS?: string }): number {
  const value = positiveOr(env.SESSION_IDLE_TTL_MS, DEFAULT_SESSION_IDLE_TTL_MS);
  return value === 0 ? DEFAULT_SESSION_IDLE_TTL_MS : Math.max(1_000, value);
}

function positiveOr(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** MAX_SESSIONS_PER_PRINCIPAL: live sessions one authenticated principal may hold. */
export function maxSessionsPerPrincipal(env: { MAX_SESSIONS_PER_PRINCIPAL?: string }): number {
  const value = positiveOr(env.MAX_SESSIONS_PER_PRINCIPAL, DEFAULT_MAX_SESSIONS_PER_PRINCIPAL);
  return value === 0 ? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL : Math.floor(value);
}

/** REQUEST_DEADLINE_MS: longest a request (a tool call) may run, 1 s to MAX_TOOL_CALL_MS. */
export function requestDeadlineMs(env: { REQUEST_DEADLINE_MS?: string }): number {
  const value = positiveOr(env.REQUEST_DEADLINE_MS, MAX_TOOL_CALL_MS);
  return Math.min(Math.max(value, 1_000), MAX_TOOL_CALL_MS);
}

/** REPLY_STREAM_MAX_MS: longest an SSE reply may stay open, 1 s to 1 h (default 10 min). */
export function replyStreamMaxMs(env: { REPLY_STREAM_MAX_MS?: string }): number {
  const value = positiveOr(env.REPLY_STREAM_MAX_MS, DEFAULT_REPLY_STREAM_MAX_MS);
  return Math.min(Math.max(value, 1_000), 60 * 60_000);
}

/**
 * Per-principal bounds on stateless 2026-07-28 requests (per isolate):
 * STATELESS_RATE_LIMIT_PER_SECOND ("0" switches the rate off), STATELESS_RATE_LIMIT_BURST,
 * STATELESS_MAX_IN_FLIGHT; defaults in shared/limits.ts.
 */
export function statelessBounds(env: {
  STATELESS_RATE_LIMIT_PER_SECOND?: string;
  STATELESS_RATE_LIMIT_BURST?: string;
  STATELESS_MAX_IN_FLIGHT?: string;
}): {
  rate: { perSecond: number; burst: number } | null;
  maxInFlight: number;
} {
  const perSecond = positiveOr(env.STATELESS_RATE_LIMIT_PER_SECOND, STATELESS_RATE_PER_SECOND);
  const maxInFlight = Math.max(
    1,
    Math.floor(positiveOr(env.STATELESS_MAX_IN_FLIGHT, STATELESS_MAX_IN_FLIGHT)),
  );
  // Off is null, not an infinite bucket: Infinity tokens refilled over 0 ms is NaN, which refuses.
  if (perSecond === 0) return { rate: null, maxInFlight };
  const burst = Math.max(1, positiveOr(env.STATELESS_RATE_LIMIT_BURST, STATELESS_RATE_BURST));
  return { rate: { perSecond, burst }, maxInFlight };
}

/**
 * Whether sessions keep the WebSocket replay store (REPLAY var, default on).
 * "off" is for measuring what the store costs (bench/resume.ts): messages are
 * then neither numbered nor kept, and a re-attach replays nothing.
 */
export function replayEnabled(env: { REPLAY?: string }): boolean {
  return env.REPLAY?.trim().toLowerCase() !== "off";
}

/**
 * What a session may send toward one WebSocket (OUTBOUND_CHARS_PER_SECOND and
 * OUTBOUND_BURST_CHARS vars; "0" switches the budget off), defaults in shared/limits.ts.
 */
export function outboundLimit(env: {
  OUTBOUND_CHARS_PER_SECOND?: string;
  OUTBOUND_BURST_CHARS?: string;
}): { perSecond: number; burst: number } | null {
  const perSecond = positiveOr(env.OUTBOUND_CHARS_PER_SECOND, OUTBOUND_CHARS_PER_SECOND);
  if (perSecond === 0) return null;
  return {
    perSecond,
    burst: Math.max(1_024, positiveOr(env.OUTBOUND_BURST_CHARS, OUTBOUND_BURST_CHARS)),
  };
}

/** MAX_TASKS_PER_PRINCIPAL: stored tasks one principal may hold (anonymous included). */
export function maxTasksPerPrincipal(env: { MAX_TASKS_PER_PRINCIPAL?: string }): number {
  const value = positiveOr(env.MAX_TASKS_PER_PRINCIPAL, DEFAULT_MAX_TASKS_PER_PRINCIPAL);
  return value === 0 ? DEFAULT_MAX_TASKS_PER_PRINCIPAL : Math.floor(value);
}
