/**
 * What an upstream sends on a call's stream, relayed to the caller: progress
 * (re-sent with the caller's token), log messages (through the caller's level
 * filter, logger prefixed with the upstream's name), list changes (caches
 * dropped, the deployment's listen streams and a session-era caller told),
 * and server->client requests (elicitation, sampling, roots).
 *
 * Client input: a session-era caller gets the upstream's request live under a
 * fresh id (ClientRequests) and its answer goes back upstream. A 2026-07-28
 * caller gets an `input_required` result instead (the call stops); on its
 * retry the upstream call is made again and the upstream's requests are
 * answered, in order, from the answers collected so far (kept in the sealed
 * requestState) - the re-execution model multi-round-trip requests already use
 * for native tools.
 */
import {
  INVALID_PARAMS,
  JsonRpcError,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  REQUEST_TIMEOUT,
  requestEnvelope,
} from "../../shared/errors";
import { DEFAULT_REPLY_STREAM_MAX_MS } from "../../shared/limits";
import {
  CAPABILITY_FOR_CLIENT_REQUEST,
  isRecord,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  LOG_LEVELS,
  type LogLevel,
} from "../../shared/protocol";
import type { Upstream } from "../config/upstreams";
import { publishListChange } from "../feed/change-feed";
import type { CallContext } from "../mcp/context";
import { toolContext } from "../mcp/tool-call";
import { logEvent } from "../observability/log";
import { fullBucket, take } from "../session/rate-limit";
import { InputRequired } from "../tools/types";
import type { CallHooks, ClientReply } from "./client";
import { StopCall } from "./failures";

/** Id prefix of requests relayed from an upstream to the client. */
const RELAY_ID_PREFIX = "dormouse-up-";
/** Relayed server->client requests waiting for the client at once, per session. */
export const MAX_RELAYED_REQUESTS = 16;
/** Longest the gateway waits for the client's answer to a relayed request (as for SSE replies). */
export const RELAYED_INPUT_MAX_MS = DEFAULT_REPLY_STREAM_MAX_MS;
/**
 * Notifications relayed from one upstream call to the client: a token bucket
 * per call, so a flooding upstream cannot fill the client's socket or stream.
 * What exceeds it is dropped and counted in the log.
 */
export const RELAYED_NOTIFICATIONS_PER_SECOND = 100;
export const RELAYED_NOTIFICATIONS_BURST = 200;
/** Rounds of client input a 2026-07-28 caller may be asked for in one upstream call. */
const MAX_INPUT_ROUNDS = 8;

/**
 * Upstream requests relayed to a session-era client, waiting for its answer.
 * In memory: the upstream call in flight keeps the object awake meanwhile.
 */
export class ClientRequests {
  /** Waiting requests by relayed id: each entry settles its request exactly once. */
  readonly #waiting = new Map<string, (reply: ClientReply) => void>();

  async ask(
    upstream: Upstream,
    call: CallContext,
    request: JsonRpcRequest,
    capability: string,
    signal: AbortSignal,
  ): Promise<ClientReply> {
    const declared = call.session.record().clientCapabilities ?? {};
    if (!(capability in declared)) {
      return {
        error: {
          code: MISSING_CLIENT_CAPABILITY,
          message: `The client behind the gateway did not declare the ${capability} capability`,
        },
      };
    }
    if (this.#waiting.size >= MAX_RELAYED_REQUESTS) {
      return { error: { code: -32603, message: "Too many requests waiting for the client" } };
    }
    const id = `${RELAY_ID_PREFIX}${crypto.randomUUID()}`;
    // A person may be answering: the wait does not count against the request deadline,
    // and is bounded on its own (RELAYED_INPUT_MAX_MS) instead.
    call.deadline.pause();
    const answer = new Promise<ClientReply>((resolve) => {
      const finish = (reply: ClientReply) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        call.deadline.resume();
        resolve(reply);
      };
      const timer = setTimeout(
        () =>
          finish({
            error: {
              code: REQUEST_TIMEOUT,
              message: `The client did not answer within ${RELAYED_INPUT_MAX_MS} ms`,
            },
          }),
        RELAYED_INPUT_MAX_MS,
      );
      this.#waiting.set(id, finish);
      signal.addEventListener(
        "abort",
        () => finish({ error: { code: -32800, message: "Request cancelled" } }),
        { once: true },
      );
    });
    logEvent("debug", "upstream_request_relayed", {
      upstream: upstream.name,
      method: request.method,
    });
    call.channel.send(requestEnvelope(id, request.method, request.params));
    return answer;
  }

  /** Routes a client's answer to a relayed request; false when it is not one. */
  onResponse(response: JsonRpcResponse): boolean {
    if (typeof response.id !== "string" || !response.id.startsWith(RELAY_ID_PREFIX)) return false;
    const resolve = this.#waiting.get(response.id);
    if (!resolve) return true;
    if ("error" in response && isRecord(response.error)) {
      const { code, message } = response.error;
      resolve({
        error: {
          code: typeof code === "number" ? code : -32603,
          message: typeof message === "string" ? message : "error",
        },
      });
    } else {
      const result = (response as { result?: unknown }).result;
      resolve({ result: isRecord(result) ? result : {} });
    }
    return true;
  }
}

