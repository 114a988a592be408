/**
 * Routes one decoded JSON-RPC message to its handler and sends the reply.
 *
 * Era selection (CONTEXT.md, "two protocol eras"): a request whose
 * `params._meta` names a 2026-07-28 protocol version is served statelessly
 * from that envelope; anything else is session era and needs `initialize`
 * first (ping excepted). In-flight requests are tracked so that
 * `notifications/cancelled` can abort them; a cancelled request gets no reply
 * (spec: cancellation). The in-flight map is memory only: a request in flight
 * keeps the object awake, so it cannot outlive an eviction.
 */
import * as v from "valibot";
import type { DecodedFrame } from "../../shared/codec";
import {
  asJsonRpcError,
  errorEnvelope,
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  REQUEST_TIMEOUT,
  resultEnvelope,
  TOO_MANY_IN_FLIGHT,
  toWireError,
} from "../../shared/errors";
import { acceptsSessionRequest, transition } from "../../shared/lifecycle";
import { MAX_IN_FLIGHT_PER_SESSION, MAX_TOOL_CALL_MS } from "../../shared/limits";
import {
  isModernVersion,
  isSessionEraVersion,
  type JsonRpcNotification,
  type JsonRpcRequest,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  ModernEnvelopeSchema,
  ProgressTokenSchema,
  RequestIdSchema,
  SESSION_ERA_VERSIONS,
} from "../../shared/protocol";
import { logEvent } from "../observability/log";
import { InputRequired } from "../tools/types";
import type { CallContext, Channel, Era, SessionContext } from "./context";
import { findHandler } from "./handlers";
import type { InputBridge } from "./input-bridge";
import { shapeResult } from "./results";
import { inputRequiredResult, readRoundTrip } from "./round-trip";

const CancelledSchema = v.looseObject({
  requestId: RequestIdSchema,
  reason: v.optional(v.string()),
});

export class Dispatcher {
  readonly #inflight = new Map<string, AbortController>();
  /** Session-era input bridge; null where no session storage exists (stateless HTTP). */
  bridge: InputBridge | null = null;

  constructor(
    private readonly session: SessionContext,
    /** Longest any request may run (REQUEST_DEADLINE_MS; MAX_TOOL_CALL_MS by default). */
    private readonly deadlineMs: number = MAX_TOOL_CALL_MS,
  ) {}

  get inflightCount(): number {
    return this.#inflight.size;
  }

  /** Handles one frame; never throws (errors become replies or log lines). */
  async handle(frame: DecodedFrame, channel: Channel): Promise<void> {
    switch (frame.kind) {
      case "invalid":
        channel.send(frame.reply);
        return;
      case "request":
        return this.run(frame.message, channel);
      case "notification":
        return this.#notification(frame.message);
      case "response":
        if (this.session.federation?.onResponse(frame.message)) return;
        if (await this.bridge?.onResponse(frame.message)) return;
        logEvent("debug", "unexpected_response", { sessionId: this.session.sessionId });
        return;
    }
  }

  /** Serves one request on `channel` (also the input bridge's retry path). */
  async run(request: JsonRpcRequest, channel: Channel): Promise<void> {
    const key = JSON.stringify(request.id);
    if (this.#inflight.has(key)) {
      channel.send(
        errorEnvelope(
          request.id,
          new JsonRpcError(INVALID_REQUEST, `Request id ${key} is already in flight`),
        ),
      );
      return;
    }
    if (this.#inflight.size >= MAX_IN_FLIGHT_PER_SESSION) {
      channel.send(
        errorEnvelope(
          request.id,
          new JsonRpcError(
            TOO_MANY_IN_FLIGHT,
            `Too many requests in flight on this session (at most ${MAX_IN_FLIGHT_PER_SESSION}); wait for replies`,
          ),
        ),
      );
      return;
    }
    const controller = new AbortController();
    this.#inflight.set(key, controller);
    // Bound every request's run time; the timer lives only while the request does.
    // At the deadline the client gets its error at once, even from a handler that ignores the signal.
    const deadline = new Deadline(this.deadlineMs, () => {
      const timeout = new RequestTimeout(this.deadlineMs);
      controller.abort(timeout);
      channel.send(errorEnvelope(request.id, timeout.toWire()));
    });
    try {
      const era = selectEra(request);
      if (
        era.kind === "session" &&
        !acceptsSessionRequest(this.session.hot().phase, request.method)
      ) {
        throw toWireError({ kind: "not_initialized", method: request.method });
      }
      const handler = findHandler(request.method, era);
      const roundTrip = await readRoundTrip(request.params ?? {}, this.session.requestStateSecret);
      const call: CallContext = {
        session: this.session,
        request,
        era,
        channel,
        signal: controller.signal,
        deadline,
        progressToken: progressTokenOf(request),
        ...roundTrip,
      };
      const result = await handler(request.params ?? {}, call);
      if (controller.signal.aborted) return;
      if (result instanceof InputRequired) {
        await this.#inputRequired(call, result);
        return;
      }
      channel.send(
        resultEnvelope(
          request.id,
          shapeResult(request.method, era, result as Record<string, unknown>),
        ),
      );
    } catch (thrown) {
      if (controller.signal.aborted) return;
      const error = asJsonRpcError(thrown);
      if (!(thrown instanceof JsonRpcError)) {
        logEvent("error", "request_failed", {
          sessionId: this.session.sessionId,
          method: request.method,
          error: thrown,
        });
      }
      channel.send(errorEnvelope(request.id, error));
    } finally {
      deadline.stop();
      this.#inflight.delete(key);
    }
  }

