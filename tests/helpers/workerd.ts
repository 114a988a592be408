/**
 * Test vocabulary for the suites that run inside workerd (@cloudflare/vitest-plugin):
 * open a session socket through the Worker's own fetch handler, then speak
 * JSON-RPC over it.
 *
 * Invariants:
 * - Every wait is bounded (WAIT_MS unless told) and fails with a message that
 *   names what was awaited and which frames were left unclaimed.
 * - A wait ends early, with the close code, when the socket closes under it.
 * - Every socket opened during a test is closed when that test finishes.
 *
 * Frames are kept as parsed JSON objects when they are JSON objects, and as
 * raw text otherwise (the keepalive "pong", a malformed reply).
 */
import { env, exports } from "cloudflare:workers";
import { expect, onTestFinished } from "vitest";
import { MCP_SUBPROTOCOL, SESSION_ID_HEADER } from "../../shared/limits";
import {
  type Implementation,
  LATEST_SESSION_ERA_VERSION,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  NOTICE_MESSAGES_LOST,
  type RequestId,
  UNNUMBERED_NOTICES,
} from "../../shared/protocol";
import type { SessionSnapshot } from "../../worker/tools/types";

/** Default bound on any single wait. */
export const WAIT_MS = 5_000;
/** A loopback origin: the Host/Origin policy admits loopback names by default. */
export const ORIGIN = "http://127.0.0.1:8787";
export const TEST_CLIENT: Implementation = { name: "dormouse-tests", version: "0.0.1" };
export const MODERN_VERSION = "2026-07-28";

export type JsonObject = Record<string, unknown>;
/** One received frame: a JSON object, or the raw text when it is anything else. */
export type Frame = JsonObject | string;

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcResponse {
  jsonrpc: "2.0";
  id: RequestId | null;
  result?: JsonObject;
  error?: RpcError;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isResponse(frame: Frame): frame is JsonObject & RpcResponse {
  return isObject(frame) && ("result" in frame || "error" in frame) && !("method" in frame);
}

/** Narrows a frame to a JSON-RPC response, failing with the frame when it is not one. */
export function asResponse(frame: Frame): RpcResponse {
  if (!isResponse(frame)) throw new Error(`expected a JSON-RPC response, got ${describe([frame])}`);
  return frame;
}

/** A `_meta` envelope for a 2026-07-28 request. */
export function modernMeta(extra: JsonObject = {}): JsonObject {
  return {
    [META_PROTOCOL_VERSION]: MODERN_VERSION,
    [META_CLIENT_INFO]: TEST_CLIENT,
    [META_CLIENT_CAPABILITIES]: {},
    ...extra,
  };
}

/** Sends an upgrade (or any request) to the Worker; no assertion on the outcome. */
export function fetchWorker(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(`${ORIGIN}${path}`, init);
}

/** The upgrade request a WebSocket MCP client sends. */
export function upgrade(path: string): Promise<Response> {
  return fetchWorker(path, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": MCP_SUBPROTOCOL },
  });
}

/**
 * Opens a new session, or re-attaches to `sessionId` (with `received`: how many
 * numbered messages the client has, for the replay); fails unless the upgrade is a 101.
 */
export async function connect(sessionId?: string, received?: number): Promise<Client> {
  const query = received === undefined ? "" : `&received=${received}`;
  const path =
    sessionId === undefined ? "/ws" : `/ws?session=${encodeURIComponent(sessionId)}${query}`;
  const response = await upgrade(path);
  const socket = response.webSocket;
  if (response.status !== 101 || !socket) {
    const body = await response.text();
    throw new Error(`expected 101 from GET ${path}, got ${response.status}: ${body.trim()}`);
  }
  const id = response.headers.get(SESSION_ID_HEADER);
  if (!id) throw new Error(`GET ${path} answered 101 without an ${SESSION_ID_HEADER} header`);
  socket.accept();
  const client = new Client(id, socket);
  onTestFinished(() => client.close());
  return client;
}

/** Tables a session keeps, leaving out the runtime's own (`_cf_*`, `sqlite_*`). */
export function userTables(state: DurableObjectState): string[] {
  return state.storage.sql
    .exec<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'",
    )
    .toArray()
    .map((row) => row.name);
}

