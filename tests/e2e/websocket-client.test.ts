/**
 * End to end with the v1 MCP SDK's WebSocketClientTransport against a real
 * `wrangler dev`: the handshake, every default tool, eviction of the session
 * object while the socket stays open, and re-attaching to a session with
 * `?session=` (SDK client and raw socket).
 *
 * Eviction is real: local workerd evicts an object whose only sockets are
 * hibernatable after 10 s idle (docs/platform.md), so the hibernation tests stay
 * silent for IDLE_FOR_EVICTION_MS and run concurrently to pay that once.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import {
  type CallToolResult,
  LoggingMessageNotificationSchema,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLOSE_SUPERSEDED } from "../../shared/limits";
import { META_SESSION_ID } from "../../shared/protocol";
import { DeafSocket } from "../helpers/deaf-socket";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText, RpcSocket, rawUpgrade } from "../helpers/rpc-socket";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

/** Local eviction happens after 10 s idle; leave margin for a loaded machine. */
/** Idle periods allowed before eviction must have happened at least once. */
const MAX_IDLE_PERIODS = 3;
const IDLE_FOR_EVICTION_MS = 12_500;
const REQUEST_TIMEOUT_MS = 10_000;
const CLIENT_INFO = { name: "dormouse-e2e", version: "4.5.6" };
const DEFAULT_TOOLS = ["add", "approve", "counter", "echo", "log", "session_info", "sleep", "wait"];

interface SessionInfo {
  sessionId: string;
  era: string;
  protocolVersion: string | null;
  clientInfo: { name: string; version: string } | null;
  logLevel: string;
  phase: string;
  wakes: number;
  attachGeneration: number;
}

interface Connected {
  client: Client;
  /** `_meta["dormouse/sessionId"]` of the initialize result, read off the wire. */
  sessionIdFromInitialize: string | undefined;
}

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway?.stop();
});

async function connect(path = "/ws"): Promise<Connected> {
  const transport = new WebSocketClientTransport(new URL(`${gateway.wsUrl}${path}`));
  const connected: Connected = {
    client: new Client(CLIENT_INFO, { capabilities: {} }),
    sessionIdFromInitialize: undefined,
  };
  // Protocol.connect chains a pre-set onmessage, so this taps the raw initialize result.
  transport.onmessage = (message) => {
    if (!("result" in message)) return;
    const meta = message.result._meta;
    const id = meta?.[META_SESSION_ID];
    if (typeof id === "string") connected.sessionIdFromInitialize ??= id;
  };
  await withTimeout(connected.client.connect(transport), REQUEST_TIMEOUT_MS, "initialize");
  return connected;
}

async function callText(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<string> {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: REQUEST_TIMEOUT_MS,
  })) as CallToolResult;
  expect(result.isError ?? false).toBe(false);
  return firstText(result);
}

async function sessionInfo(client: Client): Promise<SessionInfo> {
  return JSON.parse(await callText(client, "session_info")) as SessionInfo;
}

async function closeClient(client: Client): Promise<void> {
  await withTimeout(client.close(), REQUEST_TIMEOUT_MS, "the client to close");
}

