/**
 * Finding an upstream's authorization server the way MCP clients do
 * (MCP 2025-11-25, Authorization: "Authorization Server Discovery"; the v1 SDK's
 * client/auth.ts follows the same order):
 *
 * 1. Protected-resource metadata (RFC 9728): the `resource_metadata` URL of the
 *    upstream's 401 `WWW-Authenticate`, else `/.well-known/oauth-protected-resource`
 *    with the upstream's path, else at the root. Its `resource` must name the
 *    upstream (same origin, the upstream's path under it): metadata that points
 *    at another resource is refused, so a token for that resource is never asked for.
 * 2. Authorization-server metadata (RFC 8414, then OpenID Connect Discovery) of
 *    its first `authorization_servers` entry, whose `issuer` must equal that URL
 *    (RFC 8414 section 3.3). It must offer the code flow and PKCE S256: a server
 *    that does not list S256 is refused (the MCP spec: clients MUST refuse).
 * 3. Scopes: the upstream's configured `scopes`, else the challenge's `scope`,
 *    else the metadata's `scopes_supported` (SEP-835's order after the config).
 *
 * Every fetch is bounded in time and size; failures are AuthorizationFailure
 * with a reason safe to show a client (no URLs, no bodies).
 */
import * as v from "valibot";
import type { Upstream } from "../config/upstreams";
import { boundedFetch, type Fetcher } from "./bounded-fetch";

/** Discovery documents fetched per upstream, and for how long a result is reused. */
export const DISCOVERY_TTL_MS = 10 * 60_000;
const MAX_METADATA_BYTES = 64 * 1024;

export class AuthorizationFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "AuthorizationFailure";
  }
}

const ResourceMetadataSchema = v.looseObject({
  resource: v.pipe(v.string(), v.url()),
  authorization_servers: v.optional(v.array(v.pipe(v.string(), v.url()))),
  scopes_supported: v.optional(v.array(v.string())),
});

const ServerMetadataSchema = v.looseObject({
  issuer: v.pipe(v.string(), v.url()),
  authorization_endpoint: v.pipe(v.string(), v.url()),
  token_endpoint: v.pipe(v.string(), v.url()),
  registration_endpoint: v.optional(v.pipe(v.string(), v.url())),
  revocation_endpoint: v.optional(v.pipe(v.string(), v.url())),
  response_types_supported: v.optional(v.array(v.string())),
  code_challenge_methods_supported: v.optional(v.array(v.string())),
  token_endpoint_auth_methods_supported: v.optional(v.array(v.string())),
  client_id_metadata_document_supported: v.optional(v.boolean()),
  authorization_response_iss_parameter_supported: v.optional(v.boolean()),
});
export type ServerMetadata = v.InferOutput<typeof ServerMetadataSchema>;

export interface Discovered {
  issuer: string;
  server: ServerMetadata;
  /** The RFC 8707 `resource` to ask tokens for: the metadata's, verbatim. */
  resource: string;
  scope: string | undefined;
}

const cache = new Map<string, { at: number; discovered: Discovered }>();

