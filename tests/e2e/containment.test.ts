/**
 * Containment (issue 12): one misbehaving upstream, transport or client never
 * reaches past its own session or upstream. Real `wrangler dev` gateways in
 * front of real upstream processes on localhost:
 * - a chatty upstream that answers tools/list and tools/call with a log message
 *   every 100 ms and never a result, and a busy one that sends progress every
 *   100 ms and never a result, beside a healthy one;
 * - an upstream configured with a secret header that redirects every request to
 *   another origin (a recorder in this process), which must receive nothing;
 * - a Streamable HTTP call in flight while a WebSocket attaches to, and drops
 *   from, the same session; a DELETE while a call is in flight;
 * - a WebSocket client that stops reading while asking for large replies;
 * - 2026-07-28 requests from one principal past its rate and in-flight bounds;
 * - a WebSocket client that only sends the keepalive, past the idle TTL.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  RATE_LIMITED,
  SESSION_ENDED,
  TOO_MANY_IN_FLIGHT,
  UPSTREAM_TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "../../shared/errors";
import { CLOSE_OUTBOUND_LIMIT, SESSION_ID_HEADER } from "../../shared/limits";
import {
  META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION,
  META_UNAVAILABLE_UPSTREAMS,
} from "../../shared/protocol";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText, RpcSocket } from "../helpers/rpc-socket";
import { sseOf } from "../helpers/sse";
import { startAll } from "../helpers/start-all";
import { startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const TIMEOUT_MS = 20_000;
const SECRET_VALUE = "redirect-must-not-carry-this-secret";
const CHATTY_TIMEOUT_MS = 1_500;
const BUSY_MAX_REQUEST_MS = 4_000;
/** Far above the chatty upstream's bounds: before the fix, lists and calls failed here. */
const DEADLINE_MS = 12_000;
const IDLE_TTL_MS = 3_000;
const OUTBOUND_BURST = 4 * 1024 * 1024;
const tokens = { alice: randomBytes(24).toString("hex"), bob: randomBytes(24).toString("hex") };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The other origin a redirect points at: records every request it gets. */
const recorded: IncomingHttpHeaders[] = [];
let recorder: Server | undefined;
let recorderUrl = "";

let chatty: UpstreamProcess;
let busy: UpstreamProcess;
let healthy: UpstreamProcess;
let redirecting: UpstreamProcess;
/** Federates the chatty, healthy and redirecting upstreams. */
let federating: Gateway;
/** Short idle TTL, small outbound budget, two principals with small stateless bounds. */
let bounded: Gateway;