describe("v1 SDK client over WebSocket", () => {
  it("initializes and names the session in the initialize result's _meta", async () => {
    const { client, sessionIdFromInitialize } = await connect();
    try {
      expect(client.getServerVersion()?.name).toBe("dormouse");
      expect(client.getServerCapabilities()?.tools).toBeDefined();
      expect(sessionIdFromInitialize).toMatch(/^[0-9a-f]{64}$/);
      const info = await sessionInfo(client);
      expect(info.sessionId).toBe(sessionIdFromInitialize);
      expect(info).toMatchObject({
        era: "session",
        protocolVersion: "2025-11-25",
        clientInfo: CLIENT_INFO,
        phase: "ready",
        logLevel: "info",
      });
    } finally {
      await closeClient(client);
    }
  });

  it("lists exactly the default tools", async () => {
    const { client } = await connect();
    try {
      const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
      expect(tools.map((t) => t.name).sort()).toEqual(DEFAULT_TOOLS);
      for (const tool of tools) expect(tool.inputSchema.type).toBe("object");
    } finally {
      await closeClient(client);
    }
  });

  it("echoes text and adds two numbers", async () => {
    const { client } = await connect();
    try {
      expect(await callText(client, "echo", { text: "hello, dormouse" })).toBe("hello, dormouse");
      expect(await callText(client, "add", { a: 2, b: 3 })).toBe("5");
    } finally {
      await closeClient(client);
    }
  });

  it("keeps a counter per session", async () => {
    const first = await connect();
    const second = await connect();
    try {
      expect(await callText(first.client, "counter")).toBe("1");
      expect(await callText(first.client, "counter")).toBe("2");
      expect(await callText(first.client, "counter", { by: 5 })).toBe("7");
      expect(await callText(second.client, "counter")).toBe("1");
    } finally {
      await closeClient(first.client);
      await closeClient(second.client);
    }
  });

  it("reports increasing progress while sleep runs", async () => {
    const { client } = await connect();
    try {
      const updates: Progress[] = [];
      const result = (await client.callTool({ name: "sleep", arguments: { ms: 1000 } }, undefined, {
        timeout: REQUEST_TIMEOUT_MS,
        onprogress: (progress) => updates.push(progress),
      })) as CallToolResult;
      expect(firstText(result)).toBe("slept 1000 ms");
      expect(updates.length).toBeGreaterThanOrEqual(2);
      const values = updates.map((u) => u.progress);
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1] ?? 0);
      expect(updates.at(-1)).toMatchObject({ progress: 1000, total: 1000 });
    } finally {
      await closeClient(client);
    }
  });

  it("filters log messages below the level set with logging/setLevel and delivers the rest", async () => {
    const { client } = await connect();
    try {
      const messages: { level: string; data: unknown }[] = [];
      client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
        messages.push(notification.params);
      });
      await client.setLoggingLevel("warning", { timeout: REQUEST_TIMEOUT_MS });
      expect(await callText(client, "log", { level: "info", message: "quiet" })).toMatch(
        /^filtered/,
      );
      expect(await callText(client, "log", { level: "error", message: "loud" })).toBe(
        "sent at error",
      );
      await waitFor(() => messages.length > 0, {
        timeoutMs: REQUEST_TIMEOUT_MS,
        what: "a notifications/message",
      });
      expect(messages).toEqual([
        expect.objectContaining({ level: "error", data: "loud", logger: "dormouse.log-tool" }),
      ]);
    } finally {
      await closeClient(client);
    }
  });
});

