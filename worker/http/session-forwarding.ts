/**
 * How the edge reaches a session object: minting a session (after reserving
 * the principal's slot), forwarding a Streamable HTTP operation or a WebSocket
 * upgrade with the principal set by us (never by the client) and no
 * credentials, and the session-era header checks every session route shares.
 */
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import { isSessionEraVersion } from "../../shared/protocol";
import type { PrincipalObject } from "../auth/principal-object";
import { maxSessionsPerPrincipal } from "../config/vars";
import type { HttpOp } from "../session/http-exchanges";
import { parseSessionId, unknownSession } from "../session/session-ids";
import { INTERNAL_HTTP, PRINCIPAL_HEADER, RECEIVED_HEADER } from "../session/session-object";
import type { AppContext } from "./app-env";

/**
 * Creates the session `id` with `create` (the forwarded initialize or upgrade),
 * holding one of an authenticated principal's MAX_SESSIONS_PER_PRINCIPAL slots
 * for it (open loopback mode has one user and no slots).
 */
export function createSession(
  c: AppContext,
  id: DurableObjectId,
  create: () => Promise<Response>,
): Promise<Response> {
  if (!c.get("authenticated")) return create();
  return withSessionSlot(
    c.env.PRINCIPALS,
    c.get("principal"),
    id.toString(),
    maxSessionsPerPrincipal(c.env),
    create,
  );
}

/**
 * Reserves the principal's slot for `sessionId`, then runs `create`. The
 * session's object frees the slot when the session ends (its expiry), and a
 * failed initialize frees it there too; a creation that fails before the
 * object could take charge of it (the object threw, or could not be reached:
 * a 5xx or an exception) frees it here, or the slot would stay counted for
 * good. A release for a session whose row was written after all is harmless:
 * the session's own end releases it again (release is idempotent).
 */
export async function withSessionSlot(
  principals: DurableObjectNamespace<PrincipalObject>,
  principal: string,
  sessionId: string,
  limit: number,
  create: () => Promise<Response>,
): Promise<Response> {
  const stub = principals.get(principals.idFromName(principal));
  if (!(await stub.reserve(sessionId, limit))) {
    return new Response(
      `Too Many Requests: this principal already holds ${limit} live sessions; end one (DELETE /mcp) or let one expire\n`,
      { status: 429, headers: { "Content-Type": "text/plain; charset=UTF-8" } },
    );
  }
  let response: Response;
  try {
    response = await create();
  } catch (error) {
    await stub.release(sessionId).catch(() => {});
    throw error;
  }
  if (response.status >= 500) await stub.release(sessionId).catch(() => {});
  return response;
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
