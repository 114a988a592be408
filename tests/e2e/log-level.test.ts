/**
 * LOG_LEVEL against `wrangler dev`: at `warn` a new session writes no
 * `session_created` line while warnings still appear (a rejected binary
 * frame); an unknown value keeps `info` (the session line appears) and the
 * gateway says `log_level_invalid` once at start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { RpcSocket } from "../helpers/rpc-socket";
import { waitFor } from "../helpers/wait";

const TIMEOUT_MS = 20_000;
let quiet: Gateway | undefined;
let unknown: Gateway | undefined;

beforeAll(async () => {
  [quiet, unknown] = await Promise.all([
    startGateway({ vars: { LOG_LEVEL: "warn" } }),
    startGateway({ vars: { LOG_LEVEL: "verbose" } }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([quiet?.stop(), unknown?.stop()]);
}, 60_000);

/** Opens and initializes a session, then sends a binary frame (refused with a warn line). */
async function sessionThenBinaryFrame(gateway: Gateway): Promise<string> {
  const socket = await RpcSocket.open(`${gateway.wsUrl}/ws`);
  await socket.call("initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "log-level", version: "1" },
  });
  const info = await socket.call("tools/call", { name: "session_info", arguments: {} });
  const sessionId = JSON.stringify(info).match(/[0-9a-f]{64}/)?.[0] ?? "";
  expect(sessionId).not.toBe("");
  socket.ws.send(new Uint8Array([1, 2, 3]));
  await socket.close();
  return sessionId;
}

function linesOf(gateway: Gateway, sessionId: string): string[] {
  return gateway
    .fullLog()
    .split("\n")
    .filter((line) => line.includes(sessionId));
}

describe("LOG_LEVEL", () => {
  it("at warn, writes the session's warning and not its info lines", async () => {
    if (!quiet) throw new Error("gateway not started");
    const gateway = quiet;
    const sessionId = await sessionThenBinaryFrame(gateway);
    const lines = await waitFor(
      () => {
        const found = linesOf(gateway, sessionId);
        return found.some((line) => line.includes('"frame_rejected"')) && found;
      },
      { timeoutMs: TIMEOUT_MS, what: "the frame_rejected line" },
    );
    expect(lines.filter((line) => line.includes('"session_created"'))).toEqual([]);
  });

  it("for an unknown value, keeps info and says so at start", async () => {
    if (!unknown) throw new Error("gateway not started");
    const gateway = unknown;
    const sessionId = await sessionThenBinaryFrame(gateway);
    await waitFor(
      () => linesOf(gateway, sessionId).some((line) => line.includes('"session_created"')),
      { timeoutMs: TIMEOUT_MS, what: "the session_created line" },
    );
    expect(gateway.fullLog()).toContain('"log_level_invalid"');
    expect(gateway.fullLog()).toContain('"value":"verbose"');
  });
});
