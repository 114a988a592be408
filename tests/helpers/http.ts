/**
 * Test vocabulary for Streamable HTTP inside workerd: POST/GET/DELETE /mcp
 * through the Worker's own fetch handler (`exports.default.fetch`), the
 * session-era handshake over HTTP, and 2026-07-28 requests with their headers
 * and `_meta` envelope.
 *
 * Invariants:
 * - Every wait is bounded (WAIT_MS unless told); streamed replies are read
 *   with the bounded SSE reader of ./sse.
 * - Headers passed as `null` are removed from the defaults, so a test can
 *   send a request that lacks exactly one of them.
 * - Request ids are unique within the test run, so a reply is matched to its
 *   request even on a stream that carries other messages.
 */
import { expect } from "vitest";
import { requestEnvelope } from "../../shared/errors";
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import { LATEST_SESSION_ERA_VERSION, type RequestId } from "../../shared/protocol";
import { type SseMessage, type SseReader, sseOf } from "./sse";
import {
  expectResult,
  fetchWorker,
  isObject,
  type JsonObject,
  MODERN_VERSION,
  modernMeta,
  type RpcResponse,
  TEST_CLIENT,
  toolText,
  WAIT_MS,
} from "./workerd";

export const MCP_PATH = "/mcp";
/** What a Streamable HTTP client must accept on POST (spec: "MUST include both"). */
export const POST_ACCEPT = "application/json, text/event-stream";

/** Header overrides: a string sets the header, null removes a default. */
export type HeaderOverrides = Record<string, string | null>;

let nextId = 1;

/** A request id no other request of this test run uses. */
export function freshId(): number {
  return nextId++;
}

function mergeHeaders(defaults: Record<string, string>, overrides: HeaderOverrides): Headers {
  const headers = new Headers(defaults);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  return headers;
}