  async #inputRequired(call: CallContext, required: InputRequired): Promise<void> {
    const { request, era, channel } = call;
    if (era.kind === "modern") {
      const result = await inputRequiredResult(required, this.session.requestStateSecret);
      channel.send(resultEnvelope(request.id, shapeResult(request.method, era, result)));
      return;
    }
    if (!this.bridge) throw new Error("input bridge unavailable for a session-era request");
    await this.bridge.start(
      request,
      channel,
      required,
      this.session.record().clientCapabilities ?? {},
    );
  }

  #notification(notification: JsonRpcNotification): void {
    switch (notification.method) {
      case "notifications/initialized": {
        const next = transition(this.session.hot().phase, "initialized");
        if (next !== null && next !== this.session.hot().phase) {
          this.session.storage.savePhase(next);
          this.session.updateHot({ phase: next });
        }
        return;
      }
      case "notifications/cancelled": {
        const parsed = v.safeParse(CancelledSchema, notification.params);
        if (!parsed.success) return;
        const key = JSON.stringify(parsed.output.requestId);
        this.#inflight.get(key)?.abort(new Error(parsed.output.reason ?? "cancelled by client"));
        this.bridge?.cancel(key);
        return;
      }
      default:
        // Unknown notifications are ignored (JSON-RPC: notifications get no reply).
        return;
    }
  }

  /** Aborts every in-flight request (socket gone, session ended). */
  abortAll(reason: string): void {
    for (const controller of this.#inflight.values()) controller.abort(new Error(reason));
  }
}

/**
 * A request's deadline timer, which can be paused while the request waits for
 * the client itself (a relayed upstream elicitation a person is answering): the
 * deadline bounds the gateway's work, not the client's thinking time. Whoever
 * pauses it bounds the wait on its own.
 */
class Deadline {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #left: number;
  #since = 0;
  #stopped = false;

  constructor(
    ms: number,
    private readonly onExpire: () => void,
  ) {
    this.#left = ms;
    this.resume();
  }

  pause(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#left -= Date.now() - this.#since;
  }

  resume(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#since = Date.now();
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#stopped = true;
        this.onExpire();
      },
      Math.max(this.#left, 0),
    );
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** The abort reason of a request that ran past MAX_TOOL_CALL_MS. */
class RequestTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`request exceeded ${limitMs} ms`);
  }

  toWire(): JsonRpcError {
    return new JsonRpcError(REQUEST_TIMEOUT, `Request timed out after ${this.limitMs} ms`);
  }
}

function selectEra(request: JsonRpcRequest): Era {
  const meta = request.params?._meta;
  if (typeof meta !== "object" || meta === null || !(META_PROTOCOL_VERSION in meta)) {
    return { kind: "session" };
  }
  const version = (meta as Record<string, unknown>)[META_PROTOCOL_VERSION];
  if (isSessionEraVersion(version)) return { kind: "session" };
  if (!isModernVersion(version)) {
    throw toWireError({
      kind: "unsupported_version",
      requested: String(version),
      supported: [...MODERN_VERSIONS, ...SESSION_ERA_VERSIONS],
    });
  }
  const envelope = v.safeParse(ModernEnvelopeSchema, meta);
  if (!envelope.success) {
    const issues = envelope.issues
      .map((i) => `${v.getDotPath(i) ?? "_meta"}: ${i.message}`)
      .join("; ");
    throw new JsonRpcError(INVALID_PARAMS, `Invalid request envelope in params._meta: ${issues}`);
  }
  return { kind: "modern", version, envelope: envelope.output };
}

function progressTokenOf(request: JsonRpcRequest): CallContext["progressToken"] {
  const meta = request.params?._meta;
  if (typeof meta !== "object" || meta === null) return undefined;
  const token = v.safeParse(ProgressTokenSchema, (meta as Record<string, unknown>).progressToken);
  return token.success ? token.output : undefined;
}
