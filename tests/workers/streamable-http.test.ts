/**
 * Streamable HTTP on the same session objects as WebSocket (worker/router.ts,
 * worker/transports/streamable-http.ts, worker/transports/http-checks.ts,
 * worker/origin-policy.ts): the session-era handshake and calls over POST,
 * JSON or SSE replies, the standalone GET stream, DELETE, the edge's error
 * statuses, Host/Origin and CORS, sessions moving between HTTP and WebSocket,
 * and stateless 2026-07-28 requests over HTTP.
 */

import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  requestEnvelope,
} from "../../shared/errors";
import { MAX_BODY_BYTES, PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import {
  LATEST_SESSION_ERA_VERSION,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  META_SESSION_ID,
  SESSION_ERA_VERSIONS,
} from "../../shared/protocol";
import {
  callToolHttp,
  counterHttp,
  deleteSession,
  firstItemOf,
  freshId,
  initializeHttp,
  jsonOf,
  modern,
  modernCall,
  openStream,
  post,
  replyOf,
  requestHttp,
  sessionInfoHttp,
  sessionPost,
} from "../helpers/http";
import { sseOf } from "../helpers/sse";
import {
  connect,
  delay,
  expectError,
  expectResult,
  fetchWorker,
  type JsonObject,
  MODERN_VERSION,
  type RpcResponse,
  sessionStub,
  TEST_CLIENT,
  toolText,
  upgrade,
} from "../helpers/workerd";

const EVIL_HOST = "evil.example.com";
const EVIL_ORIGIN = "http://evil.example.com";
/** The MCP Inspector's default origin: loopback, so allowed without configuration. */
const INSPECTOR_ORIGIN = "http://localhost:6274";
const HEADER_MISMATCH = -32020;
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

function toolsCall(name: string, args: JsonObject = {}, meta?: JsonObject) {
  const params: JsonObject = { name, arguments: args };
  if (meta) params._meta = meta;
  return requestEnvelope(freshId(), "tools/call", params);
}

/** An error reply's JSON-RPC error, asserting the HTTP status and the code. */
async function expectHttpError(response: Response, status: number, code: number) {
  expect(response.status).toBe(status);
  const body = (await jsonOf(response)) as unknown as RpcResponse;
  return expectError(body, code);
}

describe("the session-era handshake over POST", () => {
  it("answers initialize with JSON whose Mcp-Session-Id header equals result._meta's session id", async () => {
    const response = await post(
      requestEnvelope(1, "initialize", {
        protocolVersion: LATEST_SESSION_ERA_VERSION,
        capabilities: {},
        clientInfo: TEST_CLIENT,
      }),
    );
    expect(response.status).toBe(200);
    const header = response.headers.get(SESSION_ID_HEADER);
    expect(header).toMatch(/^[0-9a-f]{64}$/);
    const result = expectResult((await jsonOf(response)) as unknown as RpcResponse);
    expect(result.protocolVersion).toBe(LATEST_SESSION_ERA_VERSION);
    expect((result._meta as JsonObject)[META_SESSION_ID]).toBe(header);
  });

  // Spec (transports, session management): the id travels on the response that
  // contains the InitializeResult. A failed initialize must not leave a stored session.
  it("mints no session for an initialize that fails: no Mcp-Session-Id on the error", async () => {
    const response = await post(
      requestEnvelope(1, "initialize", {
        protocolVersion: LATEST_SESSION_ERA_VERSION,
        capabilities: {},
      }),
    );
    const body = (await jsonOf(response)) as unknown as RpcResponse;
    expectError(body, INVALID_PARAMS, /clientInfo/);
    expect(response.headers.get(SESSION_ID_HEADER)).toBeNull();
  });

  it("answers notifications/initialized with 202 and an empty body", async () => {
    const init = await post(
      requestEnvelope(1, "initialize", {
        protocolVersion: LATEST_SESSION_ERA_VERSION,
        capabilities: {},
        clientInfo: TEST_CLIENT,
      }),
    );
    const sessionId = init.headers.get(SESSION_ID_HEADER) ?? "";
    await init.body?.cancel();
    const response = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      method: "notifications/initialized",
    });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
    expect(await sessionInfoHttp(sessionId)).toMatchObject({ phase: "ready", sessionId });
  });

  it("keeps the counter's state across separate POSTs of the same session", async () => {
    const sessionId = await initializeHttp();
    expect(await counterHttp(sessionId)).toBe(1);
    expect(await counterHttp(sessionId)).toBe(2);
    expect(await counterHttp(sessionId, 5)).toBe(7);
    const other = await initializeHttp();
    expect(await counterHttp(other)).toBe(1);
  });

  it("keeps an HTTP session's state across an eviction of its object", async () => {
    const sessionId = await initializeHttp({ protocolVersion: "2025-06-18" });
    expect(await counterHttp(sessionId, 3)).toBe(3);
    const before = (await sessionInfoHttp(sessionId)).wakes as number;
    await evictDurableObject(sessionStub(sessionId));
    const after = await sessionInfoHttp(sessionId);
    expect(after.wakes).toBeGreaterThan(before);
    expect(after).toMatchObject({ protocolVersion: "2025-06-18", phase: "ready" });
    expect(await counterHttp(sessionId)).toBe(4);
  });
});