/** POST /mcp with the headers a Streamable HTTP client sends; objects are sent as JSON. */
export function post(body: unknown, headers: HeaderOverrides = {}): Promise<Response> {
  return fetchWorker(MCP_PATH, {
    method: "POST",
    headers: mergeHeaders({ "Content-Type": "application/json", Accept: POST_ACCEPT }, headers),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** POST one message on an existing session. */
export function sessionPost(
  sessionId: string,
  body: unknown,
  headers: HeaderOverrides = {},
): Promise<Response> {
  return post(body, { [SESSION_ID_HEADER]: sessionId, ...headers });
}

/** GET /mcp: the session's standalone SSE stream. */
export function openStream(sessionId: string, headers: HeaderOverrides = {}): Promise<Response> {
  return fetchWorker(MCP_PATH, {
    method: "GET",
    headers: mergeHeaders({ Accept: "text/event-stream", [SESSION_ID_HEADER]: sessionId }, headers),
  });
}

/** DELETE /mcp: ends the session. */
export function deleteSession(sessionId: string, headers: HeaderOverrides = {}): Promise<Response> {
  return fetchWorker(MCP_PATH, {
    method: "DELETE",
    headers: mergeHeaders({ [SESSION_ID_HEADER]: sessionId }, headers),
  });
}

/** A JSON reply's body, failing unless the response is application/json. */
export async function jsonOf(response: Response): Promise<JsonObject> {
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/json")) {
    const text = await response.text();
    throw new Error(
      `expected application/json, got ${response.status} "${type}": ${text.slice(0, 300)}`,
    );
  }
  const body: unknown = await response.json();
  if (!isObject(body)) throw new Error(`expected a JSON object, got ${JSON.stringify(body)}`);
  return body;
}

export interface Reply {
  /** The JSON-RPC response to the request. */
  response: RpcResponse;
  /** Everything the POST's stream carried before it (empty for a JSON reply). */
  before: SseMessage[];
  contentType: string;
}

function isResponseTo(id: RequestId) {
  return (message: SseMessage) =>
    message.id === id && !("method" in message) && ("result" in message || "error" in message);
}

/** The reply to request `id`, read from a JSON body or from the POST's SSE stream. */
export async function replyOf(
  response: Response,
  id: RequestId,
  timeoutMs = WAIT_MS,
): Promise<Reply> {
  const contentType = response.headers.get("Content-Type") ?? "";
  if (contentType.startsWith("text/event-stream")) {
    const reader = sseOf(response);
    try {
      const messages = await reader.messages({ until: isResponseTo(id), timeoutMs });
      const last = messages.pop() as unknown as RpcResponse;
      return { response: last, before: messages, contentType };
    } finally {
      await reader.cancel();
    }
  }
  const body = await jsonOf(response);
  if (!isResponseTo(id)(body))
    throw new Error(`expected the reply to id ${id}, got ${JSON.stringify(body)}`);
  return { response: body as unknown as RpcResponse, before: [], contentType };
}

/** Sends a session-era request on `sessionId` and returns its JSON-RPC response. */
export async function requestHttp(
  sessionId: string,
  method: string,
  params: JsonObject = {},
  headers: HeaderOverrides = {},
): Promise<RpcResponse> {
  const id = freshId();
  const response = await sessionPost(sessionId, requestEnvelope(id, method, params), headers);
  if (response.status !== 200) {
    throw new Error(
      `POST ${method} answered ${response.status}: ${(await response.text()).trim()}`,
    );
  }
  return (await replyOf(response, id)).response;
}

/** tools/call on a session over HTTP, asserting success; returns the tool result. */
export async function callToolHttp(
  sessionId: string,
  name: string,
  args: JsonObject = {},
): Promise<JsonObject> {
  return expectResult(await requestHttp(sessionId, "tools/call", { name, arguments: args }));
}

/** The counter tool's value on `sessionId` after adding `by` (0 reads it). */
export async function counterHttp(sessionId: string, by = 1): Promise<number> {
  return Number(toolText(await callToolHttp(sessionId, "counter", { by })));
}

/** The session_info tool's JSON over HTTP. */
export async function sessionInfoHttp(sessionId: string): Promise<JsonObject> {
  return JSON.parse(toolText(await callToolHttp(sessionId, "session_info"))) as JsonObject;
}

/**
 * The session-era handshake over HTTP: POST initialize (no session header),
 * then notifications/initialized on the minted session. Returns the session id.
 */
export async function initializeHttp(
  options: { capabilities?: JsonObject; protocolVersion?: string } = {},
): Promise<string> {
  const response = await post(
    requestEnvelope(freshId(), "initialize", {
      protocolVersion: options.protocolVersion ?? LATEST_SESSION_ERA_VERSION,
      capabilities: options.capabilities ?? {},
      clientInfo: TEST_CLIENT,
    }),
  );
  expect(response.status).toBe(200);
  const sessionId = response.headers.get(SESSION_ID_HEADER);
  if (!sessionId) throw new Error(`initialize answered without ${SESSION_ID_HEADER}`);
  expectResult((await jsonOf(response)) as unknown as RpcResponse);
  const initialized = await sessionPost(sessionId, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  });
  expect(initialized.status).toBe(202);
  return sessionId;
}

/** The Mcp-Name a 2026-07-28 request must carry, when its method names something (SEP-2243, SEP-2663). */
function nameOf(method: string, params: JsonObject): string | undefined {
  const value =
    method === "tools/call" || method === "prompts/get"
      ? params.name
      : method === "resources/read"
        ? params.uri
        : method === "tasks/get" || method === "tasks/update" || method === "tasks/cancel"
          ? params.taskId
          : undefined;
  return typeof value === "string" ? value : undefined;
}

/**
 * Sends a 2026-07-28 request (no session): MCP-Protocol-Version, Mcp-Method
 * and (when the method names something) Mcp-Name headers, and the `_meta`
 * envelope merged with `extraMeta`. Returns the raw response and the id.
 */
export async function modern(
  method: string,
  params: JsonObject = {},
  extraMeta: JsonObject = {},
  headers: HeaderOverrides = {},
): Promise<{ response: Response; id: number }> {
  const id = freshId();
  const name = nameOf(method, params);
  const response = await post(
    requestEnvelope(id, method, { ...params, _meta: modernMeta(extraMeta) }),
    {
      [PROTOCOL_VERSION_HEADER]: MODERN_VERSION,
      "Mcp-Method": method,
      ...(name === undefined ? {} : { "Mcp-Name": name }),
      ...headers,
    },
  );
  return { response, id };
}

/** `modern`, asserting a 200 result; returns the result. */
export async function modernCall(
  method: string,
  params: JsonObject = {},
  extraMeta: JsonObject = {},
): Promise<JsonObject> {
  const { response, id } = await modern(method, params, extraMeta);
  expect(response.status).toBe(200);
  return expectResult((await replyOf(response, id)).response);
}

/** The first item of a GET stream, then the stream is cancelled. */
export async function firstItemOf(reader: SseReader, timeoutMs = WAIT_MS) {
  try {
    return await reader.next(timeoutMs);
  } finally {
    await reader.cancel();
  }
}
