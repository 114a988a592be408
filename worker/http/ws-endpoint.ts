/**
 * `/ws`: a WebSocket upgrade that creates a session, or re-attaches to one
 * with `?session=<id>`. The upgrade is forwarded to the session object, which
 * accepts the socket through the Hibernation API (Hono's `upgradeWebSocket`
 * helper would accept it without hibernation).
 */
import { newSessionId, parseSessionId, unknownSession } from "../session/session-ids";
import { INTERNAL_WS_ATTACH, INTERNAL_WS_CREATE } from "../session/session-object";
import type { AppContext } from "./app-env";
import { internalUpgrade, reserveSessionSlot } from "./session-forwarding";

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
  const namespace = c.env.SESSIONS;
  if (sessionParam === undefined) {
    const id = newSessionId(namespace);
    const refused = await reserveSessionSlot(c, id);
    if (refused) return refused;
    return namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_CREATE));
  }
  const id = parseSessionId(namespace, sessionParam);
  if (!id) return unknownSession();
  return namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_ATTACH));
}
