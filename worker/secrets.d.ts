// Worker secrets and optional vars that `wrangler types` cannot see in wrangler.jsonc.
interface Env {
  /** HMAC key for multi-round-trip requestState; set with `wrangler secret put`. */
  REQUEST_STATE_SECRET?: string;
}
