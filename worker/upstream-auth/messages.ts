/**
 * What the principal's object answers over RPC for upstream authorization:
 * plain data (discriminated unions, no exceptions), so nothing depends on how
 * errors cross the RPC boundary.
 */

import type { AUTH_METHODS } from "./plan";

/** A URL-mode elicitation (MCP 2025-11-25, client/elicitation) that sends the user to authorize. */
export interface UrlElicitation {
  mode: "url";
  elicitationId: string;
  url: string;
  message: string;
}

export type AccessTokenOutcome =
  | { kind: "token"; token: string }
  /** No grant: the principal must authorize. */
  | { kind: "none" }
  /** A grant exists but could not be refreshed now (the server is down). */
  | { kind: "unavailable"; reason: string };

export type AuthorizeOutcome =
  | { kind: "elicitation"; elicitation: UrlElicitation }
  | { kind: "failed"; reason: string };

export type GrantWait = "granted" | "declined" | "timeout";

export type StartOutcome = { ok: true; authorizationUrl: string } | { ok: false };

export type CallbackOutcome = { ok: true; upstream: string } | { ok: false; reason: string };

export interface FlowView {
  upstream: string;
  /** The authorization server's origin, shown to the user before they continue. */
  serverOrigin: string;
}

/** One authorized upstream as its principal may see it: never a token. */
export interface AuthorizationView {
  upstream: string;
  grantedAt: string;
  /** When the current access token expires (ISO 8601), if the server said. */
  accessTokenExpiresAt: string | null;
  scope: string | null;
  refreshable: boolean;
}

/** What the RegistrationObject is asked, and answers (RFC 7591). */
export interface RegistrationRequest {
  upstream: string;
  issuer: string;
  registrationEndpoint: string;
  redirectUri: string;
  scope: string | undefined;
  /** What the server accepts at its token endpoint (RFC 8414); confidential when it can. */
  authMethodsSupported: string[] | undefined;
}

export type RegistrationOutcome =
  | { ok: true; clientId: string; clientSecret?: string; authMethod: (typeof AUTH_METHODS)[number] }
  | { ok: false; reason: string };
