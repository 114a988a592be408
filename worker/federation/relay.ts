/**
 * What an upstream sends on a call's stream, relayed to the caller: progress
 * (re-sent with the caller's token), log messages (through the caller's level
 * filter, logger prefixed with the upstream's name), list changes (caches
 * dropped, the deployment's listen streams and a session-era caller told),
 * and server->client requests (elicitation, sampling, roots).
 *
 * Client input: a session-era caller is asked live (RelayCall.askClient, the
 * session's server->client request registry) and its answer goes back upstream. A 2026-07-28
 * caller gets an `input_required` result instead (the call stops); on its
 * retry the upstream call is made again and the upstream's requests are
 * answered, in order, from the answers collected so far (kept in the sealed
 * requestState) - the re-execution model multi-round-trip requests already use
 * for native tools.
 */
import {
  INVALID_PARAMS,
  JsonRpcError,
  METHOD_NOT_FOUND,
  notificationEnvelope,
} from "../../shared/errors";
import {
  CAPABILITY_FOR_CLIENT_REQUEST,
  isRecord,
  type JsonRpcNotification,
  LOG_LEVELS,
  type LogLevel,
} from "../../shared/protocol";
import { fullBucket, take } from "../../shared/token-bucket";
import type { Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import { InputRequired } from "../tools/types";
import type { CallHooks } from "./client";
import { StopCall } from "./failures";
import type { RelayCall } from "./relay-call";

/**
 * Notifications relayed from one upstream call to the client: a token bucket
 * per call, so a flooding upstream cannot fill the client's socket or stream.
 * What exceeds it is dropped and counted in the log.
 */
export const RELAYED_NOTIFICATIONS_PER_SECOND = 100;
export const RELAYED_NOTIFICATIONS_BURST = 200;
/** Rounds of client input a 2026-07-28 caller may be asked for in one upstream call. */
const MAX_INPUT_ROUNDS = 8;

/** Answers a 2026-07-28 caller gave in earlier rounds of one upstream call. */
export interface Replay {
  answers: Record<string, unknown>[];
}

export interface RelayOptions {
  upstream: Upstream;
  call: RelayCall;
  /** Null for a session-era caller (live relay) and for requests that expect no input. */
  replay: Replay | null;
  /** The upstream announced a list change of `kind`: drop what is cached, tell listeners. */
  onListChanged(kind: "tools" | "prompts" | "resources"): void;
}

/** Hooks that relay what the upstream sends on a call's stream to the caller. */
export function relayHooks(options: RelayOptions): CallHooks {
  const { upstream, call, replay } = options;
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
        relayNotification(options, notification);
        return;
      }
      dropped += 1;
      if (dropped === 1 || dropped % 1_000 === 0) {
        logEvent("warn", "upstream_notifications_dropped", {
          sessionId: call.sessionId,
          upstream: upstream.name,
          dropped,
        });
      }
    },
    onRequest: async (request, signal) => {
      const capability = CAPABILITY_FOR_CLIENT_REQUEST[request.method];
      if (!capability) {
        return {
          error: { code: METHOD_NOT_FOUND, message: `Method not found: ${request.method}` },
        };
      }
      if (!replay) {
        logEvent("debug", "upstream_request_relayed", {
          upstream: upstream.name,
          method: request.method,
        });
        return call.askClient(request.method, request.params, signal);
      }
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

function relayNotification(options: RelayOptions, notification: JsonRpcNotification): void {
  const { upstream, call } = options;
  const params = isRecord(notification.params) ? notification.params : {};
  switch (notification.method) {
    case "notifications/progress": {
      if (call.progressToken === undefined || call.signal.aborted) return;
      const { progress, total, message } = params;
      if (typeof progress !== "number") return;
      call.send(
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
      call.log(level as LogLevel, params.data, logger);
      return;
    }
    case "notifications/tools/list_changed":
    case "notifications/prompts/list_changed":
    case "notifications/resources/list_changed": {
      const kind = notification.method.split("/")[1] as "tools" | "prompts" | "resources";
      options.onListChanged(kind);
      if (call.era === "session") call.send(notificationEnvelope(notification.method));
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
export function replayAnswers(upstream: Upstream, call: RelayCall): Replay {
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
