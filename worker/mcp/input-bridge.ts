/**
 * The input bridge: serves multi-round-trip tools (SEP-2322) to session-era
 * clients, which expect real server->client requests instead of an
 * `input_required` result.
 *
 * When a call needs input, the bridge persists the call (pending_call) and one
 * row per input (pending_input), then sends each input as a server->client
 * request on the call's own channel (its SSE stream over HTTP, the socket over
 * WebSocket: the `relatedRequestId` rule). When the last answer arrives, it
 * retries the original request with `inputResponses` and `requestState`, as a
 * 2026-07-28 client would: the bridge hands the dispatcher that retry (a
 * Resumption) rather than running it, so it needs no handle on the dispatcher.
 *
 * Nothing waits in memory and no timer runs: the object may hibernate while a
 * person answers an elicitation, and the answer wakes it and finds the call in
 * SQLite. Over WebSocket the answer goes to the session's socket. Over HTTP the
 * call's SSE reply is ended after the input requests (SSE polling: an event id
 * and a `retry`), and the client resumes it with Last-Event-ID; the call's
 * stream id is kept with it, so its answer reaches that stream after a wake.
 */
import { exceedsUtf8Bytes } from "../../shared/codec";
import {
  errorEnvelope,
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  requestEnvelope,
} from "../../shared/errors";
import {
  CAPABILITY_FOR_CLIENT_REQUEST,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
  requestKey,
  responseError,
} from "../../shared/protocol";
import { logEvent } from "../observability/log";
import {
  MAX_INPUT_ANSWER_BYTES,
  MAX_PENDING_CALLS,
  MAX_WAITING_PARAMS_BYTES,
  type PendingCall,
  type PendingCallTable,
} from "../storage/pending-call-table";
import type { InputRequired } from "../tools/types";
import type { Channel } from "../transports/channel";
import { sealRequestState } from "./request-state";
import { mintServerRequestId } from "./server-request-ids";

/** A waiting call to run again, with every answer, once the client has answered all its inputs. */
export interface Resumption {
  request: JsonRpcRequest;
  channel: Channel;
}

export class InputBridge {
  /** Channels of calls started in this object lifetime (HTTP streams); others use the fallback. */
  readonly #channels = new Map<string, Channel>();
  /** The keys of every waiting call (all lifetimes), once read (see `holds`). */
  #waiting: Set<string> | null = null;

  constructor(
    private readonly pending: PendingCallTable,
    /** Key material for the sealed requestState (REQUEST_STATE_SECRET). */
    private readonly secret: string | undefined,
    /** Where answers to socket calls started in an earlier object lifetime go: the session's socket. */
    private readonly fallback: Channel,
    /** The channel of an HTTP call's reply stream whose response is gone (an earlier object lifetime). */
    private readonly streamChannel: (stream: string, requestId: RequestId) => Channel,
  ) {}

