/**
 * Node-side wire helpers for end-to-end tests that need what Node's global
 * WebSocket and fetch cannot do: WebSocket upgrades with headers (bearer
 * tokens) and extra subprotocols, the 101 or refusal response itself, and
 * HTTP requests with a Host header of our choosing.
 *
 * Built on the `ws` package and node:http. Every wait is bounded.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import WebSocket from "ws";
import { requestEnvelope } from "../../shared/errors";
import { MCP_SUBPROTOCOL } from "../../shared/limits";
import { firstText, type WireMessage } from "./rpc-socket";
import { waitFor, withTimeout } from "./wait";

const DEFAULT_TIMEOUT_MS = 10_000;

export interface WsOptions {
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Offered subprotocols; default `["mcp"]`. */
  protocols?: string[];
  timeoutMs?: number;
}

/** The server's answer to an upgrade it refused. */
export interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type UpgradeOutcome = { ok: true; socket: WsRpc } | ({ ok: false } & Refusal);

export class WsRpc {
  readonly received: WireMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;

  private constructor(
    readonly ws: WebSocket,
    /** Headers of the 101 response. */
    readonly upgradeHeaders: IncomingHttpHeaders,
  ) {
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.received.push(JSON.parse(data.toString()) as WireMessage);
    });
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  /** Attempts an upgrade; resolves with the open socket or with the refusal (status, headers, body). */
  static attempt(url: string, options: WsOptions = {}): Promise<UpgradeOutcome> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const ws = new WebSocket(url, options.protocols ?? [MCP_SUBPROTOCOL], {
      headers: options.headers,
      handshakeTimeout: timeoutMs,
    });
    const outcome = new Promise<UpgradeOutcome>((resolve, reject) => {
      let upgradeHeaders: IncomingHttpHeaders = {};
      ws.once("upgrade", (response) => {
        upgradeHeaders = response.headers;
      });
      ws.once("open", () => resolve({ ok: true, socket: new WsRpc(ws, upgradeHeaders) }));
      ws.once("unexpected-response", (req, response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.once("end", () => {
          resolve({ ok: false, status: response.statusCode ?? 0, headers: response.headers, body });
          req.destroy();
        });
      });
      ws.on("error", reject);
    });
    return withTimeout(outcome, timeoutMs, `an upgrade of ${url}`).catch((error: unknown) => {
      ws.terminate();
      throw error;
    });
  }

  /** Opens a socket, failing with the status and body unless the upgrade is a 101. */
  static async open(url: string, options: WsOptions = {}): Promise<WsRpc> {
    const outcome = await WsRpc.attempt(url, options);
    if (!outcome.ok) {
      throw new Error(`expected 101 from ${url}, got ${outcome.status}: ${outcome.body.trim()}`);
    }
    return outcome.socket;
  }

  /** The session id the 101 named. */
  get sessionId(): string {
    const id = this.upgradeHeaders["mcp-session-id"];
    if (typeof id !== "string") throw new Error("the 101 carried no Mcp-Session-Id");
    return id;
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Sends a request and waits for the response carrying its id. */
  async request(
    method: string,
    params?: Record<string, unknown>,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<WireMessage> {
    const id = `r${this.#nextId++}`;
    this.send(requestEnvelope(id, method, params));
    return this.response(id, timeoutMs, method);
  }

  /** The response carrying `id`, for requests sent with `send`. */
  response(
    id: string | number,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    what = "a request",
  ): Promise<WireMessage> {
    return waitFor(() => this.received.find((m) => m.id === id && m.method === undefined), {
      timeoutMs,
      intervalMs: 10,
      what: `the response to ${what} (id ${id})`,
    });
  }

  /** `request`, failing unless the response is a result; returns the result. */
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

  /** The session_info tool's JSON, parsed. */
  async sessionInfo(): Promise<Record<string, unknown>> {
    const result = await this.call("tools/call", { name: "session_info", arguments: {} });
    return JSON.parse(firstText(result)) as Record<string, unknown>;
  }

  /** The session-era handshake. */
  async initialize(): Promise<Record<string, unknown>> {
    const result = await this.call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "dormouse-e2e", version: "1.0.0" },
    });
    this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return result;
  }

  /** Closes (1000) and waits, bounded, for the close handshake. */
  async close(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000, "test done");
    }
    await withTimeout(this.closed, timeoutMs, "the WebSocket to close").catch(() =>
      this.ws.terminate(),
    );
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request with node:http, so any header can be set (fetch forbids
 * some, such as Host). Resolves with status, headers and the whole body.
 */
export function rawHttp(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    timeoutMs?: number;
  } = {},
): Promise<RawResponse> {
  const req = httpRequest(url, {
    method: init.method ?? "GET",
    headers: init.headers,
    agent: false,
  });
  const response = new Promise<RawResponse>((resolve, reject) => {
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.once("error", reject);
    });
    req.once("error", reject);
    req.end(init.body);
  });
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return withTimeout(response, timeoutMs, `${init.method ?? "GET"} ${url}`).catch(
    (error: unknown) => {
      req.destroy();
      throw error;
    },
  );
}
