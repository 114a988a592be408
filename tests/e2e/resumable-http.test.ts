/**
 * Resumable Streamable HTTP end to end, with the v1 SDK's own
 * StreamableHTTPClientTransport, unchanged, against `wrangler dev`:
 * - SSE polling: a call waiting for a person's elicitation answer ends its
 *   reply stream after the request (an event id and `retry`); the SDK resumes
 *   with Last-Event-ID on a stream the Worker holds, so the session object
 *   sleeps while the person takes 15 s (its wake counter proves it), and the
 *   answer still completes the call.
 * - A cut network: the TCP connection carrying a call's reply stream is reset
 *   mid-call (a test-controlled proxy); the SDK reconnects by itself with
 *   Last-Event-ID, and the call completes with every progress notification
 *   exactly once, none lost to the cut and none replayed twice. A client that
 *   restarts (a new SDK Client holding only the session id and the last event
 *   id) resumes the same reply stream with resumeStream and gets the result.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  ElicitRequestSchema,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { sseOf } from "../helpers/sse";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

/** Local workerd evicts an object after about 10 s without events or timers. */
const PERSON_THINKS_MS = 15_000;
const CALL_TIMEOUT_MS = 60_000;

/** The sleep tool reports progress every 250 ms (PROGRESS_INTERVAL_MS). */
const SLEEP_MS = 4_000;
const PROGRESS_STEP_MS = 250;

let gateway: Gateway;
let proxy: TcpProxy;

beforeAll(async () => {
  gateway = await startGateway({ vars: { TOOLSETS: "default,conformance" } });
  proxy = await startTcpProxy(gateway.port);
});

afterAll(async () => {
  await proxy?.close();
  await gateway?.stop();
});

async function sdkClient(
  capabilities: Record<string, unknown> = {},
  options: { viaProxy?: boolean; sessionId?: string } = {},
) {
  const client = new Client({ name: "resumable-http-e2e", version: "1.0.0" }, { capabilities });
  const base = options.viaProxy ? `http://127.0.0.1:${proxy.port}` : gateway.url;
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    sessionId: options.sessionId,
    // Retry soon and a few times: the proxy lets the reconnection through at once.
    reconnectionOptions: {
      initialReconnectionDelay: 200,
      maxReconnectionDelay: 2_000,
      reconnectionDelayGrowFactor: 2,
      maxRetries: 5,
    },
  });
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

/** Every progress value the sleep tool reports for SLEEP_MS, in order. */
const ALL_STEPS = Array.from(
  { length: SLEEP_MS / PROGRESS_STEP_MS },
  (_, i) => (i + 1) * PROGRESS_STEP_MS,
);

