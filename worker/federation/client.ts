/**
 * A client for one upstream MCP server over Streamable HTTP (session era):
 * POSTs JSON-RPC messages and reads the answer as JSON or as an SSE stream
 * that may carry notifications and server->client requests before it.
 *
 * Why not the SDK's StreamableHTTPClientTransport: after `initialized` it
 * opens a standing GET stream (and reconnects it), which would keep every
 * session object awake for as long as the session lives; a hibernating
 * gateway must hold nothing open between calls. Everything this client
 * receives arrives on the stream of a request it made, so notifications are
 * attributed to the call that caused them, and nothing outlives a call.
 *
 * Failures are typed (UpstreamFailure) and never carry the upstream's URL or
 * headers, which may hold credentials.
 */
import {
  errorEnvelope,
  JsonRpcError,
  METHOD_NOT_FOUND,
  notificationEnvelope,
  requestEnvelope,
  resultEnvelope,
} from "../../shared/errors";
import { MAX_FRAME_BYTES, PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import {
  isSessionEraVersion,
  type JsonRpcNotification,
  type JsonRpcRequest,
  LATEST_SESSION_ERA_VERSION,
  type RequestId,
} from "../../shared/protocol";
import { logEvent } from "../observability/log";
import { currentTrace, outgoingCarriers } from "../observability/trace";
import { StopCall, UpstreamFailure } from "./failures";
import type { ClientReply } from "./relay-call";
import { readSseData } from "./sse-reader";
import type { UpstreamSessionState } from "./store";
import {
  boundedText,
  failureOf,
  normalise,
  parseMessage,
  RequestBounds,
  resultFor,
  withDeadline,
} from "./wire";

export interface CallHooks {
  /** Aborted when the caller gives up (cancellation, deadline, disconnect). */
  signal?: AbortSignal;
  /** A notification the upstream sent on this request's stream (progress, log, list change). */
  onNotification?(notification: JsonRpcNotification): void;
  /**
   * A request the upstream sent on this request's stream (elicitation, sampling,
   * roots). The silence timeout is paused while it is answered (a person may be typing).
   */
  onRequest?(request: JsonRpcRequest, signal: AbortSignal): Promise<ClientReply>;
}

export interface ClientOptions {
  url: string;
  /** Extra request headers (resolved secrets). */
  headers: Record<string, string>;
  /**
   * The OAuth access token for the next request, read as each request is sent
   * (federation looks it up from the principal's grant before every attempt).
   */
  bearer?: () => string | undefined;
  /** Longest the upstream may go without progress on a request before it fails. */
  timeoutMs: number;
  /** Longest any one request may take, progress or not. */
  maxRequestMs: number;
  fetcher?: typeof fetch;
}

const CLIENT_INFO = { name: "dormouse-gateway", version: "0.1.0" };
/** Cancellation notices and DELETEs are best effort and bounded. */
const BEST_EFFORT_MS = 2_000;

export class UpstreamClient {
  #state: UpstreamSessionState | null;
  #nextId = 1;
  readonly #fetch: typeof fetch;

  constructor(
    private readonly options: ClientOptions,
    state: UpstreamSessionState | null,
  ) {
    this.#state = state;
    // Bound: workerd refuses a detached global fetch ("Illegal invocation").
    this.#fetch = options.fetcher ?? ((input, init) => fetch(input, init));
  }

  get state(): UpstreamSessionState | null {
    return this.#state;
  }

  /** Opens a new upstream session (initialize + initialized) and returns its state. */
  async initialize(
    capabilities: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<UpstreamSessionState> {
    this.#state = null;
    const { result, sessionId } = await this.#exchange(
      "initialize",
      { protocolVersion: LATEST_SESSION_ERA_VERSION, capabilities, clientInfo: CLIENT_INFO },
      { signal },
      null,
    );
    const version = result.protocolVersion;
    if (!isSessionEraVersion(version)) {
      throw new UpstreamFailure(
        "invalid",
        `answered initialize with an unsupported protocol version (${String(version).slice(0, 40)})`,
      );
    }
    const serverCapabilities =
      typeof result.capabilities === "object" && result.capabilities !== null
        ? (result.capabilities as Record<string, unknown>)
        : {};
    this.#state = {
      sessionId,
      protocolVersion: version,
      capabilities: serverCapabilities,
      declared: capabilities,
    };
    await this.notify("notifications/initialized");
    return this.#state;
  }

  /** Sends one request and returns its result; throws UpstreamFailure or UpstreamRpcError. */
  async request(
    method: string,
    params: Record<string, unknown>,
    hooks: CallHooks = {},
  ): Promise<Record<string, unknown>> {
    if (!this.#state) throw new Error("upstream session not initialized");
    return (await this.#exchange(method, params, hooks, this.#state)).result;
  }

  /** Sends a notification (202 expected); failures are swallowed by callers that don't care. */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    const body = notificationEnvelope(method, params);
    const response = await withDeadline(this.options.timeoutMs, (signal) =>
      this.#post(body, this.#state, signal),
    );
    await response.body?.cancel();
    if (response.status === 404 && this.#state?.sessionId) {
      throw new UpstreamFailure("expired", "no longer knows this session");
    }
    if (!response.ok) throw new UpstreamFailure("unavailable", `answered HTTP ${response.status}`);
  }

  /** Ends the upstream session (DELETE); best effort. */
  async terminate(): Promise<void> {
    const sessionId = this.#state?.sessionId;
    this.#state = null;
    if (!sessionId) return;
    try {
      const response = await withDeadline(BEST_EFFORT_MS, (signal) =>
        this.#fetch(this.options.url, {
          method: "DELETE",
          headers: this.#headers({ sessionId, protocolVersion: LATEST_SESSION_ERA_VERSION }),
          redirect: "manual",
          signal,
        }),
      );
      await response.body?.cancel();
    } catch {
      // The upstream forgets idle sessions on its own.
    }
  }

  async #exchange(
    method: string,
    params: Record<string, unknown>,
    hooks: CallHooks,
    session: UpstreamSessionState | null,
  ): Promise<{ result: Record<string, unknown>; sessionId: string | null }> {
    const id = this.#nextId++;
    const controller = new AbortController();
    const onAbort = () => controller.abort(hooks.signal?.reason);
    hooks.signal?.addEventListener("abort", onAbort, { once: true });
    const bounds = new RequestBounds(this.options.timeoutMs, this.options.maxRequestMs, (reason) =>
      controller.abort(reason),
    );
    try {
      if (hooks.signal?.aborted) throw hooks.signal.reason;
      const response = await this.#post(
        requestEnvelope(id, method, withTraceMeta(params)),
        session,
        controller.signal,
      );
      const sessionId = response.headers.get(SESSION_ID_HEADER);
      if (!response.ok) throw await failureOf(response, session);
      const type = (response.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
      if (type === "application/json") {
        bounds.touch();
        const message = parseMessage(await boundedText(response, MAX_FRAME_BYTES, "refuse"));
        return { result: resultFor(message, id), sessionId };
      }
      if (type === "text/event-stream" && response.body) {
        for await (const data of readSseData(response.body, MAX_FRAME_BYTES)) {
          // Resumable servers prime a stream with an event that has an id and empty data.
          if (data.trim() === "") continue;
          const message = parseMessage(data);
          if (message.kind === "request") {
            // Paused only while the client (a person, maybe) answers: the POST of that
            // answer to the upstream is the upstream's work, under its own limits again.
            bounds.pause();
            const reply = await this.#answer(message.message, hooks, controller.signal);
            bounds.resume();
            await this.#reply(message.message.id, reply, session, controller.signal);
            continue;
          }
          if (message.kind === "notification") {
            // Progress shows work is happening; log lines and list changes do not.
            if (message.message.method === "notifications/progress") bounds.touch();
            hooks.onNotification?.(message.message);
            continue;
          }
          if (message.message.id === id) return { result: resultFor(message, id), sessionId };
        }
        throw new UpstreamFailure("unavailable", "closed its stream before answering");
      }
      await response.body?.cancel();
      throw new UpstreamFailure(
        "invalid",
        `answered with Content-Type ${JSON.stringify(type ?? "")}, not JSON or an event stream`,
      );
    } catch (thrown) {
      const stopped = thrown instanceof StopCall ? thrown : null;
      if (controller.signal.aborted || stopped) {
        const reason = stopped ?? controller.signal.reason;
        controller.abort(reason);
        // Tell the upstream to stop working on it (spec: cancellation).
        if (session) {
          this.notify("notifications/cancelled", {
            requestId: id,
            reason: reason instanceof UpstreamFailure ? reason.detail : "cancelled by the client",
          }).catch(() => {});
        }
        throw reason;
      }
      throw normalise(thrown);
    } finally {
      bounds.pause();
      hooks.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #answer(
    request: JsonRpcRequest,
    hooks: CallHooks,
    signal: AbortSignal,
  ): Promise<ClientReply> {
    if (request.method === "ping") return { result: {} };
    if (!hooks.onRequest) {
      return { error: { code: METHOD_NOT_FOUND, message: `Method not found: ${request.method}` } };
    }
    return hooks.onRequest(request, signal);
  }

  async #reply(
    id: RequestId,
    reply: ClientReply,
    session: UpstreamSessionState | null,
    signal: AbortSignal,
  ): Promise<void> {
    const envelope =
      "result" in reply
        ? resultEnvelope(id, reply.result)
        : errorEnvelope(id, new JsonRpcError(reply.error.code, reply.error.message));
    const response = await this.#post(envelope, session, signal);
    await response.body?.cancel();
    if (!response.ok) throw await failureOf(response, session);
  }

  async #post(
    body: object,
    session: UpstreamSessionState | null,
    signal: AbortSignal,
  ): Promise<Response> {
    try {
      return await this.#fetch(this.options.url, {
        method: "POST",
        headers: {
          ...this.#headers(session),
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(body),
        // Never follow a redirect: it would carry the configured headers (secrets) to
        // wherever the upstream points; fetch strips only Authorization across origins.
        redirect: "manual",
        signal,
      });
    } catch (thrown) {
      if (signal.aborted) throw thrown;
      logEvent("warn", "upstream_fetch_failed", { error: thrown });
      // Never the fetch error's own text to the client: it may name the URL.
      throw new UpstreamFailure("unavailable", "could not be reached");
    }
  }

  #headers(
    session: Pick<UpstreamSessionState, "sessionId" | "protocolVersion"> | null,
  ): Record<string, string> {
    const trace = currentTrace();
    const headers: Record<string, string> = {
      ...this.options.headers,
      ...(trace ? outgoingCarriers(trace) : {}),
    };
    const bearer = this.options.bearer?.();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (session?.sessionId) headers[SESSION_ID_HEADER] = session.sessionId;
    if (session) headers[PROTOCOL_VERSION_HEADER] = session.protocolVersion;
    return headers;
  }
}

/** SEP-414: the call's trace context in the upstream request's `_meta` too (beside the headers). */
function withTraceMeta(params: Record<string, unknown>): Record<string, unknown> {
  const trace = currentTrace();
  if (!trace) return params;
  const meta = typeof params._meta === "object" && params._meta !== null ? params._meta : {};
  return { ...params, _meta: { ...meta, ...outgoingCarriers(trace) } };
}
