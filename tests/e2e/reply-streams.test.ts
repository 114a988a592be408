/**
 * An SSE reply keeps its session object awake (docs/platform.md), so every reply
 * stream, and its keepalive timer, must end: when the call ends, when the
 * session ends, at REPLY_STREAM_MAX_MS for a call still running, and at once
 * (SSE polling) for a call that waits for the client's input: the client
 * resumes it with Last-Event-ID on a stream the Worker holds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INVALID_PARAMS, REQUEST_TIMEOUT, SESSION_ENDED } from "../../shared/errors";
import { SSE_POLL_RETRY_MS, SSE_RETRY_MS } from "../../shared/limits";
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

function toolCall(id: number, name: string, args: Record<string, unknown>, meta?: object) {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  };
}

async function waitingElicitation(sessionId: string) {
  const response = await post(toolCall(7, "test_elicitation", { message: "Name?" }), sessionId);
  expect(response.headers.get("Content-Type")).toMatch(/text\/event-stream/);
  const sse = sseOf(response);
  const [request] = await sse.messages({ until: (m) => m.method === "elicitation/create" });
  return { sse, request: request as SseMessage };
}

function resume(sessionId: string, lastEventId: string) {
  return fetch(`${gateway.url}/mcp`, {
    method: "GET",
    headers: {
      Accept: "text/event-stream",
      "Mcp-Session-Id": sessionId,
      "MCP-Protocol-Version": "2025-11-25",
      "Last-Event-ID": lastEventId,
    },
    signal: AbortSignal.timeout(10_000),
  });
}

function lastEventIdOf(sse: ReturnType<typeof sseOf>): string {
  const ids = sse.items.flatMap((item) => (item.kind === "event" && item.id ? [item.id] : []));
  const id = ids.at(-1);
  if (!id) throw new Error("the stream carried no event id");
  return id;
}

describe("reply streams end", () => {
  it("ends the reply of a call waiting for an elicitation at once (SSE polling); the resumed stream gets the answer's result", async () => {
    const sessionId = await session();
    const { sse, request } = await waitingElicitation(sessionId);
    // Nothing after the request: the stream ends, telling the client when to come back.
    expect(await sse.messages({ timeoutMs: 5_000 })).toEqual([]);
    expect(sse.done).toBe(true);
    // Come back soon: the stream ended for the object's sake, not because anything went wrong
    // (the priming event's retry, for a connection that breaks, is longer).
    const retries = [...sse.raw.matchAll(/^retry: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(retries).toEqual([SSE_RETRY_MS, SSE_POLL_RETRY_MS]);
    expect(SSE_POLL_RETRY_MS).toBeLessThanOrEqual(100);
    const resumed = await resume(sessionId, lastEventIdOf(sse));
    expect(resumed.status).toBe(200);
    const stream = sseOf(resumed);
    const answer = await post(
      {
        jsonrpc: "2.0",
        id: request.id,
        result: { action: "accept", content: { username: "dora", email: "d@x" } },
      },
      sessionId,
    );
    expect(answer.status).toBe(202);
    const [result] = await stream.messages({ until: (m) => m.id === 7 });
    expect(JSON.stringify(result)).toContain("dora");
  });

  it("ends a waiting call with -32602 when the client's answer is too large to keep, and the session goes on", async () => {
    const sessionId = await session();
    const { sse, request } = await waitingElicitation(sessionId);
    await sse.messages({ timeoutMs: 5_000 });
    const resumed = await resume(sessionId, lastEventIdOf(sse));
    const stream = sseOf(resumed);
    const answer = await post(
      {
        jsonrpc: "2.0",
        id: request.id,
        result: { action: "accept", content: { username: "x".repeat(600 * 1024), email: "d@x" } },
      },
      sessionId,
    );
    expect(answer.status).toBe(202);
    const [ended] = await stream.messages({ until: (m) => m.id === 7 });
    expect(ended?.error).toMatchObject({
      code: INVALID_PARAMS,
      message: expect.stringMatching(/answer is over 524288 bytes/),
    });
    const echo = await post(toolCall(8, "echo", { text: "on" }), sessionId);
    expect(JSON.stringify(await echo.json())).toContain('"text":"on"');
  });

  it("refuses with -32602, before asking anything, a call whose params are too large to keep while it waits", async () => {
    const sessionId = await session();
    const padded = toolCall(
      9,
      "test_elicitation",
      { message: "Name?" },
      { padding: "x".repeat(600 * 1024) },
    );
    const response = await post(padded, sessionId);
    const text = await response.text();
    expect(text).not.toContain("elicitation/create");
    expect(text).toContain(`"code":${INVALID_PARAMS}`);
    expect(text).toMatch(/too large to keep while it waits/);
  });

  it("answers -32001 and closes the stream of a call still running at REPLY_STREAM_MAX_MS", async () => {
    const sessionId = await session();
    const response = await post(
      {
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: {
          name: "sleep",
          arguments: { ms: MAX_OPEN_MS * 3 },
          _meta: { progressToken: "p" },
        },
      },
      sessionId,
    );
    const sse = sseOf(response);
    const rest = await sse.messages({ timeoutMs: MAX_OPEN_MS + 5_000 });
    expect(rest.at(-1)).toEqual(
      expect.objectContaining({ id: 9, error: expect.objectContaining({ code: REQUEST_TIMEOUT }) }),
    );
    expect(sse.done).toBe(true);
    expect(sse.raw).toContain(": keepalive");
  });

  it("answers a waiting call's resumed stream with -32007 when the session is deleted", async () => {
    const sessionId = await session();
    const { sse } = await waitingElicitation(sessionId);
    await sse.messages({ timeoutMs: 5_000 });
    const stream = sseOf(await resume(sessionId, lastEventIdOf(sse)));
    await stream.next();
    const deleted = await post(undefined, sessionId, "DELETE");
    expect(deleted.status).toBe(204);
    const rest = await stream.messages({ timeoutMs: 5_000 });
    expect(rest).toEqual([
      expect.objectContaining({ id: 7, error: expect.objectContaining({ code: SESSION_ENDED }) }),
    ]);
    expect(stream.done).toBe(true);
  });
});

describe("the standalone GET stream", () => {
  it(`ends after REPLY_STREAM_MAX_MS with a retry, and the next GET of a deleted session gets 404`, async () => {
    const sessionId = await session();
    const opened = await post(null, sessionId, "GET");
    expect(opened.status).toBe(200);
    const stream = sseOf(opened);
    expect((await post(null, sessionId, "DELETE")).status).toBe(204);
    // Before: keepalives for as long as the client held it, the session long gone.
    const raw = await stream.readUntil(/retry: \d+\n\n/, MAX_OPEN_MS + 3_000);
    expect(raw).toMatch(/: stream open/);
    // Then it ends (what is still queued is read first; each read is bounded).
    for (let item = await stream.next(2_000); item !== null; item = await stream.next(2_000)) {
      expect(item.kind).not.toBe("event");
    }
    const again = await post(null, sessionId, "GET");
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });
});
