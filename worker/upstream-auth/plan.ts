/**
 * Everything the gateway needs to run one upstream's authorization code flow
 * and keep its tokens fresh, decided once per flow (discovery + client
 * identity) and kept with the flow and then the grant, sealed: the endpoints,
 * the client the gateway is at that authorization server, the RFC 8707
 * resource and the scope.
 */
import * as v from "valibot";

export const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;

export const PlanSchema = v.object({
  upstream: v.string(),
  issuer: v.string(),
  authorizationEndpoint: v.string(),
  tokenEndpoint: v.string(),
  revocationEndpoint: v.optional(v.string()),
  clientId: v.string(),
  /** A secret issued by dynamic registration; a pre-registered client's is read from env by name. */
  registeredSecret: v.optional(v.string()),
  /** The Worker secret naming a pre-registered client's secret. */
  secretName: v.optional(v.string()),
  authMethod: v.picklist(AUTH_METHODS),
  resource: v.string(),
  scope: v.optional(v.string()),
  /** The server sends `iss` with its authorization response (RFC 9207): then it must match. */
  issResponse: v.boolean(),
  redirectUri: v.string(),
});
export type Plan = v.InferOutput<typeof PlanSchema>;

export const TokenSetSchema = v.object({
  accessToken: v.string(),
  refreshToken: v.optional(v.string()),
  /** Epoch ms; absent when the server did not say. */
  expiresAt: v.optional(v.number()),
  scope: v.optional(v.string()),
});
export type TokenSet = v.InferOutput<typeof TokenSetSchema>;

export const GrantSchema = v.object({
  plan: PlanSchema,
  tokens: TokenSetSchema,
  grantedAt: v.number(),
});
export type Grant = v.InferOutput<typeof GrantSchema>;

export const FlowSecretsSchema = v.object({
  plan: PlanSchema,
  /** PKCE verifier, set when the browser starts the flow. */
  verifier: v.optional(v.string()),
});
export type FlowSecrets = v.InferOutput<typeof FlowSecretsSchema>;

/** The gateway's OAuth paths under PUBLIC_URL. */
export const OAUTH_START_PATH = "/oauth/start";
export const OAUTH_CALLBACK_PATH = "/oauth/callback";
export const CLIENT_METADATA_PATH = "/oauth/client-metadata.json";
export const AUTHORIZATIONS_PATH = "/oauth/authorizations";

export function redirectUriFor(publicUrl: string): string {
  return new URL(OAUTH_CALLBACK_PATH, publicUrl).toString();
}

/** The Client ID Metadata Document (draft-ietf-oauth-client-id-metadata-document) the gateway serves. */
export function clientMetadataDocument(publicUrl: string): Record<string, unknown> {
  return {
    client_id: new URL(CLIENT_METADATA_PATH, publicUrl).toString(),
    client_name: "Dormouse MCP gateway",
    client_uri: new URL("/", publicUrl).toString(),
    redirect_uris: [redirectUriFor(publicUrl)],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
}
