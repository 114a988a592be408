/**
 * The one scheme for ids of server->client requests (elicitation, sampling,
 * roots) a session sends: `dormouse-<route>-<uuid>`. The route names who waits
 * for the answer, so a client's response is routed by an exact parse, never by
 * asking candidate owners in turn:
 *   input  the input bridge: a multi-round-trip tool's call waiting in SQLite
 *          (durable; the answer may arrive after the object slept)
 *   up     a live relay of an upstream's own request (memory; the upstream
 *          call is in flight)
 *   task   a durable task's input round (the task bridge: SQLite maps the id
 *          to the task and input key; the answer becomes a tasks/update)
 * Ids are random (crypto.randomUUID), so a client cannot answer a request it
 * was not sent, nor collide with its own ids or another upstream's.
 */
import { type ErrorEnvelope, INVALID_PARAMS } from "../../shared/errors";
import type { JsonRpcResponse, RequestId } from "../../shared/protocol";

export type ServerRequestRoute = "input" | "up" | "task";

const ID_PATTERN =
  /^dormouse-(?:(input|up|task)-)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function mintServerRequestId(route: ServerRequestRoute): string {
  return `dormouse-${route}-${crypto.randomUUID()}`;
}

/**
 * Who waits for an answer to `id`, or null when it is no id this gateway
 * issued. An untagged `dormouse-<uuid>` is the input bridge's earlier format,
 * still routed there so a call stored before an upgrade can complete.
 */
export function routeOfServerRequestId(id: RequestId | null): ServerRequestRoute | null {
  if (typeof id !== "string") return null;
  const match = ID_PATTERN.exec(id);
  if (!match) return null;
  return (match[1] as ServerRequestRoute | undefined) ?? "input";
}

/**
 * A frame that is no valid JSON-RPC message but carries the id of one of the
 * session's own requests (`reply` is the error decoding made of it): the
 * client's answer, malformed. As an error answer it ends the call waiting for
 * it, rather than an error going back to the gateway's own id. Null for any
 * other frame.
 */
export function malformedAnswer(reply: ErrorEnvelope): JsonRpcResponse | null {
  const id = reply.id;
  if (typeof id !== "string" || routeOfServerRequestId(id) === null) return null;
  const message = `the client's answer is not a valid JSON-RPC response (${reply.error.message})`;
  return { jsonrpc: "2.0", id, error: { code: INVALID_PARAMS, message } };
}