describe("replies to a POSTed request", () => {
  it("stream as text/event-stream with increasing progress, then the result, when the call has a progress token", async () => {
    const sessionId = await initializeHttp();
    const id = freshId();
    const response = await sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 600 },
        _meta: { progressToken: "nap" },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get(SESSION_ID_HEADER)).toBe(sessionId);
    const { response: reply, before } = await replyOf(response, id);
    expect(before.length).toBeGreaterThanOrEqual(2);
    for (const message of before) {
      expect(message).toMatchObject({
        method: "notifications/progress",
        params: { progressToken: "nap", total: 600 },
      });
    }
    const values = before.map((m) => (m.params as JsonObject).progress as number);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 0);
    expect(values.at(-1)).toBe(600);
    expect(toolText(expectResult(reply))).toBe("slept 600 ms");
  });

  it("come back as application/json when nothing precedes the result", async () => {
    const sessionId = await initializeHttp();
    const id = freshId();
    const response = await sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", { name: "echo", arguments: { text: "plain" } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    const { response: reply } = await replyOf(response, id);
    expect(toolText(expectResult(reply))).toBe("plain");
  });
});

describe("ending a streamed call early", () => {
  async function startSlowCall(sessionId: string) {
    const id = freshId();
    const response = await sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 5000 },
        _meta: { progressToken: "long" },
      }),
    );
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    return { id, reader: sseOf(response) };
  }

  it("closes the stream without a result when the client cancels the call", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await startSlowCall(sessionId);
    const cancelled = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason: "changed my mind" },
    });
    expect(cancelled.status).toBe(202);
    const messages = await reader.messages({ timeoutMs: 2_000 });
    expect(messages.filter((m) => m.id === id)).toEqual([]);
    expect(await counterHttp(sessionId)).toBe(1);
  });

  it("answers a request cancelled before its reply began with an SSE stream that ends with no event, not 202", async () => {
    const sessionId = await initializeHttp();
    const id = freshId();
    const call = sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", { name: "sleep", arguments: { ms: 5000 } }),
    );
    // Well within the second before a quiet call's reply turns into a stream.
    await delay(100);
    const cancelled = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason: "changed my mind" },
    });
    expect(cancelled.status).toBe(202);
    const response = await call;
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(await response.text()).toBe("");
    expect(await counterHttp(sessionId)).toBe(1);
  });

  it("answers the call with -32007 (session ended) when the session is deleted under it", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await startSlowCall(sessionId);
    expect((await deleteSession(sessionId)).status).toBe(204);
    const messages = await reader.messages({ timeoutMs: 2_000 });
    const replies = messages.filter((m) => m.id === id);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({
      error: { code: -32007, message: expect.stringContaining("session ended") },
    });
  });
});

describe("GET /mcp", () => {
  it("opens the session's standalone stream as 200 text/event-stream that starts with a comment", async () => {
    const sessionId = await initializeHttp();
    const response = await openStream(sessionId);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get(SESSION_ID_HEADER)).toBe(sessionId);
    expect(await firstItemOf(sseOf(response))).toEqual({ kind: "comment", text: "stream open" });
  });

  it("answers 406 without Accept: text/event-stream", async () => {
    const sessionId = await initializeHttp();
    const response = await openStream(sessionId, { Accept: "application/json" });
    expect(response.status).toBe(406);
  });

  it("answers 400 without Mcp-Session-Id", async () => {
    const response = await openStream("", { [SESSION_ID_HEADER]: null });
    expect(response.status).toBe(400);
  });

  it("answers 405 to a 2026-07-28 client, which has no GET stream", async () => {
    const sessionId = await initializeHttp();
    const response = await openStream(sessionId, { [PROTOCOL_VERSION_HEADER]: MODERN_VERSION });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
  });
});