/** The Durable Object stub behind a session id. */
export function sessionStub(sessionId: string): DurableObjectStub {
  return env.SESSIONS.get(env.SESSIONS.idFromString(sessionId));
}

export class Client {
  /** Every frame received, in order, including those already claimed by a wait. */
  readonly received: Frame[] = [];
  readonly #inbox: Frame[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #pendingIds = new Set<RequestId>();
  #nextId = 1;
  #closeInfo: CloseInfo | null = null;
  readonly #closeWaiters: ((info: CloseInfo) => void)[] = [];

  constructor(
    readonly sessionId: string,
    readonly socket: WebSocket,
  ) {
    socket.addEventListener("message", (event) => this.#onFrame(event.data));
    socket.addEventListener("close", (event) => this.#onClose(event.code, event.reason));
  }

  get closed(): CloseInfo | null {
    return this.#closeInfo;
  }

  /**
   * How many numbered messages this socket received (the resumable binding's
   * count): JSON frames other than the unnumbered replay notices; a
   * messages_lost notice moves the count to its `last`.
   */
  numbered(start = 0): number {
    let count = start;
    for (const frame of this.received) {
      if (!isObject(frame)) continue;
      if (frame.method === NOTICE_MESSAGES_LOST) {
        count = Number((frame.params as JsonObject).last);
        continue;
      }
      if (typeof frame.method === "string" && UNNUMBERED_NOTICES.includes(frame.method)) continue;
      count += 1;
    }
    return count;
  }

  /** Sends a request and waits for the response with its id (result or error). */
  async request(
    method: string,
    params: JsonObject = {},
    meta?: JsonObject,
    timeoutMs = WAIT_MS,
  ): Promise<RpcResponse> {
    const id = this.#nextId++;
    const withMeta = meta === undefined ? params : { ...params, _meta: meta };
    this.#pendingIds.add(id);
    try {
      this.sendJson({ jsonrpc: "2.0", id, method, params: withMeta });
      const frame = await this.#take(
        (f) => isResponse(f) && f.id === id,
        `the response to ${method} (id ${id})`,
        timeoutMs,
      );
      return asResponse(frame);
    } finally {
      this.#pendingIds.delete(id);
    }
  }

  /** `request`, asserting success; returns the result. */
  async call(method: string, params: JsonObject = {}, meta?: JsonObject): Promise<JsonObject> {
    return expectResult(await this.request(method, params, meta));
  }

  /** tools/call, asserting a JSON-RPC success; returns the tool result. */
  callTool(name: string, args: JsonObject = {}, meta?: JsonObject): Promise<JsonObject> {
    return this.call("tools/call", { name, arguments: args }, meta);
  }

  /** The session_info tool's JSON, parsed. */
  async sessionInfo(): Promise<SessionSnapshot> {
    return JSON.parse(toolText(await this.callTool("session_info"))) as SessionSnapshot;
  }

  /** The counter's current value, read by adding 0. */
  async counter(): Promise<number> {
    return Number(toolText(await this.callTool("counter", { by: 0 })));
  }

  notify(method: string, params?: JsonObject): void {
    this.sendJson(
      params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params },
    );
  }

  sendJson(value: unknown): void {
    this.sendRaw(JSON.stringify(value));
  }

  sendRaw(data: string | ArrayBuffer | ArrayBufferView): void {
    this.socket.send(data);
  }

  /** The session-era handshake: initialize, then notifications/initialized. */
  async initialize(
    options: {
      protocolVersion?: string;
      clientInfo?: Implementation;
      capabilities?: JsonObject;
    } = {},
  ): Promise<JsonObject> {
    const result = await this.call("initialize", {
      protocolVersion: options.protocolVersion ?? LATEST_SESSION_ERA_VERSION,
      capabilities: options.capabilities ?? {},
      clientInfo: options.clientInfo ?? TEST_CLIENT,
    });
    this.notify("notifications/initialized");
    return result;
  }

  /**
   * The next frame matching `match` that no pending `request` is waiting for
   * (by default: any such frame).
   */
  nextMessage(
    match: (frame: Frame) => boolean = () => true,
    what = "the next frame",
    timeoutMs = WAIT_MS,
  ): Promise<Frame> {
    return this.#take(
      (f) => !(isResponse(f) && f.id !== null && this.#pendingIds.has(f.id)) && match(f),
      what,
      timeoutMs,
    );
  }

