/**
 * The floors: the least a Worker and its Durable Objects can do for each thing
 * Dormouse does, on the same runtime, compatibility date and path (`wrangler
 * dev` or `serve:direct`), so every ratio in BENCHMARKS.md measures Dormouse,
 * not the platform. No parsing, no validation, no logging.
 *
 * - `GET /ws` (upgrade): the bare object. A fresh SQLite-backed object accepts
 *   the socket through the Hibernation API and echoes each text frame.
 * - `GET /ws-jsonrpc` (upgrade): the JSON-RPC floor. A hibernating object
 *   that reads each text frame as JSON and answers a request with a JSON
 *   reply: a `tools/call` with a content block holding its `arguments.text`,
 *   anything else with an empty result; no validation, no state. The least
 *   any MCP server does per message (read it, write an answer), beside the
 *   bare object's echo of the frame unread.
 * - `GET /ws-durable` (upgrade): the fair setup floor. The same, but before
 *   accepting, the object creates the durable record a session needs (a table,
 *   one row, an alarm for its expiry); the client then makes one round trip.
 * - `POST /do/mcp`: the session-era Streamable HTTP floor. The Worker forwards
 *   the request to the object named by its `Mcp-Session-Id`, which answers
 *   with the body it was sent.
 * - `POST /worker/mcp`: the stateless (2026-07-28) floor. The Worker answers
 *   with the body itself; no object.
 * - `POST /worker-jsonrpc/mcp`: the stateless JSON-RPC floor. The Worker
 *   parses the body and answers it as the JSON-RPC floor object answers a
 *   frame; no object.
 * - `GET /healthz`: 200, so the benchmark knows the server is up.
 *
 * Eviction is verified as for Dormouse: each object counts how many times its
 * constructor ran, and answers the message `wakes` (a text frame, or a POST
 * body) with `wakes <n>`. The count lives in a module-level map, not storage,
 * so the floor pays nothing for it: module state outlives an object's
 * eviction (the isolate stays; docs/platform.md), so a rise proves the object
 * was constructed again. Were the isolate itself discarded the count would
 * restart at 1 and the eviction would go uncounted, never counted falsely.
 * The map grows by one small entry per object the benchmark creates.
 */
import { DurableObject } from "cloudflare:workers";

interface FloorEnv {
  ECHO: DurableObjectNamespace<EchoObject>;
  JSON_RPC: DurableObjectNamespace<JsonRpcObject>;
  HTTP_ECHO: DurableObjectNamespace<HttpEchoObject>;
}

const WAKES_QUERY = "wakes";
/** The fair floor's record expires like a session's (shared/limits.ts, DEFAULT_SESSION_IDLE_TTL_MS). */
const RECORD_TTL_MS = 24 * 60 * 60 * 1000;
const JSON_HEADERS = { "Content-Type": "application/json" };

/** Accepts the upgrade through the Hibernation API, with subprotocol `mcp` when offered. */
function acceptUpgrade(ctx: DurableObjectState, request: Request): Response {
  const pair = new WebSocketPair();
  ctx.acceptWebSocket(pair[1]);
  const offered = request.headers.get("Sec-WebSocket-Protocol") ?? "";
  const headers = new Headers();
  if (offered.split(",").some((p) => p.trim() === "mcp")) {
    headers.set("Sec-WebSocket-Protocol", "mcp");
  }
  return new Response(null, { status: 101, webSocket: pair[0], headers });
}

const constructions = new Map<string, number>();

function constructed(ctx: DurableObjectState): number {
  const key = ctx.id.toString();
  const n = (constructions.get(key) ?? 0) + 1;
  constructions.set(key, n);
  return n;
}

export class EchoObject extends DurableObject<FloorEnv> {
  readonly #wakes: number;

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.#wakes = constructed(ctx);
  }

  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/ws-durable") {
      const sql = this.ctx.storage.sql;
      sql.exec("CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, created_at INTEGER)");
      sql.exec("INSERT INTO session VALUES (?, ?)", this.ctx.id.toString(), Date.now());
      await this.ctx.storage.setAlarm(Date.now() + RECORD_TTL_MS);
    }
    return acceptUpgrade(this.ctx, request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message === WAKES_QUERY ? `wakes ${this.#wakes}` : message);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Echoing a reserved code (1005/1006) throws: docs/platform.md, "WebSocket close codes".
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

/** Only what the JSON-RPC floor reads of a frame. */
interface FloorRequest {
  id?: string | number;
  method?: string;
  params?: { arguments?: { text?: unknown } };
}

/**
 * The JSON-RPC floors' whole work: parse, and answer a request (null for a
 * notification): a `tools/call` with its `arguments.text` in a content
 * block, anything else with an empty result.
 */
function answerJsonRpc(body: string): string | null {
  const frame = JSON.parse(body) as FloorRequest;
  if (frame.id === undefined) return null;
  const text = frame.method === "tools/call" ? frame.params?.arguments?.text : undefined;
  const result = typeof text === "string" ? { content: [{ type: "text", text }] } : {};
  return JSON.stringify({ jsonrpc: "2.0", id: frame.id, result });
}

export class JsonRpcObject extends DurableObject<FloorEnv> {
  override async fetch(request: Request): Promise<Response> {
    return acceptUpgrade(this.ctx, request);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return;
    const reply = answerJsonRpc(message);
    if (reply !== null) ws.send(reply);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  }
}

export class HttpEchoObject extends DurableObject<FloorEnv> {
  readonly #wakes: number;

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.#wakes = constructed(ctx);
  }

  override async fetch(request: Request): Promise<Response> {
    const body = await request.text();
    if (body === WAKES_QUERY) return new Response(`wakes ${this.#wakes}`);
    return new Response(body, { headers: JSON_HEADERS });
  }
}

export default {
  async fetch(request, env): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === "POST") {
      if (path === "/worker/mcp")
        return new Response(await request.text(), { headers: JSON_HEADERS });
      if (path === "/worker-jsonrpc/mcp") {
        const reply = answerJsonRpc(await request.text());
        return reply === null
          ? new Response(null, { status: 202 })
          : new Response(reply, { headers: JSON_HEADERS });
      }
      const session = request.headers.get("Mcp-Session-Id");
      if (path === "/do/mcp" && session) return env.HTTP_ECHO.getByName(session).fetch(request);
    } else if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") {
      if (path === "/ws" || path === "/ws-durable")
        return env.ECHO.get(env.ECHO.newUniqueId()).fetch(request);
      if (path === "/ws-jsonrpc")
        return env.JSON_RPC.get(env.JSON_RPC.newUniqueId()).fetch(request);
    } else if (path === "/healthz") {
      return Response.json({ status: "ok" });
    }
    return new Response("Not found\n", { status: 404 });
  },
} satisfies ExportedHandler<FloorEnv>;
