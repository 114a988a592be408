/**
 * Frame decoder: one text frame in, one classified JSON-RPC message (or a
 * ready-made error reply) out. Pure and total: it never throws, whatever the
 * input, so the object's message handler can rely on it.
 *
 * Mapping (JSON-RPC 2.0, section 5.1): not JSON -> -32700 with id null; JSON that is not
 * a JSON-RPC 2.0 object -> -32600, echoing the id when one can be recovered.
 */
import * as v from "valibot";
import {
  type ErrorEnvelope,
  errorEnvelope,
  INVALID_REQUEST,
  JsonRpcError,
  PARSE_ERROR,
} from "./errors";
import { MAX_JSON_DEPTH } from "./limits";
import {
  isRecord,
  type JsonRpcNotification,
  JsonRpcNotificationSchema,
  type JsonRpcRequest,
  JsonRpcRequestSchema,
  type JsonRpcResponse,
  JsonRpcResponseSchema,
  type RequestId,
  RequestIdSchema,
} from "./protocol";

export type DecodedFrame =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "response"; message: JsonRpcResponse }
  | { kind: "invalid"; reply: ErrorEnvelope };

export function decodeFrame(text: string): DecodedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid(null, new JsonRpcError(PARSE_ERROR, "Parse error: the frame is not valid JSON"));
  }
  if (exceedsDepth(value, MAX_JSON_DEPTH)) {
    const id =
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? recoverId(value as Record<string, unknown>)
        : null;
    return invalid(
      id,
      new JsonRpcError(
        INVALID_REQUEST,
        `Invalid Request: JSON nesting deeper than ${MAX_JSON_DEPTH} levels`,
      ),
    );
  }
  return classify(value);
}

/**
 * Whether `value` nests objects/arrays deeper than `limit`. Recursive, but never
 * deeper than `limit` calls (it answers true there), so no input can overflow
 * the stack; and it allocates nothing, since it runs on every frame.
 */
export function exceedsDepth(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (limit < 1) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (exceedsDepth(child, limit - 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (exceedsDepth(record[key], limit - 1)) return true;
  return false;
}

export function classify(value: unknown): DecodedFrame {
  if (Array.isArray(value)) {
    return invalid(
      null,
      new JsonRpcError(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported"),
    );
  }
  if (typeof value !== "object" || value === null) {
    return invalid(
      null,
      new JsonRpcError(INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object"),
    );
  }
  const record = value as Record<string, unknown>;
  // The common frame, a well-formed request, checked by hand: the same rules as
  // JsonRpcRequestSchema, which still judges (and words the error of) any other.
  if (isPlainRequest(record)) return { kind: "request", message: record };
  if ("method" in record) {
    if ("id" in record) {
      const request = v.safeParse(JsonRpcRequestSchema, record);
      if (request.success) return { kind: "request", message: request.output };
    } else {
      const notification = v.safeParse(JsonRpcNotificationSchema, record);
      if (notification.success) return { kind: "notification", message: notification.output };
    }
  } else if ("result" in record || "error" in record) {
    const response = v.safeParse(JsonRpcResponseSchema, record);
    if (response.success) return { kind: "response", message: response.output };
  }
  return invalid(recoverId(record), new JsonRpcError(INVALID_REQUEST, describeInvalid(record)));
}

/** JsonRpcRequestSchema's rules, by hand; a frame that fails here is judged by the schema. */
function isPlainRequest(record: Record<string, unknown>): record is JsonRpcRequest {
  return (
    record.jsonrpc === "2.0" &&
    typeof record.method === "string" &&
    (typeof record.id === "string" || Number.isSafeInteger(record.id)) &&
    (record.params === undefined || isRecord(record.params))
  );
}

function recoverId(record: Record<string, unknown>): RequestId | null {
  const id = v.safeParse(RequestIdSchema, record.id);
  return id.success ? id.output : null;
}

function describeInvalid(record: Record<string, unknown>): string {
  if (record.jsonrpc !== "2.0") return 'Invalid Request: "jsonrpc" must be "2.0"';
  if ("method" in record && typeof record.method !== "string") {
    return 'Invalid Request: "method" must be a string';
  }
  if ("id" in record && !v.is(RequestIdSchema, record.id)) {
    return 'Invalid Request: "id" must be a string or an integer between -(2^53 - 1) and 2^53 - 1';
  }
  if ("params" in record) return 'Invalid Request: "params" must be an object';
  return "Invalid Request: not a JSON-RPC request, notification or response";
}

function invalid(id: RequestId | null, error: JsonRpcError): DecodedFrame {
  return { kind: "invalid", reply: errorEnvelope(id, error) };
}

/** Whether `text` is over `limitBytes` in UTF-8, encoding only when the cheap bounds cannot tell. */
export function exceedsUtf8Bytes(text: string, limitBytes: number): boolean {
  if (text.length * 3 <= limitBytes) return false;
  if (text.length > limitBytes) return true;
  return new TextEncoder().encode(text).byteLength > limitBytes;
}