describe("a reply stream cut mid-call", () => {
  it(
    "is resumed by the SDK with Last-Event-ID: the result and every progress notification arrive once",
    async () => {
      const { client } = await sdkClient({}, { viaProxy: true });
      try {
        const seen: number[] = [];
        const tokens: string[] = [];
        const acceptedBefore = proxy.accepted;
        const call = client.request(
          { method: "tools/call", params: { name: "sleep", arguments: { ms: SLEEP_MS } } },
          CallToolResultSchema,
          {
            timeout: CALL_TIMEOUT_MS,
            onprogress: (progress: Progress) => seen.push(progress.progress),
            onresumptiontoken: (token: string) => tokens.push(token),
          },
        );
        // Cut once a few notifications arrived, well before the tool ends.
        await waitFor(() => seen.length >= 3, {
          timeoutMs: 10_000,
          what: "three progress notifications",
        });
        // The network is gone for a second (the SDK's first retries fail), so
        // about four notifications are produced while no stream is open: they
        // reach the client only if the reconnection replays them.
        proxy.down();
        const seenAtCut = seen.length;
        await sleep(1_000);
        proxy.up();
        const result = await withTimeout(call, CALL_TIMEOUT_MS, "the call after the cut");
        expect(result.content[0]).toEqual({ type: "text", text: `slept ${SLEEP_MS} ms` });
        // The reconnection was a new TCP connection, and it resumed from an event id.
        expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
        expect(new Set(tokens).size).toBe(tokens.length);
        expect(seen).toEqual(ALL_STEPS);
        expect(seenAtCut).toBeLessThan(ALL_STEPS.length - 3);
        // The session is still usable on the same transport.
        const echo = (await client.callTool({
          name: "echo",
          arguments: { text: "after" },
        })) as CallToolResult;
        expect(echo.content[0]).toEqual({ type: "text", text: "after" });
      } finally {
        await client.close();
      }
    },
    CALL_TIMEOUT_MS + 10_000,
  );

  it(
    "is resumed by a restarted client holding only the session id and the last event id",
    async () => {
      const first = await sdkClient({}, { viaProxy: true });
      const sessionId = first.transport.sessionId;
      if (!sessionId) throw new Error("no session id after initialize");
      let lastToken: string | undefined;
      const seen: number[] = [];
      const abandoned = first.client
        .request(
          { method: "tools/call", params: { name: "sleep", arguments: { ms: SLEEP_MS } } },
          CallToolResultSchema,
          {
            timeout: CALL_TIMEOUT_MS,
            onprogress: (progress: Progress) => seen.push(progress.progress),
            onresumptiontoken: (token: string) => {
              lastToken = token;
            },
          },
        )
        .catch(() => "abandoned");
      await waitFor(() => seen.length >= 2 && lastToken, {
        timeoutMs: 10_000,
        what: "two progress notifications and an event id",
      });
      // The process dies: the network is gone before it can reconnect, and its
      // transport is dropped without a DELETE (close() would end the session).
      proxy.down();
      const heldToken = lastToken as string;
      const seenBefore = seen.length;
      await first.transport.close();
      await abandoned;
      proxy.up();
      // The restart takes a second: about four notifications are produced with
      // no stream open, and reach the new client only by replay.
      await sleep(1_000);

      const second = new Client({ name: "resumable-http-e2e-restarted", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), {
        sessionId,
      });
      // The restarted client skips initialize: it adopts the session it had.
      await second.connect(transport);
      try {
        const later: number[] = [];
        let resumedResult: CallToolResult | undefined;
        transport.onmessage = (message) => {
          const m = message as {
            method?: string;
            params?: { progress?: number };
            result?: unknown;
          };
          if (m.method === "notifications/progress" && typeof m.params?.progress === "number") {
            later.push(m.params.progress);
          } else if (m.result !== undefined) {
            resumedResult = m.result as CallToolResult;
          }
        };
        await transport.resumeStream(heldToken);
        await waitFor(() => resumedResult, {
          timeoutMs: CALL_TIMEOUT_MS,
          what: "the resumed result",
        });
        expect(resumedResult?.content[0]).toEqual({ type: "text", text: `slept ${SLEEP_MS} ms` });
        // Everything after the held event id, once: together with what the first
        // client saw up to that id, every step exactly once.
        expect([...seen.slice(0, seenBefore), ...later]).toEqual(ALL_STEPS);
      } finally {
        await transport.terminateSession().catch(() => undefined);
        await second.close();
      }
    },
    CALL_TIMEOUT_MS + 10_000,
  );
});

describe("a reply stream whose call a gateway restart took", () => {
  const restarted: Gateway[] = [];
  let persistDir: string | undefined;

  afterAll(async () => {
    await Promise.all(restarted.map((g) => g.stop()));
    if (persistDir) await rm(persistDir, { recursive: true, force: true, maxRetries: 3 });
  });

  const post = (url: string, body: unknown, sessionId?: string) =>
    fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        ...(sessionId ? { "Mcp-Session-Id": sessionId } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });

  it("ends the resumed stream with REQUEST_LOST (-32008) instead of holding it open", async () => {
    persistDir = await mkdtemp(join(tmpdir(), "dormouse-resume-http-crash-"));
    const first = await startGateway({ persistTo: persistDir, keepState: true });
    restarted.push(first);
    const init = await post(first.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "restart-e2e", version: "1.0.0" },
      },
    });
    const sessionId = init.headers.get("Mcp-Session-Id") ?? "";
    expect(sessionId).toMatch(/^[0-9a-f]{64}$/);
    await init.text();
    await (
      await post(first.url, { jsonrpc: "2.0", method: "notifications/initialized" }, sessionId)
    ).text();
    const call = await post(
      first.url,
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "sleep", arguments: { ms: 60_000 }, _meta: { progressToken: "t" } },
      },
      sessionId,
    );
    const reader = sseOf(call);
    const seen = await reader.messages({ until: (m) => m.method === "notifications/progress" });
    expect(seen.length).toBeGreaterThan(0);
    const lastEventId = [...reader.items].reverse().find((item) => item.kind === "event")?.id ?? "";
    expect(lastEventId).toMatch(/^[0-9a-f]{16}\.\d+$/);
    await first.crash();
    await reader.cancel().catch(() => {});

    const second = await startGateway({ persistTo: persistDir, keepState: true });
    restarted.push(second);
    const resumed = await fetch(`${second.url}/mcp`, {
      headers: {
        Accept: "text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        "Mcp-Session-Id": sessionId,
        "Last-Event-ID": lastEventId,
      },
      signal: AbortSignal.timeout(30_000),
    });
    expect(resumed.status).toBe(200);
    // Before: kept open with keepalives; now the call's reply says it was lost, and the stream ends.
    const rest = await sseOf(resumed).messages({ timeoutMs: 10_000 });
    expect(rest.at(-1)).toMatchObject({ id: 7, error: { code: -32008 } });
  }, 90_000);
});
