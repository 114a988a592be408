/**
 * Routes one decoded JSON-RPC message to its handler and sends the reply.
 *
 * Era selection (era.ts): a request whose `_meta` names a 2026-07-28 version is
 * served from that envelope; anything else is session era and needs `initialize`
 * first (ping excepted). In-flight requests are tracked so that
 * `notifications/cancelled` can abort them; a cancelled request gets no reply
 * (spec: cancellation). The in-flight map is memory only: a request in flight
 * keeps the object awake, so it cannot outlive an eviction.
 *
 * A request keeps running when the connection it came on goes away (a dropped
 * or superseded socket, a closed SSE stream): its replies go to the session's
 * next socket, or into the replay store of its reply stream, until it ends, is
 * cancelled or hits its deadline. Each in-flight request remembers its channel:
 * when the session ends, every request still running is answered with
 * SESSION_ENDED on it rather than left without a reply.
 *
 * Answers from the client to the server's own requests are routed by their id
 * (server-request-ids.ts) to the input bridge, to a live upstream relay, or to
 * the task bridge (a task's input round). A session-era `tasks/result` for a
 * task still running is handed to the task bridge, which answers it when the
 * task ends (no deadline: the task's own TTL bounds it).
 */
import type { DecodedFrame } from "../../shared/codec";
import {
  asJsonRpcError,
  errorEnvelope,
  INVALID_REQUEST,
  JsonRpcError,
  resultEnvelope,
  SESSION_ENDED,
  toWireError,
} from "../../shared/errors";
import { acceptsSessionRequest } from "../../shared/lifecycle";
import {
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
  requestKey,
} from "../../shared/protocol";
import { logEvent } from "../observability/log";
import { type Trace, traceFrom } from "../observability/trace";
import { InputRequired } from "../tools/types";
import type { Channel } from "../transports/channel";
import { type AskClient, Call } from "./call";
import { CallAbort } from "./call-abort";
import { askClient, type ClientRequests } from "./client-requests";
import type { CallContext, SessionContext } from "./context";
import { type Deadline, DeadlineSweep, RequestTimeout } from "./deadline";
import { selectEra } from "./era";
import { findHandler } from "./handlers";
import { type InFlight, InFlightRequests } from "./in-flight";
import type { InputBridge } from "./input-bridge";
import { type CancelRequest, onNotification } from "./notifications";
import { shapeResult } from "./results";
import { inputRequiredResult, readRoundTrip } from "./round-trip";
import { malformedAnswer, routeOfServerRequestId } from "./server-request-ids";
import type { TaskBridge } from "./task-bridge";
import { AwaitTask } from "./task-handlers";
import { WaitingRequests } from "./waiting-requests";

/**
 * The end of what `Dispatcher.handle` or `run` started, as a promise for a caller
 * that chains on it (an HTTP exchange): already settled when the work was done
 * before they returned (undefined).
 */
export function settled(work: Promise<void> | undefined): Promise<void> {
  return work ?? Promise.resolve();
}

export interface DispatcherOptions {
  /** Longest any request may run (REQUEST_DEADLINE_MS). */
  deadlineMs: number;
  /** Session-era input bridge; null where no session storage exists (stateless HTTP). */
  bridge: InputBridge | null;
  /** Live relays of upstream requests to the client; null where nothing can answer them. */
  clientRequests: ClientRequests | null;
  /** Session-era glue to the session's tasks; null where there is no session (stateless HTTP). */
  taskBridge: TaskBridge | null;
  /**
   * Made for one request (stateless HTTP): its deadline timer is cleared as
   * soon as that request ends, since no later call will reuse it.
   */
  oneShot?: boolean;
}

/** One request between its arrival and its end: its in-flight entry, and what serving it needs. */
interface Served extends InFlight {
  key: string;
  request: JsonRpcRequest;
  trace: Trace;
  deadline: Deadline;
  /** Made once the era and handler are known (#start). */
  call: Call | undefined;
}

export class Dispatcher {
  readonly #inflight = new InFlightRequests();
  readonly #deadlineMs: number;
  readonly #deadlines: DeadlineSweep;
  readonly #bridge: InputBridge | null;
  readonly #clientRequests: ClientRequests | null;
  readonly #tasks: TaskBridge | null;
  readonly #waiting: WaitingRequests;

  constructor(
    private readonly session: SessionContext,
    options: DispatcherOptions,
  ) {
    this.#deadlineMs = options.deadlineMs;
    this.#deadlines = new DeadlineSweep(options.deadlineMs, options.oneShot === true);
    this.#bridge = options.bridge;
    this.#clientRequests = options.clientRequests;
    this.#tasks = options.taskBridge;
    this.#waiting = new WaitingRequests(session, options.bridge, options.taskBridge);
  }

