/**
 * The bare-object floor: one SQLite-backed Durable Object per WebSocket, accepted
 * through the Hibernation API, echoing each text frame verbatim. Nothing else:
 * no storage writes, no parsing, no attachment. What Dormouse adds on top of
 * the runtime is whatever it costs beyond this object in the same run.
 *
 * `GET /ws` (upgrade) opens a socket on a fresh object; `GET /healthz` answers
 * 200 so the benchmark knows the server is up.
 */
import { DurableObject } from "cloudflare:workers";

interface BareEnv {
  ECHO: DurableObjectNamespace<EchoObject>;
}

export class EchoObject extends DurableObject<BareEnv> {
  override async fetch(request: Request): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    const offered = request.headers.get("Sec-WebSocket-Protocol") ?? "";
    const headers = new Headers();
    if (offered.split(",").some((p) => p.trim() === "mcp")) {
      headers.set("Sec-WebSocket-Protocol", "mcp");
    }
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Echoing a reserved code (1005/1006) throws: docs/platform.md, "WebSocket close codes".
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

export default {
  async fetch(request, env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return Response.json({ status: "ok" });
    if (url.pathname !== "/ws" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Not found\n", { status: 404 });
    }
    return env.ECHO.get(env.ECHO.newUniqueId()).fetch(request);
  },
} satisfies ExportedHandler<BareEnv>;
