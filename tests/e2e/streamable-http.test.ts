/**
 * End to end for Streamable HTTP against a real `wrangler dev` serving the
 * default and conformance toolsets: the v2 SDK client in both eras (session
 * era with a real elicitation request on the call's SSE stream; 2026-07-28
 * with an `input_required` round trip), SSE keepalive comments on a slow call,
 * an HTTP session surviving eviction, one session moving from HTTP to
 * WebSocket, and the input bridge over WebSocket, including an answer that
 * arrives after the object was evicted while waiting for it.
 *
 * Eviction is real: local workerd evicts an idle object after about 10 s
 * (docs/platform.md), so the eviction tests stay silent for IDLE_FOR_EVICTION_MS,
 * allow up to MAX_IDLE_PERIODS of it, and run concurrently to pay it once.
 */
import {
  type CallToolResult,
  Client,
  type ElicitRequest,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestEnvelope, resultEnvelope } from "../../shared/errors";
import { SESSION_ID_HEADER } from "../../shared/limits";
import { LATEST_SESSION_ERA_VERSION, type RequestId } from "../../shared/protocol";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText, RpcSocket, type WireMessage } from "../helpers/rpc-socket";
import { sseOf } from "../helpers/sse";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const MAX_IDLE_PERIODS = 3;
/** Local eviction happens after 10 s idle; leave margin for a loaded machine. */
const IDLE_FOR_EVICTION_MS = 12_500;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEPALIVE_MS = 500;
const MODERN_VERSION = "2026-07-28";
const CLIENT_INFO = { name: "dormouse-e2e-http", version: "2.4.0" };
const USER = { username: "ada", email: "ada@example.com" };

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({
    vars: { TOOLSETS: "default,conformance", SSE_KEEPALIVE_MS: String(KEEPALIVE_MS) },
  });
});

afterAll(async () => {
  await gateway?.stop();
});

// ---------------------------------------------------------------------------
// Raw Streamable HTTP, for what the SDK hides (headers, SSE framing).

let nextId = 1;

