/**
 * `dormouse connect` (bin/dormouse.mjs) driven by the v1 SDK's
 * StdioClientTransport, as Claude Desktop or an IDE would spawn it: run with
 * the system Node (20 here) when there is one, through a TCP proxy the test
 * controls, against a real `wrangler dev`. The bridge is started under
 * `setsid`, so it leads its own process group, registered for cleanup
 * (tests/helpers/process-groups.ts) the moment it has a PID.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_ID_HEADER } from "../../shared/limits";
import { type Gateway, startGateway } from "../helpers/process";
import { groupAlive, stopGroup, trackGroup } from "../helpers/process-groups";
import { firstText } from "../helpers/rpc-socket";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(REPO_ROOT, "bin", "dormouse.mjs");
/** The system Node (20 on this machine) when there is one: the bin must run on it. */
const NODE = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;
const CALL_TIMEOUT_MS = 30_000;

let gateway: Gateway;
let proxy: TcpProxy;

beforeAll(async () => {
  gateway = await startGateway();
  proxy = await startTcpProxy(gateway.port);
});

afterAll(async () => {
  await proxy?.close();
  await gateway?.stop();
});

interface Bridge {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  stderr(): string;
}

async function spawnBridge(): Promise<Bridge> {
  const transport = new StdioClientTransport({
    command: "setsid",
    args: [NODE, BIN, "connect", `${proxy.wsUrl}/ws`, "--keepalive-ms", "500"],
    stderr: "pipe",
    cwd: REPO_ROOT,
  });
  let log = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-8_000);
  });
  const client = new Client({ name: "dormouse-stdio-e2e", version: "1.0.0" });
  const connected = client.connect(transport);
  // StdioClientTransport has a PID once spawned: register the group before anything else.
  const pid = await waitFor(() => transport.pid ?? undefined, {
    timeoutMs: 10_000,
    intervalMs: 5,
    what: "the bridge to be spawned",
  });
  trackGroup(pid, "dormouse connect (stdio bridge)");
  await withTimeout(connected, 30_000, "the stdio client to initialize through the bridge").catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n--- bridge stderr ---\n${log}`);
    },
  );
  return { client, transport, pid, stderr: () => log };
}

async function callText(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: CALL_TIMEOUT_MS,
  })) as CallToolResult;
  return firstText(result);
}

describe(`dormouse connect (stdio bridge on ${NODE === process.execPath ? "the test's Node" : NODE})`, () => {
  it("completes a call that spans a connection reset, and exits when stdin closes", async () => {
    const bridge = await spawnBridge();
    try {
      // setsid made it the leader of its own group (else the registration would be void).
      expect(groupAlive(bridge.pid)).toBe(true);
      expect(await callText(bridge.client, "counter", {})).toBe("1");
      const call = callText(bridge.client, "sleep", { ms: 3_000 });
      await sleep(100);
      proxy.down();
      await sleep(1_900);
      proxy.up();
      expect(await withTimeout(call, CALL_TIMEOUT_MS, "the sleep call")).toBe("slept 3000 ms");
      expect(await callText(bridge.client, "counter", {})).toBe("2");
      expect(bridge.stderr()).toMatch(/connection dropped/);
      expect(bridge.stderr()).toMatch(/resumed: \d+ replayed, 0 lost, 1 still running/);
      await withTimeout(bridge.client.close(), 5_000, "the stdio client to close");
      await waitFor(() => !groupAlive(bridge.pid), {
        timeoutMs: 10_000,
        what: "the bridge to exit",
      });
    } finally {
      await stopGroup(bridge.pid);
    }
  });

  it("exits when its session is ended on the gateway, so the stdio client sees the server go", async () => {
    const bridge = await spawnBridge();
    try {
      const info = JSON.parse(await callText(bridge.client, "session_info", {})) as {
        sessionId: string;
      };
      const closed = new Promise<void>((resolve) => {
        bridge.client.onclose = () => resolve();
      });
      const response = await fetch(`${gateway.url}/mcp`, {
        method: "DELETE",
        headers: { [SESSION_ID_HEADER]: info.sessionId },
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBeLessThan(300);
      await withTimeout(closed, 10_000, "the stdio client to see the bridge exit");
      expect(bridge.stderr()).toMatch(/session closed: the session ended \(close 4004/);
    } finally {
      await stopGroup(bridge.pid);
    }
  });
});