beforeAll(async () => {
  recorder = createServer((req, res) => {
    recorded.push(req.headers);
    req.resume();
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve) => recorder?.listen(0, "127.0.0.1", resolve));
  recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/mcp`;
  [chatty, busy, healthy, redirecting] = await startAll([
    startStatefulUpstream({ mode: "chatty" }),
    startStatefulUpstream({ mode: "busy" }),
    startStatefulUpstream(),
    startStatefulUpstream({ mode: "redirect", redirectTo: recorderUrl }),
  ]);
  [federating, bounded] = await startAll([
    startGateway({
      vars: {
        REQUEST_DEADLINE_MS: String(DEADLINE_MS),
        UPSTREAM_KEY: SECRET_VALUE,
        UPSTREAMS: JSON.stringify([
          { name: "chatty", url: chatty.url, prefix: "chatty", timeoutMs: CHATTY_TIMEOUT_MS },
          {
            name: "busy",
            url: busy.url,
            prefix: "busy",
            timeoutMs: CHATTY_TIMEOUT_MS,
            maxRequestMs: BUSY_MAX_REQUEST_MS,
          },
          { name: "state", url: healthy.url, prefix: "state" },
          {
            name: "moved",
            url: redirecting.url,
            prefix: "moved",
            headers: { "X-Api-Key": "UPSTREAM_KEY" },
          },
        ]),
      },
    }),
    startGateway({
      vars: {
        AUTH_TOKEN_HASHES: Object.entries(tokens)
          .map(([who, token]) => `${who}:${sha256(token)}`)
          .join(","),
        SESSION_IDLE_TTL_MS: String(IDLE_TTL_MS),
        OUTBOUND_BURST_CHARS: String(OUTBOUND_BURST),
        OUTBOUND_CHARS_PER_SECOND: String(OUTBOUND_BURST / 4),
        STATELESS_RATE_LIMIT_PER_SECOND: "20",
        STATELESS_RATE_LIMIT_BURST: "20",
        STATELESS_MAX_IN_FLIGHT: "8",
      },
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([
    federating?.stop(),
    bounded?.stop(),
    chatty?.stop(),
    busy?.stop(),
    healthy?.stop(),
    redirecting?.stop(),
  ]);
  recorder?.closeAllConnections();
  await new Promise<void>((resolve) => (recorder ? recorder.close(() => resolve()) : resolve()));
});

async function session(gateway: Gateway): Promise<RpcSocket> {
  const socket = await RpcSocket.open(`${gateway.wsUrl}/ws`);
  await socket.call("initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "containment", version: "1" },
  });
  socket.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return socket;
}

function unavailable(result: Record<string, unknown>): { upstream: string; reason: string }[] {
  const meta = (result._meta ?? {}) as Record<string, unknown>;
  return (meta[META_UNAVAILABLE_UPSTREAMS] ?? []) as { upstream: string; reason: string }[];
}

describe("an upstream that chatters and never answers", () => {
  it("leaves tools/list answering with the built-ins and the healthy upstream, naming it", async () => {
    const socket = await session(federating);
    const started = Date.now();
    const reply = await socket.request("tools/list", {}, DEADLINE_MS + 5_000);
    expect(reply.error).toBeUndefined();
    const names = ((reply.result?.tools ?? []) as { name: string }[]).map((t) => t.name);
    expect(names).toContain("echo");
    expect(names.some((n) => n.startsWith("state__"))).toBe(true);
    expect(names.some((n) => n.startsWith("chatty__") || n.startsWith("busy__"))).toBe(false);
    // Log lines are not progress: the chatty one hits its silence bound.
    expect(unavailable(reply.result ?? {})).toContainEqual({
      upstream: "chatty",
      reason: "timed out after 1500 ms",
    });
    // Progress forever: the list's own bound, min(2 x timeoutMs, 10 s), stops it.
    expect(unavailable(reply.result ?? {})).toContainEqual({
      upstream: "busy",
      reason: "did not answer tools/list within 3000 ms",
    });
    // Reported, not waited for: the list came well before the session's own deadline.
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS);
    await socket.close();
  });

  it("fails a call to an upstream that progresses forever at its maxRequestMs, with -32031", async () => {
    const socket = await session(federating);
    const reply = await socket.request(
      "tools/call",
      { name: "busy__remember", arguments: { value: "x" } },
      DEADLINE_MS + 5_000,
    );
    expect(reply.error?.code).toBe(UPSTREAM_TIMEOUT);
    expect(reply.error?.message).toBe('Upstream "busy" did not finish within its 4000 ms bound');
    await socket.close();
  });

  it("is skipped at once by the next list of another session, as recently failed", async () => {
    const first = await session(federating);
    await first.call("tools/list", {}, DEADLINE_MS);
    const second = await session(federating);
    const reply = await second.call("tools/list", {}, DEADLINE_MS);
    for (const upstream of ["chatty", "busy"]) {
      expect(unavailable(reply)).toContainEqual({
        upstream,
        reason: expect.stringMatching(/failed \d+ s ago/),
      });
    }
    await Promise.all([first.close(), second.close()]);
  });

  it("fails a call to it on the upstream's own bound (-32031), not the session's deadline", async () => {
    const socket = await session(federating);
    const reply = await socket.request(
      "tools/call",
      { name: "chatty__remember", arguments: { value: "x" } },
      DEADLINE_MS + 5_000,
    );
    expect(reply.error?.code).toBe(UPSTREAM_TIMEOUT);
    expect(reply.error?.message).toMatch(/Upstream "chatty"/);
    // The session is unharmed: a healthy upstream and a built-in still answer.
    expect(
      firstText(await socket.call("tools/call", { name: "echo", arguments: { text: "ok" } })),
    ).toBe("ok");
    await socket.close();
  });
});

describe("an upstream that redirects", () => {
  it("fails the call with -32030 naming the redirect, and the other origin receives nothing", async () => {
    const socket = await session(federating);
    const reply = await socket.request("tools/call", {
      name: "moved__remember",
      arguments: { value: "x" },
    });
    expect(reply.error?.code).toBe(UPSTREAM_UNAVAILABLE);
    expect(reply.error?.message).toMatch(/redirect/);
    expect(reply.error?.message).not.toContain(SECRET_VALUE);
    expect(recorded).toEqual([]);
    await socket.close();
  });
});

describe("one transport's events and another's requests", () => {
  async function httpSession(gateway: Gateway): Promise<string> {
    const response = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "h", version: "1" },
        },
      }),
    });
    await response.body?.cancel();
    const id = response.headers.get(SESSION_ID_HEADER);
    if (!id) throw new Error("no session id");
    await post(gateway, id, { jsonrpc: "2.0", method: "notifications/initialized" });
    return id;
  }

  function post(gateway: Gateway, sessionId: string, body: object): Promise<Response> {
    return fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        [SESSION_ID_HEADER]: sessionId,
      },
      body: JSON.stringify(body),
    });
  }

  interface Reply {
    result?: Record<string, unknown>;
    error?: { code: number; message: string };
  }

  async function replyTo(response: Response, id: number): Promise<Reply | undefined> {
    const messages = await sseOf(response).messages({
      until: (m) => m.id === id,
      timeoutMs: TIMEOUT_MS,
    });
    return messages.find((m) => m.id === id) as Reply | undefined;
  }

  it("keeps an HTTP call running when a WebSocket attaches to the session and then drops", async () => {
    const sessionId = await httpSession(federating);
    const call = post(federating, sessionId, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 1_500 }, _meta: { progressToken: "p" } },
    });
    await sleep(200);
    const socket = await RpcSocket.open(`${federating.wsUrl}/ws?session=${sessionId}`);
    await sleep(200);
    socket.ws.close(4999, "gone");
    const reply = await replyTo(await call, 7);
    expect(reply?.error).toBeUndefined();
    expect(firstText(reply?.result ?? {})).toBe("slept 1500 ms");
  });

  it("answers an HTTP call with -32007 when a DELETE ends the session under it", async () => {
    const sessionId = await httpSession(federating);
    const call = post(federating, sessionId, {
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 5_000 }, _meta: { progressToken: "p" } },
    });
    await sleep(300);
    const deleted = await fetch(`${federating.url}/mcp`, {
      method: "DELETE",
      headers: { [SESSION_ID_HEADER]: sessionId },
    });
    expect(deleted.status).toBe(204);
    const reply = await replyTo(await call, 8);
    expect(reply?.error?.code).toBe(SESSION_ENDED);
  });
});

describe("a WebSocket client that stops reading", () => {
  it("is closed with 4009 once its unread replies pass the outbound budget; the session survives", async () => {
    const headers = { Authorization: `Bearer ${tokens.alice}` };
    const ws = new WebSocket(`${bounded.wsUrl}/ws`, ["mcp"], { headers });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    let sessionId = "";
    ws.once("upgrade", (res) => {
      sessionId = String(res.headers["mcp-session-id"]);
    });
    await withTimeout(
      new Promise((resolve, reject) => {
        ws.once("open", resolve);
        ws.once("error", reject);
      }),
      TIMEOUT_MS,
      "open",
    );
    ws.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "r", version: "1" },
        },
      }),
    );
    await sleep(300);
    // Stop reading: what the gateway sends now piles up unread.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = "x".repeat(1024 * 1024);
    for (let id = 1; id <= 40 && ws.readyState === WebSocket.OPEN; id++) {
      ws.send(
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "echo", arguments: { text: big } },
        }),
      );
      await sleep(30);
    }
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await withTimeout(closed, TIMEOUT_MS, "the close");
    expect(code).toBe(CLOSE_OUTBOUND_LIMIT);
    expect(reason).toMatch(/outbound limit/);
    // The session itself is fine: a re-attach continues it.
    const again = new WebSocket(`${bounded.wsUrl}/ws?session=${sessionId}`, ["mcp"], { headers });
    const answer = new Promise<string>((resolve) =>
      again.on("message", (data) => {
        const message = JSON.parse(data.toString()) as {
          id?: number;
          result?: Record<string, unknown>;
        };
        if (message.id === 99) resolve(firstText(message.result ?? {}));
      }),
    );
    await withTimeout(new Promise((r) => again.once("open", r)), TIMEOUT_MS, "re-attach");
    again.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 99,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "back" } },
      }),
    );
    expect(await withTimeout(answer, TIMEOUT_MS, "the echo")).toBe("back");
    again.close();
  });
});

describe("stateless requests of one principal", () => {
  function modernCall(token: string, id: number, name: string, args: Record<string, unknown>) {
    return fetch(`${bounded.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        Authorization: `Bearer ${token}`,
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name,
          arguments: args,
          _meta: { [META_PROTOCOL_VERSION]: "2026-07-28", [META_CLIENT_CAPABILITIES]: {} },
        },
      }),
    });
  }

  it("refuses requests past the in-flight bound with 429 -32006, and another principal is unaffected", async () => {
    const calls = Array.from({ length: 16 }, (_, i) =>
      modernCall(tokens.alice, i + 1, "sleep", { ms: 1_000 }),
    );
    await sleep(200);
    const other = await modernCall(tokens.bob, 100, "echo", { text: "bob" });
    expect(other.status).toBe(200);
    const responses = await Promise.all(calls);
    const refused = responses.filter((r) => r.status === 429);
    expect(responses.filter((r) => r.status === 200).length).toBe(8);
    expect(refused.length).toBe(8);
    const body = (await refused[0]?.json()) as { error: { code: number } };
    expect(body.error.code).toBe(TOO_MANY_IN_FLIGHT);
    expect(refused[0]?.headers.get("Retry-After")).toMatch(/^\d+$/);
    await Promise.all(responses.filter((r) => !r.bodyUsed).map((r) => r.body?.cancel()));
  });

  it("refuses requests past the message rate with 429 -32005 and Retry-After", async () => {
    await sleep(1_500);
    const responses: Response[] = [];
    for (let i = 0; i < 40; i++)
      responses.push(await modernCall(tokens.bob, 200 + i, "echo", { text: "x" }));
    const refused = responses.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    const body = (await refused[0]?.json()) as {
      error: { code: number; data: { retryAfterMs: number } };
    };
    expect(body.error.code).toBe(RATE_LIMITED);
    expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
    await Promise.all(responses.filter((r) => !r.bodyUsed).map((r) => r.body?.cancel()));
  });
});