describe("hibernation", () => {
  it.concurrent("keeps version, client info, log level and tool state when the object is evicted under an open socket", async ({
    expect,
  }) => {
    const { client, sessionIdFromInitialize } = await connect();
    try {
      await client.setLoggingLevel("warning", { timeout: REQUEST_TIMEOUT_MS });
      expect(await callText(client, "counter")).toBe("1");
      const before = await sessionInfo(client);

      // No traffic at all: let workerd evict the object (after ~10 s idle). On a
      // loaded two-core machine the eviction can slip past one idle period, so
      // allow a bounded number of them; each probe resets the idle clock.
      let after = before;
      for (let attempt = 0; attempt < MAX_IDLE_PERIODS && after.wakes <= before.wakes; attempt++) {
        await sleep(IDLE_FOR_EVICTION_MS);
        after = await sessionInfo(client);
      }
      expect(after.wakes).toBeGreaterThan(before.wakes);
      expect(after).toMatchObject({
        sessionId: sessionIdFromInitialize,
        protocolVersion: "2025-11-25",
        clientInfo: CLIENT_INFO,
        logLevel: "warning",
        phase: "ready",
        attachGeneration: before.attachGeneration,
      });
      expect(await callText(client, "counter")).toBe("2");
      expect(await callText(client, "log", { level: "info", message: "still quiet" })).toMatch(
        /^filtered/,
      );
    } finally {
      await closeClient(client);
    }
  });

  it.concurrent("restores a session whose object was evicted while no socket was attached", async ({
    expect,
  }) => {
    const { client, sessionIdFromInitialize } = await connect();
    await client.setLoggingLevel("error", { timeout: REQUEST_TIMEOUT_MS });
    expect(await callText(client, "counter")).toBe("1");
    const before = await sessionInfo(client);
    await closeClient(client);

    await sleep(IDLE_FOR_EVICTION_MS);

    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws?session=${sessionIdFromInitialize}`);
    try {
      const info = JSON.parse(
        firstText(await socket.call("tools/call", { name: "session_info", arguments: {} })),
      ) as SessionInfo;
      expect(info.wakes).toBeGreaterThan(before.wakes);
      expect(info).toMatchObject({
        protocolVersion: "2025-11-25",
        clientInfo: CLIENT_INFO,
        logLevel: "error",
        attachGeneration: before.attachGeneration + 1,
      });
      const counter = await socket.call("tools/call", { name: "counter", arguments: {} });
      expect(firstText(counter)).toBe("2");
    } finally {
      await socket.close();
    }
  });
});

describe("re-attaching with ?session=", () => {
  it("accepts the v1 SDK's second initialize on an existing session and keeps tool state", async () => {
    const first = await connect();
    const sessionId = first.sessionIdFromInitialize;
    expect(sessionId).toBeDefined();
    expect(await callText(first.client, "counter")).toBe("1");
    await closeClient(first.client);

    const second = await connect(`/ws?session=${sessionId}`);
    try {
      // The server returns the same id: the renegotiation did not mint a new session.
      expect(second.sessionIdFromInitialize).toBe(sessionId);
      expect(await callText(second.client, "counter")).toBe("2");
      const info = await sessionInfo(second.client);
      expect(info).toMatchObject({ sessionId, phase: "ready", attachGeneration: 2 });
    } finally {
      await closeClient(second.client);
    }
  });

  it("serves tools/call on a raw re-attached socket without a new initialize", async () => {
    const { client, sessionIdFromInitialize } = await connect();
    expect(await callText(client, "counter")).toBe("1");
    await closeClient(client);

    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws?session=${sessionIdFromInitialize}`);
    try {
      expect(socket.ws.protocol).toBe("mcp");
      const counter = await socket.call("tools/call", { name: "counter", arguments: {} });
      expect(firstText(counter)).toBe("2");
    } finally {
      await socket.close();
    }
  });

  it("drops what still arrives on the older socket after a re-attach: it cannot take the session back", async () => {
    const older = await DeafSocket.open(`${gateway.wsUrl}/ws`, REQUEST_TIMEOUT_MS);
    const newer: RpcSocket[] = [];
    try {
      const sessionId = String(older.headers["mcp-session-id"]);
      older.sendJson({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: CLIENT_INFO },
      });
      await older.response(1, REQUEST_TIMEOUT_MS);
      older.sendJson({ jsonrpc: "2.0", method: "notifications/initialized" });
      newer.push(await RpcSocket.open(`${gateway.wsUrl}/ws?session=${sessionId}`));
      expect(await older.closeCode(REQUEST_TIMEOUT_MS)).toBe(CLOSE_SUPERSEDED);
      // The older client has not read its close: it still sends, and the gateway still
      // receives what it sends (a client whose frames were on the wire before the close).
      older.sendJson({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "counter", arguments: { by: 100 } },
      });
      // Served, it would be within milliseconds: the counter would read 100, and the
      // session would answer on the closed socket (its reply lost).
      await sleep(500);
      const socket = newer[0] as RpcSocket;
      const counter = await socket.call("tools/call", { name: "counter", arguments: { by: 1 } });
      expect(firstText(counter)).toBe("1");
      const echo = await socket.call("tools/call", { name: "echo", arguments: { text: "mine" } });
      expect(firstText(echo)).toBe("mine");
      expect(older.messages().some((message) => message.id === 2)).toBe(false);
    } finally {
      older.destroy();
      for (const socket of newer) await socket.close();
    }
  });

  it("closes the older socket with 4001 when a newer one re-attaches", async () => {
    const { client, sessionIdFromInitialize } = await connect();
    const url = `${gateway.wsUrl}/ws?session=${sessionIdFromInitialize}`;
    const older = await RpcSocket.open(url);
    // The older socket talks first, as every real client does. A socket that never sent a
    // frame does not finish the server-initiated close on local workerd (it stays CLOSING
    // until some other event reaches the object): a runtime quirk, not Dormouse's.
    await older.call("ping");
    const newer = await RpcSocket.open(url);
    try {
      const closed = await withTimeout(
        older.closed,
        REQUEST_TIMEOUT_MS,
        "the older socket's close",
      );
      expect(closed.code).toBe(CLOSE_SUPERSEDED);
      const echo = await newer.call("tools/call", { name: "echo", arguments: { text: "mine" } });
      expect(firstText(echo)).toBe("mine");
    } finally {
      await newer.close();
      await closeClient(client);
    }
  });

  it("answers 404 to a session id that names no session", async () => {
    const unknown = "0".repeat(64);
    const response = await rawUpgrade(`${gateway.wsUrl}/ws?session=${unknown}`, {
      protocol: "mcp",
    });
    expect(response.status).toBe(404);
    const malformed = await rawUpgrade(`${gateway.wsUrl}/ws?session=not-an-id`, {
      protocol: "mcp",
    });
    expect(malformed.status).toBe(404);
  });
});
