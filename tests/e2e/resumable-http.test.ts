/**
 * Resumable Streamable HTTP end to end, with the v1 SDK's own
 * StreamableHTTPClientTransport, unchanged, against `wrangler dev`:
 * - SSE polling: a call waiting for a person's elicitation answer ends its
 *   reply stream after the request (an event id and `retry`); the SDK resumes
 *   with Last-Event-ID on a stream the Worker holds, so the session object
 *   sleeps while the person takes 15 s (its wake counter proves it), and the
 *   answer still completes the call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { sleep } from "../helpers/wait";

/** Local workerd evicts an object after about 10 s without events or timers. */
const PERSON_THINKS_MS = 15_000;
const CALL_TIMEOUT_MS = 60_000;

let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({ vars: { TOOLSETS: "default,conformance" } });
});

afterAll(async () => {
  await gateway?.stop();
});

async function sdkClient(capabilities: Record<string, unknown> = {}) {
  const client = new Client({ name: "resumable-http-e2e", version: "1.0.0" }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`));
  await client.connect(transport);
  return { client, transport };
}

async function wakes(client: Client): Promise<number> {
  const result = (await client.callTool({ name: "session_info", arguments: {} })) as CallToolResult;
  const block = result.content[0];
  if (block?.type !== "text") throw new Error("session_info returned no text");
  return (JSON.parse(block.text) as { wakes: number }).wakes;
}

describe("a call waiting for a person over Streamable HTTP", () => {
  it(
    "lets the session object sleep while the person thinks, then completes the call",
    async () => {
      const { client } = await sdkClient({ elicitation: {} });
      let asked = 0;
      client.setRequestHandler(ElicitRequestSchema, async () => {
        asked += 1;
        await sleep(PERSON_THINKS_MS);
        return { action: "accept", content: { username: "dora", email: "dora@example.com" } };
      });
      try {
        const before = await wakes(client);
        const result = (await client.callTool(
          { name: "test_elicitation", arguments: { message: "Who are you?" } },
          undefined,
          { timeout: CALL_TIMEOUT_MS },
        )) as CallToolResult;
        expect(asked).toBe(1);
        const block = result.content[0];
        expect(block?.type === "text" ? block.text : "").toMatch(/dora/);
        // The object was evicted and woken while the person was thinking.
        expect(await wakes(client)).toBeGreaterThan(before);
      } finally {
        await client.close();
      }
    },
    CALL_TIMEOUT_MS + 10_000,
  );
});
