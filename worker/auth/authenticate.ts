/**
 * Who is calling. With AUTH_TOKEN_HASHES set, every endpoint but /healthz needs
 * a credential (bearer token, `mcp.auth.<token>` subprotocol entry, or a
 * WebSocket ticket) and a missing or wrong one is a 401 with WWW-Authenticate.
 * Without it, auth is off: the gateway serves everyone as "anonymous" but only
 * on loopback hosts, so a deployed Worker without tokens refuses to serve
 * rather than run open.
 */
import { logEvent } from "../observability/log";
import { ANONYMOUS } from "./anonymous";
import { credentialOf } from "./credentials";
import { oauthConfigFrom, PROTECTED_RESOURCE_PATH, principalForAccessToken } from "./oauth";
import { parseTokenHashes, principalForToken, type TokenTable } from "./tokens";

export type AuthOutcome =
  | { ok: true; principal: string; authenticated: boolean }
  | { ok: false; response: Response };

let memo: { value: string | undefined; table: TokenTable | null } | null = null;
let warnedOpen = false;

function tokenTable(value: string | undefined): TokenTable | null {
  if (!memo || memo.value !== value) memo = { value, table: parseTokenHashes(value) };
  return memo.table;
}

/** Logs once per isolate that auth is off (at start, and again if a request finds it so). */
export function warnIfOpen(env: Env): void {
  if (warnedOpen || env.AUTH_TOKEN_HASHES?.trim() || env.OAUTH_ISSUER?.trim()) return;
  warnedOpen = true;
  logEvent("warn", "auth_off", {
    detail: "AUTH_TOKEN_HASHES and OAUTH_ISSUER unset: serving open, on loopback hosts only",
  });
}

export async function authenticate(
  request: Request,
  env: Env,
  isLoopbackHost: boolean,
): Promise<AuthOutcome> {
  const table = tokenTable(env.AUTH_TOKEN_HASHES);
  const oauth = oauthConfigFrom(env);
  if (!table && !oauth) {
    if (!isLoopbackHost) {
      return {
        ok: false,
        response: new Response(
          "Service Unavailable: authentication is not configured (set AUTH_TOKEN_HASHES); Dormouse serves unauthenticated only on loopback\n",
          { status: 503 },
        ),
      };
    }
    if (!warnedOpen) {
      warnedOpen = true;
      logEvent("warn", "auth_off", {
        detail: "AUTH_TOKEN_HASHES unset: serving open, loopback only",
      });
    }
    return { ok: true, principal: ANONYMOUS, authenticated: false };
  }
  const credential = credentialOf(request);
  const origin = new URL(request.url).origin;
  let principal: string | null = null;
  if (credential.kind === "bearer") {
    if (table) principal = await principalForToken(table, credential.token);
    if (!principal && oauth)
      principal = await principalForAccessToken(oauth, credential.token, origin);
  }
  // Tickets exist for browser WebSocket upgrades only (and can never buy another ticket).
  if (credential.kind === "ticket" && new URL(request.url).pathname === "/ws") {
    principal = await redeemTicket(env, credential.ticket);
  }
  if (principal) return { ok: true, principal, authenticated: true };
  // RFC 6750 section 3; RFC 9728 section 5.1 points OAuth clients at the metadata.
  const error = credential.kind === "none" ? "" : ', error="invalid_token"';
  const metadata = oauth ? `, resource_metadata="${origin}${PROTECTED_RESOURCE_PATH}"` : "";
  return {
    ok: false,
    response: new Response("Unauthorized: a valid bearer token or ticket is required\n", {
      status: 401,
      headers: { "WWW-Authenticate": `Bearer realm="dormouse"${error}${metadata}` },
    }),
  };
}

async function redeemTicket(env: Env, ticket: string): Promise<string | null> {
  if (!/^[0-9a-f]{64}$/.test(ticket)) return null;
  try {
    return await env.TICKETS.get(env.TICKETS.idFromString(ticket)).redeem();
  } catch {
    return null;
  }
}

export async function issueTicket(env: Env, principal: string, ttlMs: number): Promise<string> {
  const id = env.TICKETS.newUniqueId();
  await env.TICKETS.get(id).issue(principal, Date.now() + ttlMs);
  return id.toString();
}