  /** How every call of this dispatcher asks the client (one function, not one per call). */
  readonly #ask: AskClient = (call, method, params, signal) =>
    askClient(this.#clientRequests, call, method, params, signal);

  /**
   * Handles one frame; `origin` names the connection it came on (see `run`).
   * Never rejects: errors become replies or log lines. A promise only while
   * the frame's work goes on: a request answered without waiting is done when
   * this returns (undefined), with no promise or microtask turn of its own.
   */
  handle(frame: DecodedFrame, channel: Channel, origin?: number): Promise<void> | undefined {
    switch (frame.kind) {
      case "invalid": {
        // A malformed answer to one of the session's own requests ends the call waiting for it.
        const answer = malformedAnswer(frame.reply);
        if (answer) return this.#response(answer);
        channel.send(frame.reply);
        return undefined;
      }
      case "request":
        return this.run(frame.message, channel, origin);
      case "notification":
        try {
          onNotification(frame.message, this.session, this.#cancel);
        } catch (error) {
          logEvent("error", "notification_failed", { sessionId: this.session.sessionId, error });
        }
        return undefined;
      case "response":
        return this.#response(frame.message);
    }
  }

  /**
   * Serves one request on `channel`, as part of the trace its `_meta` carries
   * (or a new one), held on the call's context: every log line of the call has
   * its trace id, and federation carries it upstream. `origin` names the
   * connection it came on, for the in-flight rules (in-flight.ts).
   *
   * A handler that answers without waiting is served to the end here, and the
   * request's deadline never starts (nothing could interrupt it anyway); one
   * that returns a promise starts its deadline then and ends in `#settle`.
   */
  run(
    request: JsonRpcRequest,
    channel: Channel,
    origin?: number,
    resumed = false,
  ): Promise<void> | undefined {
    const key = requestKey(request.id);
    // A call resumed with its client's answers had its place already: it is not
    // a new request (its key waited) and does not count against the bound again.
    const refusal = resumed
      ? this.#inflight.refusal(key, origin, false)
      : this.#waiting.holds(key)
        ? new JsonRpcError(
            INVALID_REQUEST,
            `Request id ${key} is already in flight (waiting for the client's input or its task)`,
          )
        : this.#inflight.refusal(key, origin);
    if (refusal) {
      channel.send(errorEnvelope(request.id, refusal));
      return undefined;
    }
    const abort = new CallAbort();
    // At the deadline the client gets its error at once, even from a handler that ignores the signal.
    const deadline = this.#deadlines.paused(this.#deadlineMs, () => {
      const timeout = new RequestTimeout(this.#deadlineMs);
      abort.abort(timeout);
      channel.send(errorEnvelope(request.id, timeout.toWire()));
    });
    const trace = traceFrom(request.params?._meta);
    const served: Served = {
      abort,
      channel,
      origin,
      key,
      request,
      trace,
      deadline,
      call: undefined,
    };
    this.#inflight.add(key, served);
    let outcome: object | Promise<object>;
    try {
      outcome = this.#start(served);
    } catch (thrown) {
      this.#fail(served, thrown);
      this.#end(served);
      return undefined;
    }
    if (
      outcome instanceof Promise ||
      outcome instanceof InputRequired ||
      outcome instanceof AwaitTask
    ) {
      deadline.resume();
      return this.#settle(served, outcome);
    }
    try {
      if (!abort.aborted) this.#answer(served, outcome);
    } catch (thrown) {
      this.#fail(served, thrown);
    }
    this.#end(served);
    return undefined;
  }

  /** Up to the handler's answer: the era, the handler, the previous round, the handler run. */
  #start(served: Served): object | Promise<object> {
    const { request } = served;
    const era = selectEra(request);
    if (
      era.kind === "session" &&
      !acceptsSessionRequest(this.session.hot().phase, request.method)
    ) {
      throw toWireError({ kind: "not_initialized", method: request.method });
    }
    const handler = findHandler(request.method, era);
    const params = request.params ?? {};
    const call = new Call(
      this.session,
      request,
      era,
      served.channel,
      served.trace,
      served.deadline,
      served.abort,
      this.#ask,
    );
    served.call = call;
    const read = readRoundTrip(params, this.session.requestStateSecret);
    if (read instanceof Promise)
      return read.then((opened) => handler(params, call.roundTrip(opened)));
    return handler(params, call.roundTrip(read));
  }

