/**
 * What federation needs to call an OAuth upstream for one principal (the
 * session's, or the stateless request's), and nothing more: the principal's
 * object holds the tokens (upstream-auth/); the composition root binds an
 * implementation to the principal, so a Federation can only ever ask for its
 * own principal's tokens.
 */
import type { Upstream } from "../config/upstreams";

/** A URL-mode elicitation (MCP 2025-11-25, client/elicitation) that sends the user to authorize. */
export interface UrlElicitation {
  mode: "url";
  elicitationId: string;
  url: string;
  message: string;
}

export type TokenLookup =
  | { kind: "token"; token: string }
  | { kind: "none" }
  | { kind: "unavailable"; reason: string };

export type AuthorizationStart =
  | { kind: "elicitation"; elicitation: UrlElicitation }
  | { kind: "failed"; reason: string };

export interface UpstreamCredentials {
  /**
   * The access token to send to `upstream` now (refreshed when near expiry),
   * or why there is none. `refused` is a token the upstream just answered 401
   * to: a fresh one is obtained (refresh) or the grant is dropped.
   */
  accessToken(upstream: Upstream, refused?: string): Promise<TokenLookup>;
  /** A URL elicitation that starts (or resumes) authorization, from the upstream's 401 challenge. */
  authorize(upstream: Upstream, challenge: string | null): Promise<AuthorizationStart>;
  /** The principal's authorized upstreams as it may see them (never a token). */
  authorizations(): Promise<Record<string, unknown>[]>;
  /** Resolves once the principal holds a grant, declined, or the wait is over (bounded). */
  awaitGrant(upstream: Upstream, signal: AbortSignal): Promise<"granted" | "declined" | "timeout">;
}