  async start(
    request: JsonRpcRequest,
    channel: Channel,
    required: InputRequired,
    clientCapabilities: Record<string, unknown>,
  ): Promise<void> {
    const missing = Object.values(required.inputRequests)
      .map((input) => CAPABILITY_FOR_CLIENT_REQUEST[input.method])
      .filter(
        (capability): capability is string => !!capability && !(capability in clientCapabilities),
      );
    if (missing.length > 0) {
      const requiredCapabilities = Object.fromEntries(missing.map((name) => [name, {}]));
      throw new JsonRpcError(
        MISSING_CLIENT_CAPABILITY,
        `This call needs client capabilities the client did not declare: ${missing.join(", ")}`,
        { requiredCapabilities },
      );
    }
    if (this.pending.countPendingCalls() >= MAX_PENDING_CALLS) {
      throw new JsonRpcError(
        INVALID_REQUEST,
        `Too many calls waiting for client input (at most ${MAX_PENDING_CALLS})`,
      );
    }
    const callKey = requestKey(request.id);
    const params = { ...(request.params ?? {}) };
    delete params.inputResponses;
    if (required.state !== undefined) {
      params.requestState = await sealRequestState(required.state, this.secret);
    } else {
      delete params.requestState;
    }
    // Checked before anything is sent: a call too large to keep cannot wait for its answers.
    if (exceedsUtf8Bytes(JSON.stringify(params), MAX_WAITING_PARAMS_BYTES)) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `This call waits for client input and its params are too large to keep while it waits (over ${MAX_WAITING_PARAMS_BYTES} bytes of JSON)`,
      );
    }
    const inputs = Object.keys(required.inputRequests).map((inputKey) => ({
      inputKey,
      serverId: mintServerRequestId("input"),
    }));
    // Sent first, then kept, in one synchronous turn: the output gate holds the
    // requests until the rows are durable, and sending opens an HTTP reply's
    // resumable stream, whose id is kept with the call.
    for (const { inputKey, serverId } of inputs) {
      const input = required.inputRequests[inputKey];
      if (input) channel.send(requestEnvelope(serverId, input.method, input.params));
    }
    const call: PendingCall = {
      callKey,
      request: {
        id: request.id,
        method: request.method,
        params,
        ...(channel.streamId ? { stream: channel.streamId } : {}),
      },
      expected: inputs.map((input) => input.inputKey),
      responses: {},
      createdAt: Date.now(),
    };
    this.pending.savePendingCall(call, inputs);
    this.#waiting?.add(callKey);
    this.#channels.set(callKey, channel);
    // A person may take minutes: end the HTTP reply so nothing holds the object awake.
    channel.closeReplyStream?.();
  }

  /**
   * Records the client's answer to one input. Returns the call to run again
   * once every input is answered; null while answers are missing, after an
   * error answer (the call then ends with that error), or for an id the bridge
   * no longer knows.
   */
  async onResponse(response: JsonRpcResponse): Promise<Resumption | null> {
    if (typeof response.id !== "string") return null;
    let error = responseError(response);
    let answer = error ? { error } : (response as { result?: unknown }).result;
    // Too large to keep with its call: the call ends with an error, as after an error answer.
    if (!error && exceedsUtf8Bytes(JSON.stringify(answer ?? null), MAX_INPUT_ANSWER_BYTES)) {
      error = {
        code: INVALID_PARAMS,
        message: `the answer is over ${MAX_INPUT_ANSWER_BYTES} bytes of JSON`,
      };
      answer = { error };
    }
    const call = this.pending.recordInput(response.id, answer);
    if (!call) return null;
    const channel = this.#channelOf(call);
    if (error) {
      this.#finish(call.callKey);
      const wire = new JsonRpcError(
        error.code,
        `The client answered an input request of ${call.request.method} with an error: ${error.message}`,
      );
      channel.send(errorEnvelope(call.request.id, wire));
      return null;
    }
    if (call.expected.some((key) => !(key in call.responses))) return null;
    this.#finish(call.callKey);
    logEvent("debug", "input_bridge_resume", {
      callKey: call.callKey,
      method: call.request.method,
    });
    const params = { ...call.request.params, inputResponses: call.responses };
    return { request: requestEnvelope(call.request.id, call.request.method, params), channel };
  }

  /**
   * Forgets a call the client cancelled (or whose reply stream expired); true
   * when one was waiting. Its requests still unanswered are withdrawn at the
   * client (`notifications/cancelled`, on the call's channel), so a dialog
   * open for one of them closes instead of taking an answer nobody reads.
   */
  cancel(callKey: string, reason: string): boolean {
    const waiting = this.pending.waitingCall(callKey);
    if (waiting) {
      const channel = this.#channelOf(waiting.call);
      for (const requestId of waiting.unanswered) {
        channel.send(notificationEnvelope("notifications/cancelled", { requestId, reason }));
      }
    }
    this.#channels.get(callKey)?.abandon?.();
    return this.#finish(callKey);
  }

  /** Where a waiting call's messages go: its channel in this lifetime, else its stream or the socket. */
  #channelOf(call: PendingCall): Channel {
    return (
      this.#channels.get(call.callKey) ??
      (call.request.stream
        ? this.streamChannel(call.request.stream, call.request.id)
        : this.fallback)
    );
  }

  /** The session is ending: every waiting call is answered with `error` (its rows go with the storage). */
  endAll(error: JsonRpcError): void {
    for (const [callKey, channel] of this.#channels) {
      channel.send(errorEnvelope(JSON.parse(callKey) as RequestId, error));
      channel.abandon?.();
    }
    this.#channels.clear();
  }

  /** The JSON request ids of every call waiting for client input (all lifetimes). */
  waitingKeys(): string[] {
    return this.pending.callKeys();
  }

  /** Whether a call started in this object lifetime is waiting for client input. */
  isWaiting(callKey: string): boolean {
    return this.#channels.has(callKey);
  }

  /**
   * Whether a call with this key waits for client input, whichever lifetime
   * started it. Asked for every new request, so answered from memory: the keys
   * are read from SQLite once per object lifetime (no query while none waits).
   */
  holds(callKey: string): boolean {
    this.#waiting ??= new Set(this.pending.callKeys());
    return this.#waiting.has(callKey);
  }

  #finish(callKey: string): boolean {
    this.#channels.delete(callKey);
    this.#waiting?.delete(callKey);
    return this.pending.deletePendingCall(callKey);
  }
}
