/**
 * End to end for the 2026-07-28 era over a raw WebSocket against a real
 * `wrangler dev`: no initialize, the version, client info and capabilities
 * travel in each request's `params._meta`, and every result says
 * `resultType: "complete"`. Also checks the 101 response itself (subprotocol
 * echo, Mcp-Session-Id), which Node's WebSocket does not expose.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METHOD_NOT_FOUND } from "../../shared/errors";
import {
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
} from "../../shared/protocol";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText, RpcSocket, rawUpgrade } from "../helpers/rpc-socket";
import { sleep, waitFor } from "../helpers/wait";

const MODERN_VERSION = "2026-07-28";
const CLIENT_INFO = { name: "dormouse-e2e-modern", version: "2.0.0" };
const ENVELOPE = {
  [META_PROTOCOL_VERSION]: MODERN_VERSION,
  [META_CLIENT_INFO]: CLIENT_INFO,
  [META_CLIENT_CAPABILITIES]: {},
};

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  await gateway?.stop();
});

/** A fresh session socket; each test closes its own. */
function openSocket(): Promise<RpcSocket> {
  return RpcSocket.open(`${gateway.wsUrl}/ws`);
}

function callTool(socket: RpcSocket, name: string, args: Record<string, unknown>) {
  return socket.call("tools/call", { name, arguments: args, _meta: ENVELOPE });
}

describe("2026-07-28 over WebSocket", () => {
  it("answers server/discover without initialize", async () => {
    const socket = await openSocket();
    try {
      expect(socket.ws.protocol).toBe("mcp");
      const result = await socket.call("server/discover", { _meta: ENVELOPE });
      expect(result.resultType).toBe("complete");
      expect(result.supportedVersions).toContain(MODERN_VERSION);
      expect(result.capabilities).toMatchObject({ tools: {} });
      expect(result._meta).toMatchObject({ [META_SERVER_INFO]: { name: "dormouse" } });
    } finally {
      await socket.close();
    }
  });

  it("serves tools/call for echo and add from the per-request _meta envelope", async () => {
    const socket = await openSocket();
    try {
      await socket.call("server/discover", { _meta: ENVELOPE });
      const echo = await callTool(socket, "echo", { text: "no handshake needed" });
      expect(echo.resultType).toBe("complete");
      expect(firstText(echo)).toBe("no handshake needed");
      const add = await callTool(socket, "add", { a: 2, b: 3 });
      expect(add.resultType).toBe("complete");
      expect(firstText(add)).toBe("5");
    } finally {
      await socket.close();
    }
  });

  it("reports the era and client info of the request, not of a handshake", async () => {
    const socket = await openSocket();
    try {
      const info = JSON.parse(firstText(await callTool(socket, "session_info", {})));
      expect(info).toMatchObject({
        era: MODERN_VERSION,
        protocolVersion: MODERN_VERSION,
        clientInfo: CLIENT_INFO,
        phase: "new",
      });
    } finally {
      await socket.close();
    }
  });

  it("answers -32601 to ping, which 2026-07-28 removed", async () => {
    const socket = await openSocket();
    try {
      const response = await socket.request("ping", { _meta: ENVELOPE });
      expect(response.error?.code).toBe(METHOD_NOT_FOUND);
    } finally {
      await socket.close();
    }
  });

  it("echoes the mcp subprotocol and names the session in Mcp-Session-Id on the 101", async () => {
    const response = await rawUpgrade(`${gateway.wsUrl}/ws`, { protocol: "mcp" });
    expect(response.status).toBe(101);
    expect(response.headers["sec-websocket-protocol"]).toBe("mcp");
    expect(response.headers["mcp-session-id"]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("2026-07-28 over HTTP: a client that hangs up", () => {
  let limited: Gateway;
  beforeAll(async () => {
    limited = await startGateway({ vars: { STATELESS_MAX_IN_FLIGHT: "1" } });
  });
  afterAll(async () => {
    await limited?.stop();
  });

  const call = (
    id: number,
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    meta: Record<string, unknown> = {},
  ) =>
    fetch(`${limited.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN_VERSION,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name, arguments: args, _meta: { ...ENVELOPE, ...meta } },
      }),
      signal,
    });

  it("cancels its streamed call: the work stops and its in-flight place is free at once", async () => {
    const hangUp = new AbortController();
    // A progress token makes the reply a stream at once (the runtime reports a
    // hang-up through request.signal once the response has begun).
    const slow = await call(1, "sleep", { ms: 30_000 }, hangUp.signal, { progressToken: "p" });
    expect(slow.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    await sleep(300);
    hangUp.abort();
    // Before: 429 -32006 until the abandoned sleep ended 30 s later.
    const status = await waitFor(
      async () => {
        const response = await call(2, "echo", { text: "next" }, AbortSignal.timeout(5_000));
        await response.body?.cancel();
        return response.status === 200 ? 200 : false;
      },
      { timeoutMs: 5_000, intervalMs: 200, what: "the place freed by the hung-up call" },
    );
    expect(status).toBe(200);
  });
});
