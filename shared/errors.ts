/**
 * The two error families and the only place JSON-RPC envelopes are built.
 *
 * Wire errors carry a JSON-RPC code (`JsonRpcError`); local errors are a tagged
 * union (`LocalError`) that `toWireError` maps to the wire, so codes cannot
 * drift between call sites. Anything unexpected becomes -32603 with the detail
 * kept for logs only.
 */
import type { RequestId } from "./protocol";

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** A request the other side cancelled (the code LSP and the MCP SDKs use). */
export const REQUEST_CANCELLED = -32800;
/** Spec (resources): a resource that does not exist. */
export const RESOURCE_NOT_FOUND = -32002;
/**
 * MCP 2025-11-25 (client/elicitation, Error Handling): the request needs a URL-mode
 * elicitation completed first (data: `{ elicitations: [...] }`); 2025-11-25 only.
 */
export const URL_ELICITATION_REQUIRED = -32042;
/** Implementation-defined server errors (JSON-RPC reserves -32000..-32099). */
export const REQUEST_TIMEOUT = -32001;
export const RATE_LIMITED = -32005;
export const TOO_MANY_IN_FLIGHT = -32006;
/** The session ended (DELETE, idle expiry) while the request was in flight. */
export const SESSION_ENDED = -32007;
/**
 * A request lost with its connection or a gateway restart, not retried: the
 * resumable WebSocket client's answer (client/) to a request the gateway,
 * once re-attached, neither answered nor still runs; and the gateway's reply
 * on a resumed SSE reply stream whose call a restart took.
 */
export const REQUEST_LOST = -32008;
/** Tasks: a task's result is larger than it may store (MAX_TASK_RESULT_BYTES). */
export const RESULT_TOO_LARGE = -32010;
/** Tasks: the principal already holds as many tasks as it may (MAX_TASKS_PER_PRINCIPAL). */
export const TOO_MANY_TASKS = -32009;
/** 2026-07-28: an HTTP header (MCP-Protocol-Version, Mcp-Method, Mcp-Name) contradicts the body. */
export const HEADER_MISMATCH = -32020;
/** 2026-07-28: the request needs a client capability the client did not declare. */
export const MISSING_CLIENT_CAPABILITY = -32021;
/** 2026-07-28: the requested protocol version is not supported (data: supported, requested). */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;
/** Federation: an upstream server could not be reached or answered an HTTP error (data: upstream, reason). */
export const UPSTREAM_UNAVAILABLE = -32030;
/** Federation: an upstream stayed silent for longer than its timeoutMs. */
export const UPSTREAM_TIMEOUT = -32031;
/** Federation: an upstream answered with something that is not valid MCP / JSON-RPC. */
export const UPSTREAM_INVALID = -32032;

export class JsonRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "JsonRpcError";
  }
}

export type LocalError =
  | { kind: "not_initialized"; method: string }
  | { kind: "unsupported_version"; requested: string; supported: readonly string[] }
  | { kind: "unknown_tool"; name: string }
  | { kind: "invalid_arguments"; tool: string; issues: string }
  | { kind: "internal"; cause: unknown };

export function toWireError(error: LocalError): JsonRpcError {
  switch (error.kind) {
    case "not_initialized":
      return new JsonRpcError(
        INVALID_REQUEST,
        `Invalid Request: session not initialized: send "initialize" before "${error.method}", or carry ` +
          `io.modelcontextprotocol/protocolVersion in params._meta (2026-07-28)`,
      );
    case "unsupported_version":
      return new JsonRpcError(INVALID_PARAMS, `Unsupported protocol version "${error.requested}"`, {
        supported: error.supported,
        requested: error.requested,
      });
    case "unknown_tool":
      return new JsonRpcError(INVALID_PARAMS, `Unknown tool: ${error.name}`);
    case "invalid_arguments":
      return new JsonRpcError(
        INVALID_PARAMS,
        `Invalid arguments for tool ${error.tool}: ${error.issues}`,
      );
    case "internal":
      return new JsonRpcError(INTERNAL_ERROR, "Internal error");
  }
}

/** Normalises anything thrown inside a handler: details never reach the client. */
export function asJsonRpcError(thrown: unknown): JsonRpcError {
  if (thrown instanceof JsonRpcError) return thrown;
  return toWireError({ kind: "internal", cause: thrown });
}

export interface ErrorEnvelope {
  jsonrpc: "2.0";
  id: RequestId | null;
  error: { code: number; message: string; data?: unknown };
}

export interface ResultEnvelope {
  jsonrpc: "2.0";
  id: RequestId;
  result: Record<string, unknown>;
}

export function errorEnvelope(id: RequestId | null, error: JsonRpcError): ErrorEnvelope {
  const body: ErrorEnvelope["error"] = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return { jsonrpc: "2.0", id, error: body };
}

export function resultEnvelope(id: RequestId, result: Record<string, unknown>): ResultEnvelope {
  return { jsonrpc: "2.0", id, result };
}

export function notificationEnvelope(method: string, params?: Record<string, unknown>) {
  return params === undefined
    ? { jsonrpc: "2.0" as const, method }
    : { jsonrpc: "2.0" as const, method, params };
}

export function requestEnvelope(id: RequestId, method: string, params?: Record<string, unknown>) {
  return params === undefined
    ? { jsonrpc: "2.0" as const, id, method }
    : { jsonrpc: "2.0" as const, id, method, params };
}
