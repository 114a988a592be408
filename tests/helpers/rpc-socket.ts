/**
 * A minimal JSON-RPC client over Node's global WebSocket, for end-to-end tests
 * that need the raw wire: no SDK handshake, exact frames, close codes, and the
 * HTTP upgrade response (which the WebSocket API hides).
 *
 * Every wait is bounded. Envelopes come from `shared/errors` so tests build
 * messages the same way the gateway does.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { requestEnvelope } from "../../shared/errors";
import { MCP_SUBPROTOCOL } from "../../shared/limits";
import type { RequestId } from "../../shared/protocol";
import { nextEvent, waitFor, withTimeout } from "./wait";

const DEFAULT_TIMEOUT_MS = 10_000;

/** Any message the gateway sends: a response, a notification, or a request. */
export interface WireMessage {
  jsonrpc: "2.0";
  id?: RequestId | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface Closed {
  code: number;
  reason: string;
}

export class RpcSocket {
  /** Every message received, in order. */
  readonly received: WireMessage[] = [];
  readonly closed: Promise<Closed>;
  #nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.received.push(JSON.parse(event.data));
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
    });
  }

  /** Opens a socket offering the `mcp` subprotocol and waits for it to be open. */
  static async open(url: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RpcSocket> {
    const ws = new WebSocket(url, MCP_SUBPROTOCOL);
    const socket = new RpcSocket(ws);
    const failed = nextEvent(ws, "error", timeoutMs).then(() => {
      throw new Error(`WebSocket to ${url} failed to open`);
    });
    failed.catch(() => {});
    await withTimeout(Promise.race([nextEvent(ws, "open", timeoutMs), failed]), timeoutMs, "open");
    return socket;
  }

  /** Sends one request and waits for the response with the same id. */
  async request(
    method: string,
    params?: Record<string, unknown>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<WireMessage> {
    const id = this.#nextId++;
    this.send(requestEnvelope(id, method, params));
    return waitFor(() => this.received.find((m) => m.id === id && m.method === undefined), {
      timeoutMs,
      intervalMs: 10,
      what: `the response to ${method} (id ${id})`,
    });
  }

  /** Like `request`, but fails unless the response is a result; returns the result. */
  async call(
    method: string,
    params?: Record<string, unknown>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Record<string, unknown>> {
    const response = await this.request(method, params, timeoutMs);
    if (!response.result) {
      throw new Error(`${method} failed: ${JSON.stringify(response.error ?? response)}`);
    }
    return response.result;
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  notifications(method: string): WireMessage[] {
    return this.received.filter((m) => m.method === method && m.id === undefined);
  }

  /** Closes (1000) and waits, bounded, for the close handshake. */
  async close(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000, "test done");
    }
    return withTimeout(this.closed, timeoutMs, "the WebSocket to close");
  }
}

/** The text of a tool result's first content block. */
export function firstText(result: Record<string, unknown>): string {
  const content = result.content as { type: string; text?: string }[] | undefined;
  const block = content?.[0];
  if (block?.type !== "text" || typeof block.text !== "string") {
    throw new Error(`expected a text block, got ${JSON.stringify(result)}`);
  }
  return block.text;
}

export interface UpgradeResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/**
 * Performs a WebSocket upgrade with node:http to read the 101 response's
 * headers, then destroys the socket. Resolves with the status either way
 * (101 on success, e.g. 404 or 426 otherwise).
 */
export function rawUpgrade(
  url: string,
  options: { protocol?: string; timeoutMs?: number } = {},
): Promise<UpgradeResponse> {
  const target = new URL(url.replace(/^ws/, "http"));
  const headers: Record<string, string> = {
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
  };
  if (options.protocol !== undefined) headers["Sec-WebSocket-Protocol"] = options.protocol;
  const req = httpRequest(target, { method: "GET", headers, agent: false });
  const response = new Promise<UpgradeResponse>((resolve, reject) => {
    req.once("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.once("response", (res) => {
      res.resume();
      res.once("end", () => req.destroy());
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.once("error", reject);
    req.end();
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return withTimeout(response, timeoutMs, `an upgrade of ${url}`).catch((error: unknown) => {
    req.destroy();
    throw error;
  });
}