  /** The next notification named `method`. */
  async nextNotification(method: string, timeoutMs = WAIT_MS): Promise<JsonObject> {
    const frame = await this.nextMessage(
      (f) => isObject(f) && f.method === method && !("id" in f),
      `a ${method} notification`,
      timeoutMs,
    );
    return frame as JsonObject;
  }

  /** The next response carrying `id`, for requests sent with `sendJson`. */
  async nextResponse(id: RequestId, timeoutMs = WAIT_MS): Promise<RpcResponse> {
    const frame = await this.nextMessage(
      (f) => isResponse(f) && f.id === id,
      `a response with id ${JSON.stringify(id)}`,
      timeoutMs,
    );
    return asResponse(frame);
  }

  /** Waits `quietMs`, then fails if any frame matching `match` arrived (claimed or not). */
  async expectNoMessage(match: (frame: Frame) => boolean, quietMs: number, what: string) {
    const before = this.received.length;
    await delay(quietMs);
    const offending = this.received.slice(before).filter(match);
    if (offending.length > 0) {
      throw new Error(`expected no ${what} within ${quietMs} ms, got ${describe(offending)}`);
    }
  }

  /** Waits for the server to close the socket; returns its code and reason. */
  waitForClose(timeoutMs = WAIT_MS): Promise<CloseInfo> {
    if (this.#closeInfo) return Promise.resolve(this.#closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for session ${this.#short} to close`),
        );
      }, timeoutMs);
      this.#closeWaiters.push((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  close(code = 1000, reason = "test finished"): void {
    if (this.#closeInfo) return;
    try {
      this.socket.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  get #short(): string {
    return this.sessionId.slice(0, 8);
  }

  #take(match: (frame: Frame) => boolean, what: string, timeoutMs: number): Promise<Frame> {
    const index = this.#inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.#inbox.splice(index, 1)[0] as Frame);
    if (this.#closeInfo) return Promise.reject(this.#closedError(what));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} on session ${this.#short}; ` +
              `unclaimed frames: ${describe(this.#inbox)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  #onFrame(data: unknown): void {
    const frame = parseFrame(data);
    this.received.push(frame);
    const index = this.#waiters.findIndex((w) => w.match(frame));
    if (index < 0) {
      this.#inbox.push(frame);
      return;
    }
    const [waiter] = this.#waiters.splice(index, 1);
    waiter?.resolve(frame);
  }

  #onClose(code: number, reason: string): void {
    this.#closeInfo = { code, reason };
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedError("a frame"));
    for (const notify of this.#closeWaiters.splice(0)) notify(this.#closeInfo);
  }

  #closedError(what: string): Error {
    const info = this.#closeInfo;
    return new Error(
      `session ${this.#short} socket closed (${info?.code} ${info?.reason}) while waiting for ${what}`,
    );
  }
}

function parseFrame(data: unknown): Frame {
  if (typeof data !== "string") return `<binary frame>`;
  try {
    const value: unknown = JSON.parse(data);
    return isObject(value) ? value : data;
  } catch {
    return data;
  }
}

function describe(frames: readonly Frame[]): string {
  if (frames.length === 0) return "none";
  return frames
    .map((f) => (typeof f === "string" ? f : JSON.stringify(f)).slice(0, 200))
    .join(" | ");
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asserts a success response and returns its result. */
export function expectResult(response: RpcResponse): JsonObject {
  if (response.error || !response.result) {
    throw new Error(`expected a result, got ${JSON.stringify(response)}`);
  }
  return response.result;
}

/** Asserts an error response with `code` (and a message matching `message`); returns the error. */
export function expectError(
  response: RpcResponse,
  code: number,
  message?: RegExp | string,
): RpcError {
  if (!response.error) {
    throw new Error(`expected error ${code}, got ${JSON.stringify(response)}`);
  }
  expect(response.error.code).toBe(code);
  if (message !== undefined) expect(response.error.message).toMatch(message);
  expect(response).not.toHaveProperty("result");
  return response.error;
}

/** The text of a tool result's first content block. */
export function toolText(result: JsonObject): string {
  const first: unknown = Array.isArray(result.content) ? result.content[0] : undefined;
  if (!isObject(first) || typeof first.text !== "string") {
    throw new Error(`expected a text content block, got ${JSON.stringify(result)}`);
  }
  return first.text;
}
