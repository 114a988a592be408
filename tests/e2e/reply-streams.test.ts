/**
 * An SSE reply keeps its session object awake (docs/platform.md), so every reply
 * stream, and its keepalive timer, must end: when the call ends, when the
 * session ends, and at REPLY_STREAM_MAX_MS even if the call is waiting for an
 * elicitation answer that never comes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_TIMEOUT } from "../../shared/errors";
import { type Gateway, startGateway } from "../helpers/process";
import { type SseMessage, sseOf } from "../helpers/sse";

const MAX_OPEN_MS = 1_500;
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({
    vars: {
      TOOLSETS: "default,conformance",
      SSE_KEEPALIVE_MS: "300",
      REPLY_STREAM_MAX_MS: String(MAX_OPEN_MS),
    },
  });
});

afterAll(async () => {
  await gateway?.stop();
});

function post(body: unknown, sessionId?: string, method = "POST") {
  return fetch(`${gateway.url}/mcp`, {
    method,
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...(sessionId ? { "Mcp-Session-Id": sessionId, "MCP-Protocol-Version": "2025-11-25" } : {}),
    },
    ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
}

async function session(): Promise<string> {
  const response = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: { elicitation: {} },
      clientInfo: { name: "reply-streams", version: "1" },
    },
  });
  await response.body?.cancel();
  const id = response.headers.get("Mcp-Session-Id");
  if (!id) throw new Error(`no session id (HTTP ${response.status})`);
  return id;
}

async function waitingElicitation(sessionId: string) {
  const response = await post(
    {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "test_elicitation", arguments: { message: "Name?" } },
    },
    sessionId,
  );
  expect(response.headers.get("Content-Type")).toMatch(/text\/event-stream/);
  const sse = sseOf(response);
  const [request] = await sse.messages({ until: (m) => m.method === "elicitation/create" });
  return { sse, request: request as SseMessage };
}

describe("reply streams end", () => {
  it("answers -32001 and closes a stream whose elicitation is never answered, then forgets the call", async () => {
    const sessionId = await session();
    const { sse, request } = await waitingElicitation(sessionId);
    const rest = await sse.messages({ timeoutMs: MAX_OPEN_MS + 5_000 });
    expect(rest).toEqual([
      expect.objectContaining({ id: 7, error: expect.objectContaining({ code: REQUEST_TIMEOUT }) }),
    ]);
    expect(sse.done).toBe(true);
    expect(sse.raw).toContain(": keepalive");

    // A late answer finds no waiting call: accepted, nothing resumes, and the session still works.
    const late = await post(
      {
        jsonrpc: "2.0",
        id: request.id,
        result: { action: "accept", content: { username: "x", email: "x@y" } },
      },
      sessionId,
    );
    expect(late.status).toBe(202);
    const counter = await post(
      { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "counter", arguments: {} } },
      sessionId,
    );
    expect(JSON.stringify(await counter.json())).toContain('"text":"1"');
  });

  it("closes a waiting call's stream when the session is deleted", async () => {
    const sessionId = await session();
    const { sse } = await waitingElicitation(sessionId);
    const deleted = await post(undefined, sessionId, "DELETE");
    expect(deleted.status).toBe(204);
    const rest = await sse.messages({ timeoutMs: 5_000 });
    expect(rest.some((m) => "result" in m)).toBe(false);
    expect(sse.done).toBe(true);
  });
});