function rawPost(body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/** The session-era handshake over raw HTTP; returns the session id. */
async function initializeRaw(): Promise<string> {
  const response = await rawPost(
    requestEnvelope(nextId++, "initialize", {
      protocolVersion: LATEST_SESSION_ERA_VERSION,
      capabilities: {},
      clientInfo: CLIENT_INFO,
    }),
  );
  expect(response.status).toBe(200);
  const sessionId = response.headers.get(SESSION_ID_HEADER);
  await response.body?.cancel();
  if (!sessionId) throw new Error(`initialize answered without ${SESSION_ID_HEADER}`);
  const initialized = await rawPost(
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { [SESSION_ID_HEADER]: sessionId },
  );
  expect(initialized.status).toBe(202);
  return sessionId;
}

/** tools/call on a session over raw HTTP (JSON or SSE reply); returns the tool result. */
async function callRaw(
  sessionId: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const id = nextId++;
  const response = await rawPost(requestEnvelope(id, "tools/call", { name, arguments: args }), {
    [SESSION_ID_HEADER]: sessionId,
  });
  expect(response.status).toBe(200);
  const isReply = (m: Record<string, unknown>) => m.id === id && !("method" in m);
  const reply = (response.headers.get("Content-Type") ?? "").startsWith("text/event-stream")
    ? (await sseOf(response).messages({ until: isReply, timeoutMs: REQUEST_TIMEOUT_MS })).at(-1)
    : ((await response.json()) as Record<string, unknown>);
  if (!reply?.result) throw new Error(`${name} failed: ${JSON.stringify(reply)}`);
  return reply.result as Record<string, unknown>;
}

async function wakesOverHttp(sessionId: string): Promise<number> {
  return JSON.parse(firstText(await callRaw(sessionId, "session_info"))).wakes as number;
}

// ---------------------------------------------------------------------------
// The v2 SDK client.

async function sdkClient(options: {
  modern: boolean;
  onElicit: (request: ElicitRequest) => Record<string, unknown>;
}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(CLIENT_INFO, {
    capabilities: { elicitation: {} },
    ...(options.modern ? { versionNegotiation: { mode: { pin: MODERN_VERSION } } } : {}),
  });
  client.setRequestHandler("elicitation/create", async (request) => ({
    action: "accept" as const,
    content: options.onElicit(request) as Record<string, string>,
  }));
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`));
  await withTimeout(client.connect(transport), REQUEST_TIMEOUT_MS, "the SDK client to connect");
  return { client, transport };
}

async function callText(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<string> {
  const result = (await client.callTool(
    { name, arguments: args },
    { timeout: REQUEST_TIMEOUT_MS },
  )) as CallToolResult;
  expect(result.isError ?? false).toBe(false);
  return firstText(result);
}

async function closeClient(client: Client): Promise<void> {
  await withTimeout(client.close(), REQUEST_TIMEOUT_MS, "the SDK client to close");
}

// ---------------------------------------------------------------------------
// Raw WebSocket with the input bridge.

/** A session-era socket that declared the elicitation capability. */
async function elicitingSocket(path = "/ws"): Promise<RpcSocket> {
  const socket = await RpcSocket.open(`${gateway.wsUrl}${path}`);
  await socket.call("initialize", {
    protocolVersion: LATEST_SESSION_ERA_VERSION,
    capabilities: { elicitation: {} },
    clientInfo: CLIENT_INFO,
  });
  socket.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  return socket;
}

/** Sends tools/call test_elicitation without waiting; returns its id. */
function startElicitation(socket: RpcSocket, message: string): RequestId {
  const id = `call-${nextId++}`;
  socket.send(
    requestEnvelope(id, "tools/call", { name: "test_elicitation", arguments: { message } }),
  );
  return id;
}

function serverRequest(socket: RpcSocket, method: string): Promise<WireMessage> {
  return waitFor(
    () => socket.received.find((m) => m.method === method && m.id !== undefined && m.id !== null),
    { timeoutMs: REQUEST_TIMEOUT_MS, intervalMs: 10, what: `a ${method} request from the server` },
  );
}

function responseTo(socket: RpcSocket, id: RequestId): Promise<WireMessage> {
  return waitFor(() => socket.received.find((m) => m.id === id && m.method === undefined), {
    timeoutMs: REQUEST_TIMEOUT_MS,
    intervalMs: 10,
    what: `the response to request ${JSON.stringify(id)}`,
  });
}

async function wakesOverSocket(socket: RpcSocket): Promise<number> {
  const result = await socket.call("tools/call", { name: "session_info", arguments: {} });
  return JSON.parse(firstText(result)).wakes as number;
}

// ---------------------------------------------------------------------------

describe("v2 SDK client over Streamable HTTP, session era", () => {
  it("initializes, lists tools, answers test_elicitation's request and gets the final text", async () => {
    const asked: ElicitRequest[] = [];
    const { client, transport } = await sdkClient({
      modern: false,
      onElicit: (request) => {
        asked.push(request);
        return USER;
      },
    });
    try {
      expect(client.getProtocolEra()).toBe("legacy");
      expect(transport.sessionId).toMatch(/^[0-9a-f]{64}$/);
      const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["counter", "echo", "test_elicitation"]));

      const text = await callText(client, "test_elicitation", { message: "Who are you?" });
      expect(asked).toHaveLength(1);
      expect(asked[0]?.params).toMatchObject({ message: "Who are you?" });
      expect(text).toMatch(/accept/);
      expect(text).toContain(JSON.stringify(USER));
    } finally {
      await closeClient(client);
    }
  });

  it("keeps the counter across two calls of the same session", async () => {
    const { client } = await sdkClient({ modern: false, onElicit: () => USER });
    try {
      expect(await callText(client, "counter")).toBe("1");
      expect(await callText(client, "counter")).toBe("2");
    } finally {
      await closeClient(client);
    }
  });
});

describe("v2 SDK client over Streamable HTTP, pinned to 2026-07-28", () => {
  it("connects through server/discover without a session and calls echo", async () => {
    const { client, transport } = await sdkClient({ modern: true, onElicit: () => USER });
    try {
      expect(client.getProtocolEra()).toBe("modern");
      expect(transport.sessionId).toBeUndefined();
      expect(await callText(client, "echo", { text: "stateless" })).toBe("stateless");
    } finally {
      await closeClient(client);
    }
  });

  it("round-trips test_input_required_result_elicitation through the elicitation handler", async () => {
    const asked: ElicitRequest[] = [];
    const { client } = await sdkClient({
      modern: true,
      onElicit: (request) => {
        asked.push(request);
        return { name: "Ada" };
      },
    });
    try {
      const text = await callText(client, "test_input_required_result_elicitation");
      expect(asked).toHaveLength(1);
      expect(text).toBe("Hello, Ada!");
    } finally {
      await closeClient(client);
    }
  });
});

describe("SSE keepalive", () => {
  it("sends ': keepalive' comments on a slow call's stream, then the result", async () => {
    const sessionId = await initializeRaw();
    const id = nextId++;
    const response = await rawPost(
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 2000 },
        _meta: { progressToken: "slow" },
      }),
      { [SESSION_ID_HEADER]: sessionId },
    );
    const reader = sseOf(response);
    const messages = await reader.messages({
      until: (m) => m.id === id && !("method" in m),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    expect(reader.raw).toMatch(/^: keepalive$/m);
    expect(reader.items.filter((i) => i.kind === "comment").length).toBeGreaterThanOrEqual(2);
    expect(firstText(messages.at(-1)?.result as Record<string, unknown>)).toBe("slept 2000 ms");
  });

  it("sends ': keepalive' comments on a slow stateless 2026-07-28 call too", async () => {
    const id = nextId++;
    const response = await rawPost(
      requestEnvelope(id, "tools/call", {
        name: "sleep",
        arguments: { ms: 1500 },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
          "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
          "io.modelcontextprotocol/clientCapabilities": {},
          progressToken: "slow",
        },
      }),
      { "MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": "tools/call", "Mcp-Name": "sleep" },
    );
    const reader = sseOf(response);
    const messages = await reader.messages({
      until: (m) => m.id === id && !("method" in m),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    expect(reader.raw).toMatch(/^: keepalive$/m);
    expect(messages.at(-1)?.result).toMatchObject({ resultType: "complete" });
  });
});

describe("one session, two transports", () => {
  it("continues a session opened over HTTP on a WebSocket with ?session=, counter included", async () => {
    const sessionId = await initializeRaw();
    expect(firstText(await callRaw(sessionId, "counter"))).toBe("1");
    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws?session=${sessionId}`);
    try {
      const counter = await socket.call("tools/call", { name: "counter", arguments: {} });
      expect(firstText(counter)).toBe("2");
      expect(firstText(await callRaw(sessionId, "counter"))).toBe("3");
    } finally {
      await socket.close();
    }
  });
});