describe("DELETE /mcp", () => {
  it("answers 405 to a 2026-07-28 client, which has no sessions, and deletes nothing", async () => {
    const sessionId = await initializeHttp();
    const response = await deleteSession(sessionId, { [PROTOCOL_VERSION_HEADER]: MODERN_VERSION });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("POST");
    await response.body?.cancel();
    expect(await counterHttp(sessionId)).toBe(1);
  });

  it("ends the session with 204; afterwards POST, GET, DELETE and a WebSocket re-attach get 404", async () => {
    const sessionId = await initializeHttp();
    expect(await counterHttp(sessionId)).toBe(1);
    const deleted = await deleteSession(sessionId);
    expect(deleted.status).toBe(204);

    const posted = await sessionPost(sessionId, toolsCall("counter"));
    expect(posted.status).toBe(404);
    expect((await openStream(sessionId)).status).toBe(404);
    expect((await deleteSession(sessionId)).status).toBe(404);
    const reattach = await upgrade(`/ws?session=${sessionId}`);
    expect(reattach.status).toBe(404);
    expect(reattach.webSocket).toBeNull();
  });

  it("closes a WebSocket attached to the session it ends", async () => {
    const client = await connect();
    await client.initialize();
    expect((await deleteSession(client.sessionId)).status).toBe(204);
    const closed = await client.waitForClose();
    expect(closed.code).toBe(4004);
  });
});

describe("edge errors", () => {
  it("answers 404 to a well-formed session id that was never created", async () => {
    const neverCreated = env.SESSIONS.newUniqueId().toString();
    const response = await sessionPost(neverCreated, toolsCall("echo", { text: "x" }));
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/unknown or expired session/i);
  });

  it.each([
    ["not hex", "not-a-session"],
    ["too short", "abc123"],
    ["upper-case hex", "A".repeat(64)],
    ["64 hex chars that are no id of this namespace", "0".repeat(64)],
  ])("answers 404 to a malformed session id (%s)", async (_label, sessionId) => {
    const response = await sessionPost(sessionId, toolsCall("echo", { text: "x" }));
    expect(response.status).toBe(404);
  });

  it("answers 400 with -32600 to a request other than initialize without Mcp-Session-Id", async () => {
    const response = await post(toolsCall("echo", { text: "x" }));
    await expectHttpError(response, 400, INVALID_REQUEST);
  });

  it("answers 405 with an Allow header to PUT /mcp", async () => {
    const response = await fetchWorker("/mcp", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("Allow")).toBe("GET, POST, DELETE");
  });

  it("answers 406 to a POST whose Accept lacks text/event-stream", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, toolsCall("echo", { text: "x" }), {
      Accept: "application/json",
    });
    expect(response.status).toBe(406);
  });

  it("answers 415 to a POST with Content-Type text/plain", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, toolsCall("echo", { text: "x" }), {
      "Content-Type": "text/plain",
    });
    expect(response.status).toBe(415);
  });

  it("answers 413 to a body larger than MAX_BODY_BYTES", async () => {
    const sessionId = await initializeHttp();
    const big = JSON.stringify(toolsCall("echo", { text: "x".repeat(MAX_BODY_BYTES) }));
    const response = await sessionPost(sessionId, big);
    expect(response.status).toBe(413);
  });

  it("answers 413 to a streamed body without Content-Length that grows past MAX_BODY_BYTES", async () => {
    const sessionId = await initializeHttp();
    const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES) controller.close();
        else {
          controller.enqueue(chunk);
          sent += chunk.byteLength;
        }
      },
    });
    const response = await fetchWorker("/mcp", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        [SESSION_ID_HEADER]: sessionId,
      },
      body,
    });
    expect(response.status).toBe(413);
  });

  it("accepts Content-Type application/json with a charset parameter", async () => {
    const sessionId = await initializeHttp();
    const response = await requestHttp(
      sessionId,
      "tools/call",
      { name: "echo", arguments: { text: "utf-8" } },
      { "Content-Type": "application/json; charset=utf-8" },
    );
    expect(toolText(expectResult(response))).toBe("utf-8");
  });

  it("answers 400 with -32600 to a JSON-RPC batch", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, [toolsCall("echo", { text: "x" })]);
    await expectHttpError(response, 400, INVALID_REQUEST);
  });

  it("answers 400 with -32700 to a body that is not JSON", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, "{not json");
    await expectHttpError(response, 400, PARSE_ERROR);
  });

  it("answers 400 -32022 naming the header's version and every supported one to an unknown MCP-Protocol-Version on a body without the 2026 envelope", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, toolsCall("echo", { text: "x" }), {
      [PROTOCOL_VERSION_HEADER]: "2025-01-01",
    });
    const error = await expectHttpError(response, 400, UNSUPPORTED_PROTOCOL_VERSION);
    expect(error.message).toMatch(
      /Unsupported protocol version "2025-01-01" \(MCP-Protocol-Version\)/,
    );
    expect(error.data).toEqual({
      supported: [...SESSION_ERA_VERSIONS, MODERN_VERSION],
      requested: "2025-01-01",
    });
    // The session is untouched.
    expect(await counterHttp(sessionId, 0)).toBe(0);
  });

  it("answers 400 -32022 naming the supported versions when header and _meta both say 2025-01-01", async () => {
    const meta = {
      [META_PROTOCOL_VERSION]: "2025-01-01",
      [META_CLIENT_INFO]: TEST_CLIENT,
      [META_CLIENT_CAPABILITIES]: {},
    };
    const response = await post(toolsCall("echo", { text: "x" }, meta), {
      [PROTOCOL_VERSION_HEADER]: "2025-01-01",
      "Mcp-Method": "tools/call",
      "Mcp-Name": "echo",
    });
    const error = await expectHttpError(response, 400, UNSUPPORTED_PROTOCOL_VERSION);
    expect(error.data).toEqual({ supported: [MODERN_VERSION], requested: "2025-01-01" });
  });

  it("answers 400 to DELETE with an MCP-Protocol-Version that is no session-era version", async () => {
    const sessionId = await initializeHttp();
    const response = await deleteSession(sessionId, { [PROTOCOL_VERSION_HEADER]: "2025-01-01" });
    expect(response.status).toBe(400);
    expect(await counterHttp(sessionId)).toBe(1);
  });

  it("accepts a session-era MCP-Protocol-Version header on a session's POST", async () => {
    const sessionId = await initializeHttp({ protocolVersion: "2025-06-18" });
    const response = await requestHttp(
      sessionId,
      "tools/call",
      { name: "echo", arguments: { text: "v" } },
      { [PROTOCOL_VERSION_HEADER]: "2025-06-18" },
    );
    expect(toolText(expectResult(response))).toBe("v");
  });
});

