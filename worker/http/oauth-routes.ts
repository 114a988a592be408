/**
 * The browser's side of an upstream authorization (upstream-auth/), and a
 * principal's view of its grants:
 *
 *   GET  /oauth/start?flow=<signed>   the confirmation page (names principal and upstream)
 *   POST /oauth/start                 binds the browser (cookie), redirects to the server
 *   GET  /oauth/callback              code + state -> tokens, stored for the principal
 *   GET  /oauth/client-metadata.json  the gateway's Client ID Metadata Document
 *   GET  /oauth/authorizations        (authenticated) the caller's authorized upstreams
 *   DELETE /oauth/authorizations/<n>  (authenticated) revoke one
 *
 * The start link and the state are signed (HMAC under UPSTREAM_TOKEN_KEY),
 * short-lived, and name the principal and the flow; the flow row in the
 * principal's object makes the state single use. The browser that presses
 * Continue gets an HttpOnly cookie whose hash the flow keeps: a callback from
 * any other browser (a leaked or forwarded state) is refused. Nothing here
 * logs or shows a code, a token or a state.
 */
import { checkConfiguration, configuredUpstreams } from "../config/configuration";
import { logEvent } from "../observability/log";
import { confirmPage, outcomePage } from "../upstream-auth/pages";
import {
  clientMetadataDocument,
  OAUTH_CALLBACK_PATH,
  OAUTH_START_PATH,
} from "../upstream-auth/plan";
import { digest, randomToken, Sealer } from "../upstream-auth/sealing";
import type { AppContext } from "./app-env";

const COOKIE_PREFIX = "dormouse_oauth_";
const FLOW_PARAM_MAX_CHARS = 4_096;

interface Signed {
  principal: string;
  flowId: string;
  nonce?: string;
}

async function verified(
  env: Env,
  token: string | undefined,
  kind: "start" | "state",
): Promise<Signed | null> {
  const key = env.UPSTREAM_TOKEN_KEY;
  if (!token || !key || token.length > FLOW_PARAM_MAX_CHARS) return null;
  const payload = await new Sealer(key).verify(token);
  if (
    !payload ||
    payload.k !== kind ||
    typeof payload.p !== "string" ||
    typeof payload.f !== "string"
  )
    return null;
  if (typeof payload.e !== "number" || payload.e <= Date.now()) return null;
  if (kind === "state" && typeof payload.n !== "string") return null;
  return {
    principal: payload.p,
    flowId: payload.f,
    ...(typeof payload.n === "string" ? { nonce: payload.n } : {}),
  };
}

function principalStub(env: Env, principal: string) {
  return env.PRINCIPALS.get(env.PRINCIPALS.idFromName(principal));
}

const EXPIRED =
  "This authorization link has expired or was already used. Start again from your MCP client.";

export async function startPage(c: AppContext): Promise<Response> {
  checkConfiguration(c.env);
  const token = c.req.query("flow");
  const signed = await verified(c.env, token, "start");
  const flow = signed
    ? await principalStub(c.env, signed.principal).describeFlow(signed.principal, signed.flowId)
    : null;
  if (!signed || !flow || !token) return outcomePage(false, "Link expired", EXPIRED);
  return confirmPage({
    principal: signed.principal,
    upstream: flow.upstream,
    serverOrigin: flow.serverOrigin,
    flowToken: token,
    action: OAUTH_START_PATH,
  });
}

