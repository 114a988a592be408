/**
 * JSON-RPC 2.0 shapes as the inspector sees them, and the classifier that
 * sorts an incoming message into request, notification or response. The page
 * trusts nothing from the wire: anything unrecognised is `invalid` and shown
 * in the traffic log instead of being acted on.
 */
import { isRecord } from "../dom";

export type RequestId = string | number;

export interface RpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: RequestId; result: Record<string, unknown> }
  | { jsonrpc: "2.0"; id: RequestId | null; error: RpcErrorObject };

export type RpcMessage = RpcRequest | RpcNotification | RpcResponse;

export type Classified =
  | { kind: "request"; message: RpcRequest }
  | { kind: "notification"; message: RpcNotification }
  | { kind: "response"; message: RpcResponse }
  | { kind: "invalid"; message: unknown };

export function classify(message: unknown): Classified {
  if (!isRecord(message) || message.jsonrpc !== "2.0") return { kind: "invalid", message };
  const params = message.params;
  if (params !== undefined && !isRecord(params)) return { kind: "invalid", message };
  const id = message.id;
  const hasId = typeof id === "string" || typeof id === "number";
  if (typeof message.method === "string") {
    return hasId
      ? { kind: "request", message: message as unknown as RpcRequest }
      : { kind: "notification", message: message as unknown as RpcNotification };
  }
  if ((hasId || id === null) && ("result" in message || "error" in message)) {
    return { kind: "response", message: message as unknown as RpcResponse };
  }
  return { kind: "invalid", message };
}

/** An error answered by the peer, kept as a real Error so callers can `catch` it. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}
