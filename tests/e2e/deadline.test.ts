/**
 * The request deadline (REQUEST_DEADLINE_MS, at most MAX_TOOL_CALL_MS): a call
 * that runs past it gets -32001 at the deadline, on both transports, and the
 * session keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_TIMEOUT } from "../../shared/errors";
import { type Gateway, startGateway } from "../helpers/process";
import { RpcSocket } from "../helpers/rpc-socket";

const DEADLINE_MS = 1_000;
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({ vars: { REQUEST_DEADLINE_MS: String(DEADLINE_MS) } });
});

afterAll(async () => {
  await gateway?.stop();
});

describe("request deadline", () => {
  it("answers -32001 at the deadline over WebSocket and keeps the session usable", async () => {
    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws`);
    try {
      await socket.call("initialize", {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "deadline", version: "1" },
      });
      const started = Date.now();
      const reply = await socket.request("tools/call", {
        name: "sleep",
        arguments: { ms: 10_000 },
      });
      expect(reply.error?.code).toBe(REQUEST_TIMEOUT);
      expect(reply.error?.message).toMatch(/timed out after 1000 ms/);
      expect(Date.now() - started).toBeLessThan(8_000);
      const echo = await socket.call("tools/call", {
        name: "echo",
        arguments: { text: "still here" },
      });
      expect(JSON.stringify(echo)).toContain("still here");
    } finally {
      await socket.close();
    }
  });

  it("answers -32001 at the deadline over stateless HTTP (2026-07-28)", async () => {
    const response = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "sleep",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: {
          name: "sleep",
          arguments: { ms: 10_000 },
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
      signal: AbortSignal.timeout(8_000),
    });
    const body = (await response.json()) as { error?: { code: number } };
    expect(body.error?.code).toBe(REQUEST_TIMEOUT);
  });
});