describe("the input bridge over WebSocket", () => {
  it("sends elicitation/create on the socket and answers the call once the client responds", async () => {
    const socket = await elicitingSocket();
    try {
      const callId = startElicitation(socket, "Name, please");
      const request = await serverRequest(socket, "elicitation/create");
      expect(request.params).toMatchObject({ message: "Name, please", mode: "form" });
      socket.send(
        resultEnvelope(request.id as RequestId, { action: "accept", content: { ...USER } }),
      );
      const response = await responseTo(socket, callId);
      expect(response.error).toBeUndefined();
      const text = firstText(response.result as Record<string, unknown>);
      expect(text).toContain(JSON.stringify(USER));
    } finally {
      await socket.close();
    }
  });
});

describe("hibernation", () => {
  it.concurrent("keeps an idle HTTP session's state across an eviction", async ({ expect }) => {
    const sessionId = await initializeRaw();
    expect(firstText(await callRaw(sessionId, "counter", { by: 4 }))).toBe("4");
    const before = await wakesOverHttp(sessionId);
    let after = before;
    for (let attempt = 0; attempt < MAX_IDLE_PERIODS && after <= before; attempt++) {
      await sleep(IDLE_FOR_EVICTION_MS);
      after = await wakesOverHttp(sessionId);
    }
    expect(after).toBeGreaterThan(before);
    expect(firstText(await callRaw(sessionId, "counter"))).toBe("5");
  });

  it.concurrent("delivers the tool result for an elicitation answered after the object was evicted while waiting", async ({
    expect,
  }) => {
    const socket = await elicitingSocket();
    try {
      const callId = startElicitation(socket, "Take your time");
      const request = await serverRequest(socket, "elicitation/create");
      const before = await wakesOverSocket(socket);

      // Nothing holds the object while the person thinks: no timer, no stream.
      let after = before;
      for (let attempt = 0; attempt < MAX_IDLE_PERIODS && after <= before; attempt++) {
        await sleep(IDLE_FOR_EVICTION_MS);
        after = await wakesOverSocket(socket);
      }
      expect(after).toBeGreaterThan(before);

      socket.send(
        resultEnvelope(request.id as RequestId, { action: "accept", content: { ...USER } }),
      );
      const response = await withTimeout(
        responseTo(socket, callId),
        REQUEST_TIMEOUT_MS,
        "the tool result after the wake",
      );
      expect(response.error).toBeUndefined();
      expect(firstText(response.result as Record<string, unknown>)).toContain(JSON.stringify(USER));
      expect(await wakesOverSocket(socket)).toBeGreaterThanOrEqual(after);
    } finally {
      await socket.close();
    }
  });
});
