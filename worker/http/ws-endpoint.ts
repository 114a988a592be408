/**
 * `/ws`: a WebSocket upgrade that creates a session, or re-attaches to one
 * with `?session=<id>` (and `&received=<n>`: how many numbered messages the
 * client has received, so the session replays what it missed). The upgrade is
 * forwarded to the session object, which accepts the socket through the
 * Hibernation API (Hono's `upgradeWebSocket` helper would accept it without
 * hibernation). A malformed `received` is refused here, before any upgrade.
 */

import { RECEIVED_PARAM } from "../../shared/protocol-constants";
import { newSessionId, parseSessionId, unknownSession } from "../session/session-ids";
import { INTERNAL_WS_ATTACH, INTERNAL_WS_CREATE } from "../session/session-object";
import type { AppContext } from "./app-env";
import { createSession, internalUpgrade } from "./session-forwarding";

export async function openSocket(c: AppContext): Promise<Response> {
  if (c.req.method !== "GET") {
    return c.text("Method not allowed: open a WebSocket with GET\n", 405, { Allow: "GET" });
  }
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.text("Upgrade required: connect with a WebSocket (subprotocol mcp)\n", 426, {
      Upgrade: "websocket",
    });
  }
  const sessionParam = c.req.query("session");
  const receivedParam = c.req.query(RECEIVED_PARAM);
  const received = receivedParam === undefined ? null : parseReceived(receivedParam);
  if (received === "invalid" || (received !== null && sessionParam === undefined)) {
    return c.text(
      `Bad Request: ${RECEIVED_PARAM} must be a non-negative integer, given with session=<id> when re-attaching (how many messages this client has received on the session's WebSockets)\n`,
      400,
    );
  }
  const namespace = c.env.SESSIONS;
  if (sessionParam === undefined) {
    const id = newSessionId(namespace);
    return createSession(c, id, () =>
      namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_CREATE)),
    );
  }
  const id = parseSessionId(namespace, sessionParam);
  if (!id) return unknownSession();
  return namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_ATTACH, received));
}

function parseReceived(value: string): number | "invalid" {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) return "invalid";
  const count = Number(value);
  return Number.isSafeInteger(count) ? count : "invalid";
}