describe("a client that only sends the keepalive", () => {
  it("is alive past the idle TTL, and its session continues", async () => {
    const headers = { Authorization: `Bearer ${tokens.bob}` };
    const ws = new WebSocket(`${bounded.wsUrl}/ws`, ["mcp"], { headers });
    const messages: Record<string, unknown>[] = [];
    let closedWith: number | null = null;
    ws.on("message", (data) => {
      const text = data.toString();
      if (text !== "pong") messages.push(JSON.parse(text));
    });
    ws.on("close", (code) => {
      closedWith = code;
    });
    await withTimeout(new Promise((r) => ws.once("open", r)), TIMEOUT_MS, "open");
    ws.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "k", version: "1" },
        },
      }),
    );
    await waitFor(() => messages.find((m) => m.id === 1), {
      timeoutMs: TIMEOUT_MS,
      what: "initialize",
    });
    // Only the keepalive for three idle TTLs.
    const until = Date.now() + IDLE_TTL_MS * 3;
    while (Date.now() < until && closedWith === null) {
      ws.send("ping");
      await sleep(400);
    }
    expect(closedWith).toBeNull();
    ws.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "alive" } },
      }),
    );
    const reply = await waitFor(() => messages.find((m) => m.id === 2), {
      timeoutMs: TIMEOUT_MS,
      what: "echo",
    });
    expect(firstText((reply.result ?? {}) as Record<string, unknown>)).toBe("alive");
    ws.close();
  });

  it("while a client that sends nothing at all still expires with 4004", async () => {
    const headers = { Authorization: `Bearer ${tokens.bob}` };
    const ws = new WebSocket(`${bounded.wsUrl}/ws`, ["mcp"], { headers });
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    await withTimeout(new Promise((r) => ws.once("open", r)), TIMEOUT_MS, "open");
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
    expect(await withTimeout(closed, IDLE_TTL_MS * 5, "the expiry close")).toBe(4004);
  });
});
