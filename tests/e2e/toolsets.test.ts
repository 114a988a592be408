/**
 * End to end for the TOOLSETS var: gateways started with `--var TOOLSETS:...`
 * advertise and serve exactly the tools of the toolsets they name.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { firstText } from "../helpers/rpc-socket";
import { withTimeout } from "../helpers/wait";

const REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_TOOLS = ["add", "approve", "counter", "echo", "log", "session_info", "sleep", "wait"];
const EXTRAS_TOOLS = ["now", "reverse"];

let both: Gateway | undefined;
let extrasOnly: Gateway | undefined;

beforeAll(async () => {
  // Start both at once; if one fails, the other is still stopped in afterAll.
  const started = await Promise.allSettled([
    startGateway({ vars: { TOOLSETS: "default,extras" } }),
    startGateway({ vars: { TOOLSETS: "extras" } }),
  ]);
  if (started[0].status === "fulfilled") both = started[0].value;
  if (started[1].status === "fulfilled") extrasOnly = started[1].value;
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
});

afterAll(async () => {
  await Promise.all([both?.stop(), extrasOnly?.stop()]);
});

async function withClient<T>(gateway: Gateway | undefined, use: (c: Client) => Promise<T>) {
  if (!gateway) throw new Error("gateway did not start");
  const client = new Client({ name: "dormouse-e2e-toolsets", version: "1.0.0" });
  const transport = new WebSocketClientTransport(new URL(`${gateway.wsUrl}/ws`));
  await withTimeout(client.connect(transport), REQUEST_TIMEOUT_MS, "initialize");
  try {
    return await use(client);
  } finally {
    await withTimeout(client.close(), REQUEST_TIMEOUT_MS, "the client to close");
  }
}

async function toolNames(client: Client): Promise<string[]> {
  const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
  return tools.map((t) => t.name).sort();
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: REQUEST_TIMEOUT_MS,
  })) as CallToolResult;
}

describe("TOOLSETS", () => {
  it("reports the enabled toolsets on /healthz", async () => {
    const response = await fetch(`${both?.url}/healthz`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    expect(await response.json()).toMatchObject({ toolsets: ["default", "extras"] });
  });

  it("lists the extras tools beside the default ones with default,extras", async () => {
    await withClient(both, async (client) => {
      expect(await toolNames(client)).toEqual([...DEFAULT_TOOLS, ...EXTRAS_TOOLS].sort());
    });
  });

  it("runs reverse and now from the extras toolset", async () => {
    await withClient(both, async (client) => {
      expect(firstText(await call(client, "reverse", { text: "dormouse" }))).toBe("esuomrod");
      const now = Date.parse(firstText(await call(client, "now", {})));
      expect(Math.abs(now - Date.now())).toBeLessThan(60_000);
      expect(firstText(await call(client, "add", { a: 2, b: 3 }))).toBe("5");
    });
  });

  it("lists only reverse and now with extras alone, and refuses a default tool", async () => {
    await withClient(extrasOnly, async (client) => {
      expect(await toolNames(client)).toEqual(EXTRAS_TOOLS);
      await expect(call(client, "echo", { text: "gone" })).rejects.toThrow(/Unknown tool: echo/);
    });
  });
});
