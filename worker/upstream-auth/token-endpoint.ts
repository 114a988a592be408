/**
 * The authorization server's token endpoint (RFC 6749 section 4.1.3 and 6, with
 * PKCE's `code_verifier` and RFC 8707's `resource`) and revocation endpoint
 * (RFC 7009). Client authentication as the v1 SDK does it: HTTP Basic or POST
 * body for a client with a secret, the client id alone for a public client.
 *
 * Responses are validated; errors carry only the OAuth error code, never the
 * body (which might echo a code or token) and never the request.
 */
import * as v from "valibot";
import { boundedFetch, type Fetcher } from "./bounded-fetch";
import type { Plan, TokenSet } from "./plan";

const MAX_TOKEN_RESPONSE_CHARS = 64 * 1024;

export class TokenEndpointError extends Error {
  constructor(
    /** The OAuth error code (`invalid_grant`...), or `unavailable` / `invalid_response`. */
    readonly code: string,
  ) {
    super(`token endpoint: ${code}`);
    this.name = "TokenEndpointError";
  }
}

const TokenResponseSchema = v.looseObject({
  access_token: v.pipe(v.string(), v.minLength(1), v.maxLength(16_384)),
  token_type: v.pipe(
    v.string(),
    v.check((type) => type.toLowerCase() === "bearer", "a Bearer token"),
  ),
  expires_in: v.optional(v.pipe(v.number(), v.minValue(0))),
  refresh_token: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(16_384))),
  scope: v.optional(v.string()),
});

const ErrorResponseSchema = v.looseObject({
  error: v.pipe(v.string(), v.regex(/^[\x20-\x7e]{1,64}$/)),
});

export interface ClientSecret {
  /** The client's secret, when it has one. */
  secret: string | undefined;
}

export async function exchangeCode(
  plan: Plan,
  client: ClientSecret,
  code: string,
  verifier: string,
  fetcher?: Fetcher,
  now = Date.now(),
): Promise<TokenSet> {
  const params = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    redirect_uri: plan.redirectUri,
    resource: plan.resource,
  });
  return tokenRequest(plan, client, params, fetcher, now);
}

/** New tokens for a refresh token; the old refresh token is kept when none is issued. */
export async function refreshTokens(
  plan: Plan,
  client: ClientSecret,
  refreshToken: string,
  fetcher?: Fetcher,
  now = Date.now(),
): Promise<TokenSet> {
  const params = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    resource: plan.resource,
  });
  const tokens = await tokenRequest(plan, client, params, fetcher, now);
  return { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
}

/** Revokes a token set at its server, refresh token first (best effort, as revokeToken). */
export async function revokeTokens(
  plan: Plan,
  client: ClientSecret,
  tokens: { accessToken: string; refreshToken?: string | undefined },
  fetcher?: Fetcher,
): Promise<void> {
  if (tokens.refreshToken) {
    await revokeToken(plan, client, tokens.refreshToken, "refresh_token", fetcher);
  }
  await revokeToken(plan, client, tokens.accessToken, "access_token", fetcher);
}

/** RFC 7009 revocation, best effort (false when the server has no endpoint or refused). */
export async function revokeToken(
  plan: Plan,
  client: ClientSecret,
  token: string,
  hint: "refresh_token" | "access_token",
  fetcher?: Fetcher,
): Promise<boolean> {
  if (!plan.revocationEndpoint) return false;
  const params = new URLSearchParams({ token, token_type_hint: hint });
  try {
    const response = await boundedFetch(
      plan.revocationEndpoint,
      { method: "POST", headers: clientHeaders(plan, client, params), body: params },
      fetcher,
    );
    return response.ok;
  } catch {
    return false;
  }
}

async function tokenRequest(
  plan: Plan,
  client: ClientSecret,
  params: URLSearchParams,
  fetcher: Fetcher | undefined,
  now: number,
): Promise<TokenSet> {
  if (plan.scope && params.get("grant_type") === "refresh_token") params.set("scope", plan.scope);
  let response: { status: number; ok: boolean; text: string };
  try {
    response = await boundedFetch(
      plan.tokenEndpoint,
      { method: "POST", headers: clientHeaders(plan, client, params), body: params },
      fetcher,
    );
  } catch {
    throw new TokenEndpointError("unavailable");
  }
  const body = parseJson(response.text);
  if (!response.ok) {
    const error = v.safeParse(ErrorResponseSchema, body);
    throw new TokenEndpointError(
      error.success
        ? error.output.error
        : response.status >= 500
          ? "unavailable"
          : "invalid_response",
    );
  }
  const parsed = v.safeParse(TokenResponseSchema, body);
  if (!parsed.success) throw new TokenEndpointError("invalid_response");
  const tokens = parsed.output;
  return {
    accessToken: tokens.access_token,
    ...(tokens.refresh_token ? { refreshToken: tokens.refresh_token } : {}),
    ...(tokens.expires_in !== undefined ? { expiresAt: now + tokens.expires_in * 1000 } : {}),
    ...(tokens.scope ? { scope: tokens.scope } : {}),
  };
}

function clientHeaders(
  plan: Plan,
  client: ClientSecret,
  params: URLSearchParams,
): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    Accept: "application/json",
  };
  if (plan.authMethod === "client_secret_basic" && client.secret !== undefined) {
    // RFC 6749 section 2.3.1: both parts form-urlencoded before Basic encoding.
    const user = encodeURIComponent(plan.clientId);
    const pass = encodeURIComponent(client.secret);
    headers.Authorization = `Basic ${btoa(`${user}:${pass}`)}`;
  } else {
    params.set("client_id", plan.clientId);
    if (plan.authMethod === "client_secret_post" && client.secret !== undefined) {
      params.set("client_secret", client.secret);
    }
  }
  return headers;
}

function parseJson(text: string): unknown {
  if (text.length > MAX_TOKEN_RESPONSE_CHARS) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