  /** The rest of a request whose handler waits (or asks the client, or waits for a task). */
  async #settle(served: Served, outcome: object | Promise<object>): Promise<void> {
    const { request, channel, abort } = served;
    try {
      const result = await outcome;
      if (abort.aborted) return;
      if (result instanceof InputRequired) {
        // #start made the call before any handler could return this.
        await this.#inputRequired(served.call as Call, result);
        return;
      }
      if (result instanceof AwaitTask) {
        if (!this.#tasks) throw new Error("task bridge unavailable for a session-era tasks/result");
        this.session.markWaitingCalls?.();
        await this.#tasks.park(request, channel, result.view);
        return;
      }
      this.#answer(served, result);
    } catch (thrown) {
      this.#fail(served, thrown);
    } finally {
      this.#end(served);
    }
  }

  #answer(served: Served, result: object): void {
    const { request } = served;
    const era = (served.call as Call).era;
    served.channel.send(
      resultEnvelope(
        request.id,
        shapeResult(request.method, era, result as Record<string, unknown>),
      ),
    );
  }

  /** A request that failed gets its error, unless it was aborted (already answered, or cancelled). */
  #fail(served: Served, thrown: unknown): void {
    if (served.abort.aborted) return;
    const { request } = served;
    if (!(thrown instanceof JsonRpcError)) {
      logEvent(
        "error",
        "request_failed",
        { sessionId: this.session.sessionId, method: request.method, error: thrown },
        served.trace,
      );
    }
    served.channel.send(errorEnvelope(request.id, asJsonRpcError(thrown)));
  }

  #end(served: Served): void {
    served.deadline.stop();
    this.#inflight.remove(served.key, served);
  }

  /**
   * The ids of the requests still being worked on: running in this object, or
   * waiting in SQLite for the client's input (the input bridge).
   */
  inFlightIds(): RequestId[] {
    const keys = new Set([...this.#inflight.keys(), ...this.#waiting.keys()]);
    return [...keys].map((key) => JSON.parse(key) as RequestId);
  }

  /**
   * The session is ending: every request still running is answered with
   * SESSION_ENDED on its own channel, then aborted; calls waiting for client
   * input end their streams.
   */
  endAll(reason: string): void {
    const error = new JsonRpcError(
      SESSION_ENDED,
      `The session ended while this request was in flight (${reason})`,
    );
    this.#inflight.endAll(error, reason);
    this.#waiting.endAll(error);
  }

  /**
   * Whether the request with this key is anywhere in this session: running,
   * waiting for client input (kept in SQLite, so across a restart too), or
   * waiting for its task's end. False for a call a restart took with it.
   */
  holds(callKey: string): boolean {
    return this.#inflight.has(callKey) || this.#waiting.holds(callKey);
  }

  /** Whether a request started in this object lifetime still waits (client input, or its task). */
  isWaitingForInput(request: JsonRpcRequest): boolean {
    return this.#waiting.startedHere(requestKey(request.id));
  }

  /** Forgets a waiting request whose reply stream expired. */
  forgetWaiting(request: JsonRpcRequest): void {
    this.#waiting.stop(requestKey(request.id), "the call's reply stream was open too long");
  }

  async #inputRequired(call: CallContext, required: InputRequired): Promise<void> {
    const { request, era, channel } = call;
    if (era.kind === "modern") {
      const result = await inputRequiredResult(required, this.session.requestStateSecret);
      channel.send(resultEnvelope(request.id, shapeResult(request.method, era, result)));
      return;
    }
    if (!this.#bridge) throw new Error("input bridge unavailable for a session-era request");
    this.session.markWaitingCalls?.();
    await this.#bridge.start(request, channel, required, call.clientCapabilities());
  }

  /** Stops the request with this id, as a `notifications/cancelled` for it would (a client that hung up). */
  cancel(id: RequestId, reason: string): void {
    this.#cancel(requestKey(id), reason);
  }

  /** Stops a request wherever it waits: running here, for the client's input, or for its task. */
  readonly #cancel: CancelRequest = (key, reason) => {
    this.#inflight.cancel(key, reason);
    this.#waiting.stop(key, reason);
  };

  /** A client's answer to a request the server sent, routed by its id. */
  async #response(response: JsonRpcResponse): Promise<void> {
    switch (routeOfServerRequestId(response.id)) {
      case "up":
        if (this.#clientRequests?.onResponse(response)) return;
        break;
      case "input": {
        const resumption = await this.#bridge?.onResponse(response);
        if (resumption) await this.run(resumption.request, resumption.channel, undefined, true);
        return;
      }
      case "task":
        if (await this.#tasks?.onResponse(response)) return;
        break;
      case null:
        break;
    }
    logEvent("debug", "unexpected_response", { sessionId: this.session.sessionId });
  }
}
