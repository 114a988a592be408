/**
 * The v1 SDK `Client` over client/'s resumable transport, for end-to-end
 * tests: connects (bounded), counts every answer the transport hands up per
 * request id (so a test can tell "exactly once" from "at least once"), keeps
 * the transport's events, and closes without waiting forever.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { nodeTransport } from "../../client/node";
import type {
  ResumableWebSocketOptions,
  ResumableWebSocketTransport,
  TransportEvent,
} from "../../client/resumable-websocket";
import { firstText } from "./rpc-socket";
import { withTimeout } from "./wait";

const CONNECT_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 5_000;
export const CLIENT_INFO = { name: "dormouse-resume-e2e", version: "1.0.0" };

export interface ResumableClient {
  client: Client;
  transport: ResumableWebSocketTransport;
  events: TransportEvent[];
  /** How many answers (results or errors) reached the Client, per request id. */
  answers: Map<string, number>;
  /** Why the transport reported the session gone, if it did (not counting close()). */
  gone(): string | undefined;
  callText(name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Fast re-attach and keepalive, so faults are noticed within a test's time. */
export const FAST: Partial<ResumableWebSocketOptions> = {
  backoff: { initialDelayMs: 50, maxDelayMs: 500 },
  keepaliveIntervalMs: 500,
  openTimeoutMs: 1_500,
};

export async function openResumableClient(
  wsUrl: string,
  options: Partial<ResumableWebSocketOptions> = {},
): Promise<ResumableClient> {
  const events: TransportEvent[] = [];
  const answers = new Map<string, number>();
  const transport = nodeTransport({
    url: `${wsUrl}/ws`,
    ...FAST,
    ...options,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  await withTimeout(client.connect(transport), CONNECT_TIMEOUT_MS, "the client to initialize");
  // Protocol.connect installed its handlers; count what passes through them.
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    if ("id" in message && !("method" in message)) {
      const key = JSON.stringify(message.id);
      answers.set(key, (answers.get(key) ?? 0) + 1);
    }
    deliver?.(message);
  };
  return {
    client,
    transport,
    events,
    answers,
    gone() {
      for (const event of events) {
        if (event.type === "closed" && event.reason !== "closed by the client") return event.reason;
      }
      return undefined;
    },
    async callText(name, args, timeoutMs = 20_000) {
      const result = (await client.callTool({ name, arguments: args }, undefined, {
        timeout: timeoutMs,
      })) as CallToolResult;
      if (result.isError) throw new Error(`${name} failed: ${firstText(result)}`);
      return firstText(result);
    },
    async close() {
      await withTimeout(client.close(), CLOSE_TIMEOUT_MS, "the client to close").catch(() => {});
    },
  };
}
