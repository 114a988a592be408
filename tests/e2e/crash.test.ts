/**
 * Crash safety: what a client saw acknowledged survives a SIGKILL of the
 * whole gateway (wrangler and both workerd processes, at once, no shutdown)
 * and a restart on the same `--persist-to` state.
 *
 * A WebSocket session counts to 3, sets its log level to "error" and
 * subscribes to dormouse://about; an HTTP session counts to 2; a `sleep` call
 * is still running when the process group is killed; a third session is
 * killed right after its initialize was answered. After the restart the
 * sessions are re-attached by id and must hold exactly the acknowledged state.
 * A principal's session holds a slot of MAX_SESSIONS_PER_PRINCIPAL, so it is
 * durable from its 101, before any message: it too is there after a kill.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SESSION_ID_HEADER } from "../../shared/limits";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText } from "../helpers/rpc-socket";
import { withTimeout } from "../helpers/wait";
import { WsRpc } from "../helpers/ws-client";

const REQUEST_TIMEOUT_MS = 10_000;
const URI = "dormouse://about";
const POST_ACCEPT = "application/json, text/event-stream";

const gateways: Gateway[] = [];
let persistDir: string | undefined;

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  if (persistDir) await rm(persistDir, { recursive: true, force: true, maxRetries: 3 });
});

/** PIDs whose process group is `pgid` (Linux /proc; empty elsewhere). */
function groupMembers(pgid: number): { pid: number; name: string }[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const members: { pid: number; name: string }[] = [];
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // After the name: state, ppid, pgrp.
      if (Number(fields[2]) === pgid && fields[0] !== "Z")
        members.push({ pid: Number(entry), name });
    } catch {
      // The process exited while we looked.
    }
  }
  return members;
}

async function post(gateway: Gateway, body: unknown, sessionId?: string): Promise<Response> {
  return fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: POST_ACCEPT,
      ...(sessionId ? { [SESSION_ID_HEADER]: sessionId } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

async function httpCounter(gateway: Gateway, sessionId: string, by: number): Promise<number> {
  const response = await post(
    gateway,
    {
      jsonrpc: "2.0",
      id: `c${by}`,
      method: "tools/call",
      params: { name: "counter", arguments: { by } },
    },
    sessionId,
  );
  expect(response.status).toBe(200);
  const reply = (await response.json()) as { result: Record<string, unknown> };
  return Number(firstText(reply.result));
}

async function wsCounter(socket: WsRpc, by: number): Promise<number> {
  return Number(firstText(await socket.call("tools/call", { name: "counter", arguments: { by } })));
}

describe("a SIGKILL of the whole gateway", () => {
  it("loses nothing that was acknowledged: counters, log level and subscriptions survive a restart on the same state", async () => {
    persistDir = await mkdtemp(join(tmpdir(), "dormouse-crash-"));
    const first = await startGateway({ persistTo: persistDir, keepState: true });
    gateways.push(first);

    // A WebSocket session with acknowledged state.
    const socket = await WsRpc.open(`${first.wsUrl}/ws`);
    const wsId = socket.sessionId;
    await socket.initialize();
    for (const expected of [1, 2, 3]) expect(await wsCounter(socket, 1)).toBe(expected);
    await socket.call("logging/setLevel", { level: "error" });
    await socket.call("resources/subscribe", { uri: URI });

    // An HTTP session with acknowledged state.
    const init = await post(first, {
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "dormouse-crash", version: "1" },
      },
    });
    expect(init.status).toBe(200);
    const httpId = init.headers.get(SESSION_ID_HEADER) ?? "";
    await init.body?.cancel();
    expect(httpId).toMatch(/^[0-9a-f]{64}$/);
    expect(await httpCounter(first, httpId, 2)).toBe(2);

    // A WebSocket session whose only write, its initialize, was answered just before the kill:
    // the row, the handshake and the expiry alarm are one commit, made before that reply.
    const justOpened = await WsRpc.open(`${first.wsUrl}/ws`);
    const justOpenedId = justOpened.sessionId;
    await justOpened.call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "dormouse-crash-late", version: "1" },
    });

    // Work in flight at the moment of the kill: never acknowledged, must not corrupt anything.
    socket.send({
      jsonrpc: "2.0",
      id: "in-flight",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 5_000 } },
    });

    const members = groupMembers(first.pid);
    if (members.length > 0) {
      // wrangler plus its two workerd processes (proxy and runtime).
      expect(members.filter((m) => m.name.startsWith("workerd")).length).toBeGreaterThanOrEqual(2);
    }
    await first.crash();
    expect(groupMembers(first.pid)).toEqual([]);
    const dropped = await withTimeout(socket.closed, REQUEST_TIMEOUT_MS, "the socket to drop");
    expect(dropped.code).not.toBe(1000);

    const second = await startGateway({ persistTo: persistDir, keepState: true });
    gateways.push(second);

    const again = await WsRpc.open(`${second.wsUrl}/ws?session=${wsId}`);
    try {
      expect(await wsCounter(again, 1)).toBe(4);
      const info = await again.sessionInfo();
      expect(info).toMatchObject({
        sessionId: wsId,
        phase: "ready",
        protocolVersion: "2025-11-25",
        logLevel: "error",
      });
      expect(info.subscriptions).toContain(URI);
      // The log level is in force, not just recorded: an info line is filtered.
      const logged = await again.call("tools/call", {
        name: "log",
        arguments: { level: "info", message: "after the crash" },
      });
      expect(firstText(logged)).toMatch(/^filtered/);
      expect(again.received.some((m) => m.id === "in-flight")).toBe(false);
    } finally {
      await again.close();
    }

    expect(await httpCounter(second, httpId, 1)).toBe(3);

    const late = await WsRpc.open(`${second.wsUrl}/ws?session=${justOpenedId}`);
    try {
      const info = await late.sessionInfo();
      expect(info).toMatchObject({
        sessionId: justOpenedId,
        protocolVersion: "2025-11-25",
        clientInfo: { name: "dormouse-crash-late", version: "1" },
      });
      expect(await wsCounter(late, 1)).toBe(1);
    } finally {
      await late.close();
    }
  }, 120_000);

  it("keeps a principal's session it never initialized: its row, which frees the principal's slot when it expires, is written before the 101", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dormouse-crash-auth-"));
    const token = randomBytes(24).toString("hex");
    const vars = {
      AUTH_TOKEN_HASHES: `alice:${createHash("sha256").update(token).digest("hex")}`,
    };
    const headers = { Authorization: `Bearer ${token}` };
    try {
      const first = await startGateway({ persistTo: dir, keepState: true, vars });
      gateways.push(first);
      const socket = await WsRpc.open(`${first.wsUrl}/ws`, { headers });
      const sessionId = socket.sessionId;
      await first.crash();
      await withTimeout(socket.closed, REQUEST_TIMEOUT_MS, "the socket to drop");

      const second = await startGateway({ persistTo: dir, keepState: true, vars });
      gateways.push(second);
      const again = await WsRpc.open(`${second.wsUrl}/ws?session=${sessionId}`, { headers });
      try {
        await again.initialize();
        expect(await wsCounter(again, 1)).toBe(1);
      } finally {
        await again.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }, 120_000);
});
