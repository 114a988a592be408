// The Worker's vars and secrets that `wrangler types` cannot see in wrangler.jsonc
// (they are set with `--var`, `.dev.vars` or `wrangler secret put`). Bindings and
// the vars wrangler.jsonc declares are generated into wrangler-env.d.ts.
interface Env {
  /** HMAC key for multi-round-trip requestState; set with `wrangler secret put`. */
  REQUEST_STATE_SECRET?: string;
  /** Extra hostnames the gateway answers to besides loopback (comma-separated). */
  ALLOWED_HOSTS?: string;
  /** Browser origins allowed besides same-origin and loopback (comma-separated). */
  ALLOWED_ORIGINS?: string;
  /** SSE keepalive interval in ms (default and maximum 25000); tests shorten it. */
  SSE_KEEPALIVE_MS?: string;
  /** Least severity of the gateway's own log lines: debug, info (default), warn or error. */
  LOG_LEVEL?: string;
  /** Per-session message rate limit (messages/s; "0" turns it off) and burst. */
  RATE_LIMIT_PER_SECOND?: string;
  RATE_LIMIT_BURST?: string;
  /** Idle time in ms after which a session expires and its storage is deleted. */
  SESSION_IDLE_TTL_MS?: string;
  /** `principal:sha256hex` pairs, comma-separated; unset means auth is off (loopback only). */
  AUTH_TOKEN_HASHES?: string;
  /** Live sessions per authenticated principal (default 1000). */
  MAX_SESSIONS_PER_PRINCIPAL?: string;
  /** Stored tasks (any status, until their TTL) per principal, anonymous included (default 1000). */
  MAX_TASKS_PER_PRINCIPAL?: string;
  /** OAuth 2.1 resource server: the authorization server's issuer URL (turns OAuth on). */
  OAUTH_ISSUER?: string;
  /** Expected `aud` of access tokens (default: this gateway's /mcp URL). */
  OAUTH_AUDIENCE?: string;
  /** JWKS URL of the issuer (default: <issuer>/.well-known/jwks.json). */
  OAUTH_JWKS_URL?: string;
  /** Space-separated scopes every access token must carry. */
  OAUTH_REQUIRED_SCOPES?: string;
  /** Longest a request may run before it is aborted with -32001 (ms, at most 120000). */
  REQUEST_DEADLINE_MS?: string;
  /** Upstream MCP servers to federate: a JSON array (or a string holding one); see worker/config/upstreams.ts. */
  UPSTREAMS?: unknown;
  /** Longest the live SSE reply of a running call may stay open (ms). */
  REPLY_STREAM_MAX_MS?: string;
  /** Stateless 2026-07-28 requests per principal and isolate: rate ("0" off), burst, in flight. */
  STATELESS_RATE_LIMIT_PER_SECOND?: string;
  STATELESS_RATE_LIMIT_BURST?: string;
  STATELESS_MAX_IN_FLIGHT?: string;
  /** What a session may send toward one WebSocket: characters/s ("0" off) and burst. */
  OUTBOUND_CHARS_PER_SECOND?: string;
  OUTBOUND_BURST_CHARS?: string;
  /**
   * Key material (at least 32 characters) that upstream OAuth tokens are encrypted under
   * (AES-GCM) and authorization states are signed with (HMAC); a Worker secret. Required
   * when an UPSTREAMS entry has `auth: { type: "oauth" }`.
   */
  UPSTREAM_TOKEN_KEY?: string;
  /** This gateway's origin as browsers reach it (`https://mcp.example.com`); OAuth callbacks return here. */
  PUBLIC_URL?: string;
  /** Which principals may use which tools, prompts and resources: see worker/config/access-policy.ts. */
  ACCESS_POLICY?: unknown;
  /** "off" stops keeping the WebSocket replay store (benchmarks measure its cost); default on. */
  REPLAY?: string;
}
