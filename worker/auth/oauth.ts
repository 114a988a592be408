/**
 * OAuth 2.1 resource server (MCP authorization spec): Dormouse validates access
 * tokens issued by an external authorization server and publishes its
 * protected-resource metadata (RFC 9728) so clients can find that server.
 *
 * Validation uses `jose` (JWT signature against the issuer's JWKS, `iss`,
 * `aud`, `exp`/`nbf`; a token without `exp` is refused), never hand-written crypto. The principal is
 * `oauth:<sub>`, so OAuth users never collide with token-hash principals.
 *
 * Configured by OAUTH_ISSUER (turns it on), OAUTH_AUDIENCE (default: this
 * gateway's `/mcp` URL), OAUTH_JWKS_URL (default: `<issuer>/.well-known/jwks.json`)
 * and OAUTH_REQUIRED_SCOPES (space-separated, optional).
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

export interface OAuthConfig {
  issuer: string;
  audience: string | undefined;
  jwksUrl: string;
  requiredScopes: string[];
}

export const PROTECTED_RESOURCE_PATH = "/.well-known/oauth-protected-resource";

export function oauthConfigFrom(env: Env): OAuthConfig | null {
  const issuer = env.OAUTH_ISSUER?.trim();
  if (!issuer) return null;
  return {
    issuer,
    audience: env.OAUTH_AUDIENCE?.trim() || undefined,
    jwksUrl: env.OAUTH_JWKS_URL?.trim() || `${issuer.replace(/\/$/, "")}/.well-known/jwks.json`,
    requiredScopes: (env.OAUTH_REQUIRED_SCOPES ?? "").split(/\s+/).filter(Boolean),
  };
}

/** The protected-resource metadata document for the gateway at `origin`. */
export function protectedResourceMetadata(
  config: OAuthConfig,
  origin: string,
): Record<string, unknown> {
  return {
    resource: config.audience ?? `${origin}/mcp`,
    authorization_servers: [config.issuer],
    bearer_methods_supported: ["header"],
    ...(config.requiredScopes.length > 0 ? { scopes_supported: config.requiredScopes } : {}),
    resource_name: "Dormouse MCP gateway",
  };
}

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The principal of a valid access token, or null. Never throws. */
export async function principalForAccessToken(
  config: OAuthConfig,
  token: string,
  origin: string,
): Promise<string | null> {
  if (token.split(".").length !== 3) return null;
  let jwks = jwksCache.get(config.jwksUrl);
  if (!jwks) {
    jwks = createRemoteJWKSet(new URL(config.jwksUrl));
    jwksCache.set(config.jwksUrl, jwks);
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, jwks, {
      issuer: config.issuer,
      audience: config.audience ?? `${origin}/mcp`,
      // jose checks exp only when a token has one: a token without it would never expire.
      requiredClaims: ["exp"],
    }));
  } catch {
    return null;
  }
  const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
  if (!config.requiredScopes.every((scope) => scopes.includes(scope))) return null;
  return typeof payload.sub === "string" && payload.sub.length > 0 ? `oauth:${payload.sub}` : null;
}
