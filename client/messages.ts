/**
 * The few facts the transport reads off the JSON-RPC messages it carries, and
 * the one error it makes up itself (REQUEST_LOST, built with shared/errors.ts).
 */
import { errorEnvelope, JsonRpcError, REQUEST_LOST } from "../shared/errors";
import { META_SESSION_ID } from "../shared/protocol-constants";
import type { RequestId } from "./outstanding";
import { isObject } from "./received-count";

/** A JSON-RPC message as it travels (the SDK's JSONRPCMessage fits it). */
export type JsonRpcMessage = { jsonrpc: "2.0"; [key: string]: unknown };

/** What an outgoing message means to the bookkeeping. */
export interface Outgoing {
  /** Its id, when it is a request (it then waits for an answer). */
  requestId: RequestId | undefined;
  /** The request it cancels (`notifications/cancelled`: no answer will come). */
  cancels: unknown;
  /** Whether it answers a request of the session's (a result or an error). */
  answers: boolean;
}

export function outgoing(message: JsonRpcMessage): Outgoing {
  const { id, method, params } = message;
  const isRequest =
    typeof method === "string" && (typeof id === "string" || typeof id === "number");
  return {
    requestId: isRequest ? id : undefined,
    cancels:
      method === "notifications/cancelled" && isObject(params) ? params.requestId : undefined,
    answers: method === undefined && "id" in message && ("result" in message || "error" in message),
  };
}

/** The id of an answer (a message with an id and no method), or undefined. */
export function answerId(message: unknown): unknown {
  return isObject(message) && "id" in message && !("method" in message) ? message.id : undefined;
}

/** `_meta["dormouse/sessionId"]` of a result (the initialize result carries it). */
export function sessionIdOf(answer: unknown): string | undefined {
  if (!isObject(answer) || !isObject(answer.result)) return undefined;
  const meta = answer.result._meta;
  const id = isObject(meta) ? meta[META_SESSION_ID] : undefined;
  return typeof id === "string" ? id : undefined;
}

export function requestLost(id: RequestId): JsonRpcMessage {
  return {
    ...errorEnvelope(
      id,
      new JsonRpcError(
        REQUEST_LOST,
        "Request lost: the connection dropped, and once re-attached the gateway had no answer for it and was not running it (it never arrived, or it was lost with a gateway restart). Not retried, since it may have had effects.",
        { requestId: id },
      ),
    ),
  };
}
