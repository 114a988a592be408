/**
 * How the edge reaches a session object: minting a session (after reserving
 * the principal's slot), forwarding a Streamable HTTP operation or a WebSocket
 * upgrade with the principal set by us (never by the client) and no
 * credentials, and the session-era header checks every session route shares.
 */
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import { isSessionEraVersion } from "../../shared/protocol";
import { maxSessionsPerPrincipal } from "../config/vars";
import type { HttpOp } from "../session/http-exchanges";
import { parseSessionId, unknownSession } from "../session/session-ids";
import { INTERNAL_HTTP, PRINCIPAL_HEADER, RECEIVED_HEADER } from "../session/session-object";
import type { AppContext } from "./app-env";

/** MAX_SESSIONS_PER_PRINCIPAL for authenticated principals (open loopback mode has one user). */
export async function reserveSessionSlot(
  c: AppContext,
  id: DurableObjectId,
): Promise<Response | null> {
  if (!c.get("authenticated")) return null;
  const limit = maxSessionsPerPrincipal(c.env);
  const principals = c.env.PRINCIPALS;
  const ok = await principals
    .get(principals.idFromName(c.get("principal")))
    .reserve(id.toString(), limit);
  if (ok) return null;
  return c.text(
    `Too Many Requests: this principal already holds ${limit} live sessions; end one (DELETE /mcp) or let one expire\n`,
    429,
  );
}

/** One Streamable HTTP operation on the session object `id`. */
export function forward(
  c: AppContext,
  id: DurableObjectId,
  op: HttpOp,
  body: string,
): Promise<Response> {
  return c.env.SESSIONS.get(id).fetch(`${INTERNAL_HTTP}${op}`, {
    method: "POST",
    body,
    headers: { [PRINCIPAL_HEADER]: c.get("principal") },
  });
}

/**
 * The upgrade as the object sees it: the principal and the `received` count set
 * by us (never by the client), no credentials.
 */
export function internalUpgrade(
  c: AppContext,
  url: string,
  received: number | null = null,
): Request {
  const request = new Request(url, c.req.raw);
  request.headers.set(PRINCIPAL_HEADER, c.get("principal"));
  request.headers.delete("Authorization");
  request.headers.delete(RECEIVED_HEADER);
  if (received !== null) request.headers.set(RECEIVED_HEADER, String(received));
  return request;
}

/** The session named by Mcp-Session-Id, or the response refusing the request. */
export function sessionFromHeader(c: AppContext): DurableObjectId | Response {
  const header = c.req.header(SESSION_ID_HEADER);
  if (header === undefined) {
    return c.text(`Bad Request: ${SESSION_ID_HEADER} header required\n`, 400);
  }
  return parseSessionId(c.env.SESSIONS, header) ?? unknownSession();
}

/** A session route refuses an MCP-Protocol-Version that is not a session-era revision. */
export function checkSessionEraVersion(c: AppContext): Response | null {
  const version = c.req.header(PROTOCOL_VERSION_HEADER);
  if (version === undefined || isSessionEraVersion(version.trim())) return null;
  return c.text(`Bad Request: unsupported ${PROTOCOL_VERSION_HEADER} "${version}"\n`, 400);
}