export async function startFlow(c: AppContext): Promise<Response> {
  checkConfiguration(c.env);
  const origin = c.req.header("Origin");
  if (origin !== undefined && origin !== new URL(c.env.PUBLIC_URL ?? c.req.url).origin) {
    return outcomePage(
      false,
      "Refused",
      "This form must be sent from the gateway's own page.",
      403,
    );
  }
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const token = typeof form.flow === "string" ? form.flow : undefined;
  const signed = await verified(c.env, token, "start");
  if (!signed) return outcomePage(false, "Link expired", EXPIRED);
  const binder = randomToken(32);
  const started = await principalStub(c.env, signed.principal).startFlow(
    signed.principal,
    signed.flowId,
    await digest(binder),
  );
  if (!started.ok) return outcomePage(false, "Link expired", EXPIRED);
  const secure = new URL(c.env.PUBLIC_URL ?? c.req.url).protocol === "https:" ? "; Secure" : "";
  return new Response(null, {
    status: 303,
    headers: {
      Location: started.authorizationUrl,
      "Cache-Control": "no-store",
      "Referrer-Policy": "no-referrer",
      "Set-Cookie": `${cookieName(signed.flowId)}=${binder}; Path=${OAUTH_CALLBACK_PATH}; Max-Age=900; HttpOnly; SameSite=Lax${secure}`,
    },
  });
}

export async function callback(c: AppContext): Promise<Response> {
  checkConfiguration(c.env);
  const signed = await verified(c.env, c.req.query("state"), "state");
  if (!signed?.nonce) {
    logEvent("warn", "oauth_callback_refused", { reason: "invalid_state" });
    return outcomePage(
      false,
      "Authorization refused",
      "The authorization response carried no valid state.",
    );
  }
  const binder = cookieValue(c.req.header("Cookie"), cookieName(signed.flowId));
  const code = c.req.query("code");
  const error = c.req.query("error");
  const response = code
    ? { code, iss: c.req.query("iss") ?? null }
    : { error: /^[\x21-\x7e]{1,64}$/.test(error ?? "") ? (error as string) : "invalid_request" };
  const outcome = await principalStub(c.env, signed.principal).completeFlow(
    signed.principal,
    signed.flowId,
    signed.nonce,
    binder ? await digest(binder) : null,
    response,
  );
  const clear = {
    "Set-Cookie": `${cookieName(signed.flowId)}=; Path=${OAUTH_CALLBACK_PATH}; Max-Age=0; HttpOnly; SameSite=Lax`,
  };
  if (outcome.ok) {
    const page = outcomePage(
      true,
      `Authorized ${outcome.upstream}`,
      "You can close this window and return to your MCP client.",
    );
    return withHeaders(page, clear);
  }
  return withHeaders(
    outcomePage(false, "Authorization refused", reasonText(outcome.reason)),
    clear,
  );
}

export function clientMetadata(c: AppContext): Response {
  const upstreams = configuredUpstreams(c.env);
  if (!c.env.PUBLIC_URL || !upstreams.some((u) => u.auth?.type === "oauth")) {
    return c.text("Not found\n", 404);
  }
  return c.json(clientMetadataDocument(c.env.PUBLIC_URL), 200, { "Cache-Control": "max-age=300" });
}

export async function listAuthorizations(c: AppContext): Promise<Response> {
  const principal = c.get("principal");
  const authorizations = await principalStub(c.env, principal).authorizations(principal);
  const oauth = configuredUpstreams(c.env)
    .filter((u) => u.auth?.type === "oauth")
    .map((u) => u.name);
  return c.json({ principal, upstreams: oauth, authorizations }, 200, {
    "Cache-Control": "no-store",
  });
}

export async function revokeAuthorization(c: AppContext): Promise<Response> {
  const principal = c.get("principal");
  const name = c.req.param("upstream") ?? "";
  const revoked = await principalStub(c.env, principal).revoke(principal, name);
  return revoked
    ? new Response(null, { status: 204 })
    : c.text("Not found: no such authorization\n", 404);
}

function cookieName(flowId: string): string {
  return COOKIE_PREFIX + flowId.replace(/[^A-Za-z0-9]/g, "");
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

function reasonText(reason: string): string {
  if (reason === "other_browser")
    return "This authorization was started in another browser. Start again from your MCP client.";
  if (reason === "declined") return "The authorization was declined.";
  if (reason === "expired_state" || reason === "unknown_or_used_state") return EXPIRED;
  if (reason === "issuer_mismatch")
    return "The response did not come from the expected authorization server.";
  return "The authorization server did not grant access. Start again from your MCP client.";
}
