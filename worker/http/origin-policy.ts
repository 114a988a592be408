/**
 * Host and Origin validation (DNS-rebinding and cross-site protection) and
 * CORS, for every endpoint, WebSocket upgrades included.
 *
 * - Host: loopback names (localhost, *.localhost, 127.0.0.0/8, [::1]) are always
 *   allowed; anything else must be listed in ALLOWED_HOSTS (comma-separated
 *   hostnames, e.g. "dormouse.example.workers.dev"). A rebinding attack reaches
 *   the gateway under the attacker's name, so it fails here.
 * - Origin (sent by browsers): allowed when absent, same-origin, a loopback
 *   origin, or listed in ALLOWED_ORIGINS (exact "scheme://host[:port]").
 * - CORS headers only for allowed origins, echoing the origin, never "*".
 */
export interface OriginPolicy {
  allowedHosts: Set<string>;
  allowedOrigins: Set<string>;
}

export type OriginVerdict =
  | {
      ok: true;
      corsOrigin: string | null;
      /** Whether the request came in under a loopback host name (auth-off mode serves only those). */
      loopback: boolean;
    }
  | { ok: false; reason: string };

let memo: { hosts: string | undefined; origins: string | undefined; policy: OriginPolicy } | null =
  null;

/** The policy for these vars, built once per isolate (the vars are compared, not re-split). */
export function originPolicyFrom(env: {
  ALLOWED_HOSTS?: string;
  ALLOWED_ORIGINS?: string;
}): OriginPolicy {
  if (memo && memo.hosts === env.ALLOWED_HOSTS && memo.origins === env.ALLOWED_ORIGINS) {
    return memo.policy;
  }
  const policy = {
    allowedHosts: new Set(splitList(env.ALLOWED_HOSTS).map((host) => host.toLowerCase())),
    allowedOrigins: new Set(splitList(env.ALLOWED_ORIGINS).map((origin) => origin.toLowerCase())),
  };
  memo = { hosts: env.ALLOWED_HOSTS, origins: env.ALLOWED_ORIGINS, policy };
  return policy;
}

/** The last verdict, by its inputs: a client's requests repeat the same Host and Origin. */
let lastVerdict: {
  policy: OriginPolicy;
  host: string;
  origin: string | null;
  verdict: OriginVerdict;
} | null = null;

export function checkOrigin(request: Request, policy: OriginPolicy): OriginVerdict {
  const host = request.headers.get("Host") ?? new URL(request.url).host;
  const origin = request.headers.get("Origin");
  const last = lastVerdict;
  if (last && last.policy === policy && last.host === host && last.origin === origin) {
    return last.verdict;
  }
  const verdict = judge(host, origin, policy);
  lastVerdict = { policy, host, origin, verdict };
  return verdict;
}

function judge(host: string, origin: string | null, policy: OriginPolicy): OriginVerdict {
  const hostname = hostnameOf(host);
  const loopback = hostname !== null && isLoopback(hostname);
  if (hostname === null || (!loopback && !policy.allowedHosts.has(hostname))) {
    return { ok: false, reason: `Host "${host}" is not allowed (set ALLOWED_HOSTS to serve it)` };
  }
  if (origin === null) return { ok: true, corsOrigin: null, loopback };
  const normalised = origin.toLowerCase();
  let originUrl: URL;
  try {
    originUrl = new URL(normalised);
  } catch {
    return { ok: false, reason: `Origin "${origin}" is not allowed` };
  }
  const sameOrigin = originUrl.host === host.toLowerCase();
  if (sameOrigin || isLoopback(originUrl.hostname) || policy.allowedOrigins.has(originUrl.origin)) {
    return { ok: true, corsOrigin: origin, loopback };
  }
  return {
    ok: false,
    reason: `Origin "${origin}" is not allowed (set ALLOWED_ORIGINS to serve it)`,
  };
}

export const CORS_ALLOW_HEADERS = [
  "Content-Type",
  "Accept",
  "Authorization",
  "Mcp-Session-Id",
  "MCP-Protocol-Version",
  "Mcp-Method",
  "Mcp-Name",
  "Last-Event-ID",
].join(", ");

/** SEP-2243 parameter headers a preflight may ask for; their names depend on the tools, so they are matched. */
const PARAM_HEADER = /^mcp-param-[a-z0-9-]{1,64}$/i;
const MAX_PARAM_HEADERS = 32;

/**
 * CORS headers for an allowed origin. `requested` (a preflight's
 * Access-Control-Request-Headers) adds the `Mcp-Param-*` headers it names
 * (SEP-2243): a fixed list cannot name them, and a browser client must be
 * allowed to send them. Nothing else a preflight asks for is added. A browser
 * client may read the session headers, Retry-After (a 429's wait) and
 * WWW-Authenticate (a 401's resource metadata, for OAuth discovery).
 */
export function corsHeaders(origin: string, requested?: string | null): Record<string, string> {
  const params = (requested ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => PARAM_HEADER.test(name))
    .slice(0, MAX_PARAM_HEADERS);
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers":
      params.length > 0 ? `${CORS_ALLOW_HEADERS}, ${params.join(", ")}` : CORS_ALLOW_HEADERS,
    "Access-Control-Expose-Headers":
      "Mcp-Session-Id, MCP-Protocol-Version, Retry-After, WWW-Authenticate",
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  };
}

/** A plain `name[:port]` Host, read without a URL parse (the common case). */
const SIMPLE_HOST = /^([a-z0-9.-]+)(?::[0-9]{1,5})?$/i;

function hostnameOf(host: string): string | null {
  const simple = SIMPLE_HOST.exec(host);
  if (simple?.[1]) return simple[1].toLowerCase();
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    hostname === "[::1]" ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  );
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}