/** Answers a 2026-07-28 caller gave in earlier rounds of one upstream call. */
export interface Replay {
  answers: Record<string, unknown>[];
}

export interface RelayOptions {
  upstream: Upstream;
  call: CallContext;
  requests: ClientRequests;
  /** Null for a session-era caller (live relay) and for requests that expect no input. */
  replay: Replay | null;
  /** The upstream announced a list change: drop what is cached of it. */
  onListChanged(): void;
}

/** Hooks that relay what the upstream sends on a call's stream to the caller. */
export function relayHooks(options: RelayOptions): CallHooks {
  const { upstream, call, requests, replay } = options;
  const log = toolContext(`upstream:${upstream.name}`, call).log;
  let asked = 0;
  let bucket = fullBucket(RELAYED_NOTIFICATIONS_BURST, Date.now());
  let dropped = 0;
  return {
    signal: call.signal,
    onNotification: (notification) => {
      const taken = take(
        bucket,
        Date.now(),
        RELAYED_NOTIFICATIONS_PER_SECOND,
        RELAYED_NOTIFICATIONS_BURST,
      );
      bucket = taken.bucket;
      if (taken.allowed) {
        relayNotification(options, notification, log);
        return;
      }
      dropped += 1;
      if (dropped === 1 || dropped % 1_000 === 0) {
        logEvent("warn", "upstream_notifications_dropped", {
          sessionId: call.session.sessionId,
          upstream: upstream.name,
          dropped,
        });
      }
    },
    onRequest: async (request, signal) => {
      const capability = CAPABILITY_FOR_CLIENT_REQUEST[request.method];
      if (!capability) {
        return { error: { code: -32601, message: `Method not found: ${request.method}` } };
      }
      if (!replay) return requests.ask(upstream, call, request, capability, signal);
      // 2026-07-28 caller: answer from earlier rounds, or stop and ask it.
      const index = asked++;
      const answer = replay.answers[index];
      if (answer !== undefined) return { result: answer };
      if (index >= MAX_INPUT_ROUNDS) {
        throw new StopCall(
          new JsonRpcError(
            INVALID_PARAMS,
            `Upstream "${upstream.name}" asked for client input more than ${MAX_INPUT_ROUNDS} times`,
          ),
        );
      }
      throw new StopCall(
        new InputRequired(
          {
            [inputKey(index)]: {
              method: request.method as "elicitation/create",
              params: request.params ?? {},
            },
          },
          { upstream: upstream.name, answers: replay.answers },
        ),
      );
    },
  };
}

function relayNotification(
  options: RelayOptions,
  notification: JsonRpcNotification,
  log: (level: LogLevel, data: unknown, logger?: string) => boolean,
): void {
  const { upstream, call } = options;
  const params = isRecord(notification.params) ? notification.params : {};
  switch (notification.method) {
    case "notifications/progress": {
      if (call.progressToken === undefined || call.signal.aborted) return;
      const { progress, total, message } = params;
      if (typeof progress !== "number") return;
      call.channel.send(
        notificationEnvelope("notifications/progress", {
          progressToken: call.progressToken,
          progress,
          ...(typeof total === "number" ? { total } : {}),
          ...(typeof message === "string" ? { message } : {}),
        }),
      );
      return;
    }
    case "notifications/message": {
      const level = params.level;
      if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level)) return;
      const logger =
        typeof params.logger === "string" ? `${upstream.name}/${params.logger}` : upstream.name;
      log(level as LogLevel, params.data, logger);
      return;
    }
    case "notifications/tools/list_changed":
    case "notifications/prompts/list_changed":
    case "notifications/resources/list_changed": {
      const kind = notification.method.split("/")[1] as "tools" | "prompts" | "resources";
      options.onListChanged();
      // Every listen stream of the deployment (2026-07-28 clients) hears of it too.
      publishListChange(kind).catch((error: unknown) => {
        logEvent("warn", "list_change_publish_failed", { upstream: upstream.name, error });
      });
      if (call.era.kind === "session") call.channel.send(notificationEnvelope(notification.method));
      return;
    }
    default:
      logEvent("debug", "upstream_notification_dropped", {
        upstream: upstream.name,
        method: notification.method,
      });
  }
}

/** The answers of earlier rounds (sealed requestState) plus this retry's inputResponses. */
export function replayAnswers(upstream: Upstream, call: CallContext): Replay {
  const state = call.requestState;
  let answers: Record<string, unknown>[] = [];
  if (state !== undefined) {
    if (
      !isRecord(state) ||
      state.upstream !== upstream.name ||
      !Array.isArray(state.answers) ||
      !state.answers.every(isRecord)
    ) {
      throw new JsonRpcError(INVALID_PARAMS, "Invalid requestState: it belongs to another call");
    }
    answers = state.answers as Record<string, unknown>[];
  }
  const next = call.inputResponses?.[inputKey(answers.length)];
  if (isRecord(next)) answers = [...answers, next];
  return { answers };
}

function inputKey(index: number): string {
  return `upstream-input-${index}`;
}
