/**
 * The Worker's HTTP edge (Hono). Routes validate the edge and forward the raw
 * request to the session object; no protocol logic lives here. Hono's
 * `upgradeWebSocket` helper is not used: it would accept the socket without
 * hibernation.
 */
import { Hono } from "hono";
import { newSessionId, parseSessionId } from "./session-ids";
import { INTERNAL_WS_ATTACH, INTERNAL_WS_CREATE } from "./session-object";
import { registryFor } from "./tools/registry";

export const app = new Hono<{ Bindings: Env }>();

app.get("/healthz", (c) => {
  // Validates TOOLSETS as a side effect, so a bad config shows here, not at the first call.
  const registry = registryFor(c.env.TOOLSETS);
  return c.json({
    status: "ok",
    service: "dormouse",
    toolsets: registry.toolsets.map((t) => t.name),
  });
});

app.all("/ws", async (c) => {
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
    return namespace.get(id).fetch(new Request(INTERNAL_WS_CREATE, c.req.raw));
  }
  const id = parseSessionId(namespace, sessionParam);
  if (!id) return c.text("Unknown or expired session\n", 404);
  return namespace.get(id).fetch(new Request(INTERNAL_WS_ATTACH, c.req.raw));
});

app.notFound((c) => c.text("Not found\n", 404));

app.onError((error, c) => {
  console.error(JSON.stringify({ level: "error", event: "router_error", error: String(error) }));
  return c.text("Internal error\n", 500);
});
