/**
 * Upstream requests relayed live to a session-era client (federation's
 * `askClient`), waiting in memory for its answer: the upstream call in flight
 * keeps the object awake meanwhile, and a person may be typing, so the wait
 * pauses the request's deadline and is bounded on its own instead
 * (RELAYED_INPUT_MAX_MS).
 */
import {
  INTERNAL_ERROR,
  METHOD_NOT_FOUND,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  REQUEST_CANCELLED,
  REQUEST_TIMEOUT,
  requestEnvelope,
} from "../../shared/errors";
import { DEFAULT_REPLY_STREAM_MAX_MS } from "../../shared/limits";
import {
  CAPABILITY_FOR_CLIENT_REQUEST,
  isRecord,
  type JsonRpcResponse,
  responseError,
} from "../../shared/protocol";
import type { ClientReply } from "../federation/relay-call";
import type { CallContext } from "./context";
import { mintServerRequestId } from "./server-request-ids";

/** Relayed server->client requests waiting for the client at once, per session. */
export const MAX_RELAYED_REQUESTS = 16;
/** Longest the gateway waits for the client's answer to a relayed request (as for SSE replies). */
export const RELAYED_INPUT_MAX_MS = DEFAULT_REPLY_STREAM_MAX_MS;

export class ClientRequests {
  /** Waiting requests by id: each entry settles its request exactly once. */
  readonly #waiting = new Map<string, (reply: ClientReply) => void>();

  async ask(
    call: CallContext,
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<ClientReply> {
    const capability = CAPABILITY_FOR_CLIENT_REQUEST[method];
    const declared = call.clientCapabilities();
    if (!capability || !(capability in declared)) {
      return {
        error: {
          code: MISSING_CLIENT_CAPABILITY,
          message: `The client behind the gateway did not declare the ${capability ?? method} capability`,
        },
      };
    }
    if (this.#waiting.size >= MAX_RELAYED_REQUESTS) {
      return {
        error: { code: INTERNAL_ERROR, message: "Too many requests waiting for the client" },
      };
    }
    const id = mintServerRequestId("up");
    call.deadline.pause();
    const answer = new Promise<ClientReply>((resolve) => {
      const finish = (reply: ClientReply) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#waiting.delete(id);
        call.deadline.resume();
        resolve(reply);
      };
      // A request given up on is withdrawn at the client too (its dialog closes).
      const withdraw = (reason: string) =>
        call.channel.send(
          notificationEnvelope("notifications/cancelled", { requestId: id, reason }),
        );
      const onAbort = () => {
        withdraw("the call that asked was cancelled");
        finish({ error: { code: REQUEST_CANCELLED, message: "Request cancelled" } });
      };
      const timer = setTimeout(() => {
        withdraw(`no answer within ${RELAYED_INPUT_MAX_MS} ms`);
        finish({
          error: {
            code: REQUEST_TIMEOUT,
            message: `The client did not answer within ${RELAYED_INPUT_MAX_MS} ms`,
          },
        });
      }, RELAYED_INPUT_MAX_MS);
      this.#waiting.set(id, finish);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    call.channel.send(requestEnvelope(id, method, params));
    return answer;
  }

  /** Settles the request `response` answers; false when none is waiting under its id. */
  onResponse(response: JsonRpcResponse): boolean {
    const resolve = typeof response.id === "string" ? this.#waiting.get(response.id) : undefined;
    if (!resolve) return false;
    const error = responseError(response);
    if (error) {
      resolve({ error: { code: error.code, message: error.message } });
    } else {
      resolve({ result: isRecord(response.result) ? response.result : {} });
    }
    return true;
  }
}

/** Asks the client through `requests`; with no client connection to ask, answers -32601 at once. */
export function askClient(
  requests: ClientRequests | null,
  call: CallContext,
  method: string,
  params: Record<string, unknown> | undefined,
  signal: AbortSignal,
): Promise<ClientReply> {
  if (!requests) {
    return Promise.resolve({
      error: { code: METHOD_NOT_FOUND, message: `No client connection can answer ${method}` },
    });
  }
  return requests.ask(call, method, params, signal);
}
