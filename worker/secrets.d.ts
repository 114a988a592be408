// Worker secrets and optional vars that `wrangler types` cannot see in wrangler.jsonc.
interface Env {
  /** HMAC key for multi-round-trip requestState; set with `wrangler secret put`. */
  REQUEST_STATE_SECRET?: string;
}
interface Env {
  /** Extra hostnames the gateway answers to besides loopback (comma-separated). */
  ALLOWED_HOSTS?: string;
  /** Browser origins allowed besides same-origin and loopback (comma-separated). */
  ALLOWED_ORIGINS?: string;
}
interface Env {
  /** SSE keepalive interval in ms (default and maximum 25000); tests shorten it. */
  SSE_KEEPALIVE_MS?: string;
}