describe("Host and Origin", () => {
  it("answers 403 to POST /mcp under a Host that is not loopback or allowed", async () => {
    const response = await post(toolsCall("echo", { text: "x" }), { Host: EVIL_HOST });
    expect(response.status).toBe(403);
  });

  it("answers 403 to a /ws upgrade under a foreign Host, without upgrading", async () => {
    const response = await fetchWorker("/ws", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "mcp", Host: EVIL_HOST },
    });
    expect(response.status).toBe(403);
    expect(response.webSocket).toBeNull();
  });

  it("answers 403 to /healthz under a foreign Host", async () => {
    const response = await fetchWorker("/healthz", { headers: { Host: EVIL_HOST } });
    expect(response.status).toBe(403);
  });

  it("answers 403 to a foreign Origin even under a loopback Host", async () => {
    const response = await post(toolsCall("echo", { text: "x" }), {
      Host: "127.0.0.1:8787",
      Origin: EVIL_ORIGIN,
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("echoes an allowed loopback Origin in Access-Control-Allow-Origin, never *", async () => {
    const response = await post(
      requestEnvelope(1, "initialize", {
        protocolVersion: LATEST_SESSION_ERA_VERSION,
        capabilities: {},
        clientInfo: TEST_CLIENT,
      }),
      { Origin: INSPECTOR_ORIGIN },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(INSPECTOR_ORIGIN);
    const exposed = response.headers.get("Access-Control-Expose-Headers") ?? "";
    for (const name of [
      "Mcp-Session-Id",
      "MCP-Protocol-Version",
      "Retry-After",
      "WWW-Authenticate",
    ])
      expect(exposed.split(/,\s*/)).toContain(name);
    expect(response.headers.get("Vary")).toMatch(/Origin/);
    await response.body?.cancel();
  });

  it("echoes an allowed Origin on a streamed reply from the session object", async () => {
    const sessionId = await initializeHttp();
    const id = freshId();
    const response = await sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 300 },
        _meta: { progressToken: "cors" },
      }),
      { Origin: INSPECTOR_ORIGIN },
    );
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(INSPECTOR_ORIGIN);
    expect(toolText(expectResult((await replyOf(response, id)).response))).toBe("slept 300 ms");
  });

  it("echoes an allowed Origin on an error status, so a browser can read it", async () => {
    const neverCreated = env.SESSIONS.newUniqueId().toString();
    const response = await sessionPost(neverCreated, toolsCall("echo", { text: "x" }), {
      Origin: INSPECTOR_ORIGIN,
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(INSPECTOR_ORIGIN);
  });

  it("echoes an allowed Origin on a stateless 2026-07-28 reply too", async () => {
    const { response } = await modern("tools/list", {}, {}, { Origin: INSPECTOR_ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(INSPECTOR_ORIGIN);
    await response.body?.cancel();
  });

  it("answers an OPTIONS preflight from an allowed origin with 204 and the CORS headers", async () => {
    const response = await fetchWorker("/mcp", {
      method: "OPTIONS",
      headers: {
        Origin: INSPECTOR_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, mcp-session-id, mcp-protocol-version",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(INSPECTOR_ORIGIN);
    expect(response.headers.get("Access-Control-Allow-Methods")).toMatch(/POST/);
    const allowed = (response.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase();
    for (const name of ["content-type", "mcp-session-id", "mcp-protocol-version"]) {
      expect(allowed).toContain(name);
    }
  });

  it("allows the Mcp-Param-* headers a preflight asks for (SEP-2243), and nothing else it asks for", async () => {
    const response = await fetchWorker("/mcp", {
      method: "OPTIONS",
      headers: {
        Origin: INSPECTOR_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, mcp-method, mcp-param-region, x-evil",
      },
    });
    expect(response.status).toBe(204);
    const allowed = (response.headers.get("Access-Control-Allow-Headers") ?? "")
      .toLowerCase()
      .split(",")
      .map((name) => name.trim());
    expect(allowed).toContain("mcp-param-region");
    expect(allowed).toContain("mcp-method");
    expect(allowed).not.toContain("x-evil");
  });

  it("answers 403 to an OPTIONS preflight from a foreign origin", async () => {
    const response = await fetchWorker("/mcp", {
      method: "OPTIONS",
      headers: { Origin: EVIL_ORIGIN, "Access-Control-Request-Method": "POST" },
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("one session, two transports", () => {
  it("continues a session created over HTTP on a WebSocket re-attach, without initialize", async () => {
    const sessionId = await initializeHttp();
    expect(await counterHttp(sessionId)).toBe(1);
    const client = await connect(sessionId);
    expect(client.sessionId).toBe(sessionId);
    expect(toolText(await client.callTool("counter"))).toBe("2");
    expect(await client.sessionInfo()).toMatchObject({ sessionId, phase: "ready" });
  });

  it("continues a session created over WebSocket with Mcp-Session-Id over HTTP", async () => {
    const client = await connect();
    await client.initialize();
    expect(toolText(await client.callTool("counter"))).toBe("1");
    expect(await counterHttp(client.sessionId)).toBe(2);
    expect(toolText(await client.callTool("counter"))).toBe("3");
  });
});

describe("2026-07-28 over HTTP, without a session", () => {
  it("answers server/discover with resultType complete, cache hints and 2026-07-28 supported", async () => {
    const { response, id } = await modern("server/discover");
    expect(response.status).toBe(200);
    expect(response.headers.get(SESSION_ID_HEADER)).toBeNull();
    const result = expectResult((await replyOf(response, id)).response);
    expect(result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    expect(result.supportedVersions).toContain(MODERN_VERSION);
  });

  it("serves tools/call echo", async () => {
    const result = await modernCall("tools/call", { name: "echo", arguments: { text: "hi" } });
    expect(result.resultType).toBe("complete");
    expect(toolText(result)).toBe("hi");
  });

  it("marks tools/list with ttlMs and cacheScope", async () => {
    const result = await modernCall("tools/list");
    expect(result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    expect((result.tools as JsonObject[]).map((t) => t.name)).toContain("echo");
  });

  it("keeps no state between requests: the counter starts afresh each time", async () => {
    const first = await modernCall("tools/call", { name: "counter", arguments: {} });
    const second = await modernCall("tools/call", { name: "counter", arguments: {} });
    expect(toolText(first)).toBe("1");
    expect(toolText(second)).toBe("1");
  });

  it("answers 400 -32602 to a request without _meta", async () => {
    const response = await post(toolsCall("echo", { text: "x" }), {
      [PROTOCOL_VERSION_HEADER]: MODERN_VERSION,
      "Mcp-Method": "tools/call",
      "Mcp-Name": "echo",
    });
    await expectHttpError(response, 400, INVALID_PARAMS);
  });

  it("answers 400 -32020 when the header's version differs from _meta's", async () => {
    const { response } = await modern(
      "tools/list",
      {},
      { [META_PROTOCOL_VERSION]: LATEST_SESSION_ERA_VERSION },
    );
    await expectHttpError(response, 400, HEADER_MISMATCH);
  });

  it("answers 400 -32022 with data.supported and data.requested to an unsupported version", async () => {
    const { response } = await modern(
      "tools/list",
      {},
      { [META_PROTOCOL_VERSION]: "v999" },
      { [PROTOCOL_VERSION_HEADER]: "v999" },
    );
    const error = await expectHttpError(response, 400, UNSUPPORTED_PROTOCOL_VERSION);
    expect(error.data).toEqual({ supported: [MODERN_VERSION], requested: "v999" });
  });

  it("answers 400 -32020 when Mcp-Method differs from the body's method", async () => {
    const { response } = await modern("tools/list", {}, {}, { "Mcp-Method": "prompts/list" });
    await expectHttpError(response, 400, HEADER_MISMATCH);
  });

  it("answers 400 -32020 to a request without Mcp-Method", async () => {
    const { response } = await modern("tools/list", {}, {}, { "Mcp-Method": null });
    await expectHttpError(response, 400, HEADER_MISMATCH);
  });

  it("answers 400 -32020 to tools/call without Mcp-Name", async () => {
    const { response } = await modern(
      "tools/call",
      { name: "echo", arguments: { text: "x" } },
      {},
      { "Mcp-Name": null },
    );
    await expectHttpError(response, 400, HEADER_MISMATCH);
  });

  it("answers 400 -32020 when Mcp-Name names another tool", async () => {
    const { response } = await modern(
      "tools/call",
      { name: "echo", arguments: { text: "x" } },
      {},
      { "Mcp-Name": "add" },
    );
    await expectHttpError(response, 400, HEADER_MISMATCH);
  });

  it("takes Mcp-Name base64-wrapped (=?base64?...?=), as Mcp-Param-* values may be, and still checks it", async () => {
    const wrap = (text: string) => `=?base64?${btoa(text)}?=`;
    const read = (name: string) =>
      modern("resources/read", { uri: "dormouse://about" }, {}, { "Mcp-Name": name });
    expect((await read(wrap("dormouse://about"))).response.status).toBe(200);
    await expectHttpError((await read(wrap("dormouse://session"))).response, 400, HEADER_MISMATCH);
  });

  // Whitespace around Mcp-Name (RFC 9110 OWS) is not testable here: fetch trims header
  // values before the Worker sees them. The official suite's http-header-validation
  // scenario sends it over a raw socket (tests/conformance).

  it("answers 404 -32601 to ping, which 2026-07-28 removed", async () => {
    const { response } = await modern("ping");
    await expectHttpError(response, 404, METHOD_NOT_FOUND);
  });

  it("streams progress for a call with a progress token, then the result", async () => {
    const { response, id } = await modern(
      "tools/call",
      { name: "sleep", arguments: { ms: 300 } },
      { progressToken: 7 },
    );
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const { response: reply, before } = await replyOf(response, id);
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before[0]).toMatchObject({
      method: "notifications/progress",
      params: { progressToken: 7 },
    });
    expect(toolText(expectResult(reply))).toBe("slept 300 ms");
  });

  it("serves the envelope without the MCP-Protocol-Version header, selected by _meta alone", async () => {
    const { response, id } = await modern(
      "tools/call",
      { name: "echo", arguments: { text: "meta only" } },
      {},
      { [PROTOCOL_VERSION_HEADER]: null },
    );
    expect(response.status).toBe(200);
    const result = expectResult((await replyOf(response, id)).response);
    expect(result.resultType).toBe("complete");
  });
});

describe("session-era requests on a session with a call in flight", () => {
  it("answer another POST while a streamed call is still running", async () => {
    const sessionId = await initializeHttp();
    const id = freshId();
    const slow = await sessionPost(
      sessionId,
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 600 },
        _meta: { progressToken: "slow" },
      }),
    );
    expect(await callToolHttp(sessionId, "echo", { text: "meanwhile" })).toMatchObject({
      content: [{ type: "text", text: "meanwhile" }],
    });
    const { response } = await replyOf(slow, id);
    expect(toolText(expectResult(response))).toBe("slept 600 ms");
  });
});