/** The upstream's authorization server, from its 401 challenge; cached per isolate. */
export async function discover(
  upstream: Upstream,
  challenge: string | null,
  fetcher?: Fetcher,
  now = Date.now(),
): Promise<Discovered> {
  const key = `${upstream.name}\u0000${upstream.url}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < DISCOVERY_TTL_MS) return hit.discovered;
  const discovered = await discoverNow(upstream, parseChallenge(challenge), fetcher);
  if (cache.size >= 64) cache.clear();
  cache.set(key, { at: now, discovered });
  return discovered;
}

/** Forgets what was discovered for `upstream` (its metadata may have changed). */
export function forgetDiscovery(upstream: Upstream): void {
  cache.delete(`${upstream.name}\u0000${upstream.url}`);
}

async function discoverNow(
  upstream: Upstream,
  challenge: Record<string, string>,
  fetcher: Fetcher | undefined,
): Promise<Discovered> {
  const resourceMetadata = await fetchResourceMetadata(upstream.url, challenge, fetcher);
  if (!resourceAllowed(upstream.url, resourceMetadata.resource)) {
    throw new AuthorizationFailure(
      "its protected-resource metadata names a different resource than the configured upstream",
    );
  }
  const issuer = resourceMetadata.authorization_servers?.[0];
  if (!issuer) {
    throw new AuthorizationFailure("its protected-resource metadata names no authorization server");
  }
  const server = await fetchServerMetadata(issuer, fetcher);
  if (stripSlash(server.issuer) !== stripSlash(issuer)) {
    throw new AuthorizationFailure(
      "its authorization server's metadata names another issuer (RFC 8414 section 3.3)",
    );
  }
  if (server.response_types_supported && !server.response_types_supported.includes("code")) {
    throw new AuthorizationFailure("its authorization server does not offer the code flow");
  }
  if (!server.code_challenge_methods_supported?.includes("S256")) {
    throw new AuthorizationFailure("its authorization server does not advertise PKCE with S256");
  }
  const configured = upstream.auth?.scopes ?? [];
  const scope =
    configured.length > 0
      ? configured.join(" ")
      : (challenge.scope ?? resourceMetadata.scopes_supported?.join(" ") ?? undefined);
  return { issuer: server.issuer, server, resource: resourceMetadata.resource, scope };
}

async function fetchResourceMetadata(
  upstreamUrl: string,
  challenge: Record<string, string>,
  fetcher: Fetcher | undefined,
): Promise<v.InferOutput<typeof ResourceMetadataSchema>> {
  const url = new URL(upstreamUrl);
  const path = url.pathname.replace(/\/$/, "");
  const candidates = challenge.resource_metadata
    ? [challenge.resource_metadata]
    : [
        ...(path ? [`${url.origin}/.well-known/oauth-protected-resource${path}`] : []),
        `${url.origin}/.well-known/oauth-protected-resource`,
      ];
  for (const candidate of candidates) {
    const document = await fetchJson(candidate, fetcher);
    if (document === null) continue;
    const parsed = v.safeParse(ResourceMetadataSchema, document);
    if (!parsed.success)
      throw new AuthorizationFailure("its protected-resource metadata is invalid");
    return parsed.output;
  }
  throw new AuthorizationFailure("it publishes no protected-resource metadata (RFC 9728)");
}

async function fetchServerMetadata(
  issuer: string,
  fetcher: Fetcher | undefined,
): Promise<ServerMetadata> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, "");
  const candidates = path
    ? [
        `${url.origin}/.well-known/oauth-authorization-server${path}`,
        `${url.origin}/.well-known/openid-configuration${path}`,
        `${url.origin}${path}/.well-known/openid-configuration`,
      ]
    : [
        `${url.origin}/.well-known/oauth-authorization-server`,
        `${url.origin}/.well-known/openid-configuration`,
      ];
  for (const candidate of candidates) {
    const document = await fetchJson(candidate, fetcher);
    if (document === null) continue;
    const parsed = v.safeParse(ServerMetadataSchema, document);
    if (!parsed.success) {
      throw new AuthorizationFailure("its authorization server's metadata is invalid");
    }
    return parsed.output;
  }
  throw new AuthorizationFailure("its authorization server publishes no metadata (RFC 8414)");
}

/** A JSON document, null for a 4xx (try the next candidate); anything else fails. */
async function fetchJson(url: string, fetcher: Fetcher | undefined): Promise<unknown> {
  let response: { status: number; ok: boolean; text: string };
  try {
    response = await boundedFetch(url, { headers: { Accept: "application/json" } }, fetcher);
  } catch {
    throw new AuthorizationFailure("its authorization metadata could not be fetched");
  }
  if (response.status >= 400 && response.status < 500) return null;
  if (!response.ok) {
    throw new AuthorizationFailure(`its authorization metadata answered HTTP ${response.status}`);
  }
  if (response.text.length > MAX_METADATA_BYTES) {
    throw new AuthorizationFailure("its authorization metadata is too large");
  }
  try {
    return JSON.parse(response.text);
  } catch {
    throw new AuthorizationFailure("its authorization metadata is not JSON");
  }
}

/**
 * RFC 9728 section 3.3 / the SDK's checkResourceAllowed: the metadata's
 * resource must have the upstream's origin, and the upstream's path must be
 * that resource's path or lie under it.
 */
export function resourceAllowed(upstreamUrl: string, resource: string): boolean {
  const requested = new URL(upstreamUrl);
  const configured = new URL(resource);
  if (requested.origin !== configured.origin) return false;
  const withSlash = (path: string) => (path.endsWith("/") ? path : `${path}/`);
  return withSlash(requested.pathname).startsWith(withSlash(configured.pathname));
}

/** The auth-params of a `Bearer` challenge (RFC 6750 section 3), lower-cased names. */
export function parseChallenge(header: string | null): Record<string, string> {
  const params: Record<string, string> = {};
  if (!header || !/^\s*bearer\b/i.test(header)) return params;
  const pattern = /([a-zA-Z_][a-zA-Z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const match of header.matchAll(pattern)) {
    const name = match[1]?.toLowerCase();
    if (name) params[name] = (match[2] ?? match[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return params;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
