/**
 * The inspector's JSON-RPC client: ids, correlation, progress routing,
 * cancellation, answers to server->client requests, and a traffic record of
 * every message with its timing. It outlives transports: after a re-attach the
 * connection hands it the new one and calls still in flight keep waiting, since
 * Dormouse sends their replies on the session's current socket.
 *
 * Answers to server->client requests are never dropped for want of a socket:
 * one given while detached (or whose write fails) is held until the next
 * attach, and one written is remembered with the transport it went on, since
 * a socket that died half-open may never have delivered it (`resend`).
 */
import { INTERNAL_ERROR, REQUEST_LOST } from "../../../shared/errors";
import { isRecord } from "../dom";
import {
  classify,
  type RequestId,
  RpcError,
  type RpcMessage,
  type RpcNotification,
  type RpcRequest,
  type RpcResponse,
} from "./messages";
import type { Transport } from "./transport";

export type Direction = "out" | "in" | "event";
export type TrafficKind = "request" | "response" | "error" | "notification" | "invalid" | "event";

export interface TrafficEntry {
  seq: number;
  /** Wall clock (ms since the epoch). */
  time: number;
  dir: Direction;
  kind: TrafficKind;
  method?: string | undefined;
  /** What the method acts on: a tool or prompt name, a resource URI, a log level. */
  detail?: string | undefined;
  id?: RequestId | null | undefined;
  /** For responses: time since the matching request was sent or received. */
  durationMs?: number | undefined;
  bytes: number;
  message: unknown;
}

export interface Progress {
  progress: number;
  total?: number | undefined;
  message?: string | undefined;
}

export interface ClientHooks {
  traffic(entry: TrafficEntry): void;
  notification(notification: RpcNotification): void;
  /** Answers a server->client request; throw an RpcError to answer with an error. */
  serverRequest(request: RpcRequest): Promise<Record<string, unknown>>;
}

export interface Call {
  id: RequestId;
  result: Promise<Record<string, unknown>>;
  /** Sends notifications/cancelled and rejects `result` with a CancelledError. */
  cancel(reason?: string): void;
}

export class CancelledError extends Error {
  override name = "CancelledError";
}

interface Pending {
  method: string;
  detail: string | undefined;
  startedAt: number;
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
  onProgress?: ((progress: Progress) => void) | undefined;
  /** The transport it was sent on (a re-attach brings a new one). */
  via: Transport | null;
}

/** An answer (or a cancellation) written on `via`, kept for `resend`. */
interface Written {
  message: RpcMessage;
  method: string | undefined;
  via: Transport;
}

/** Answers held while detached, and answers remembered once written: at most this many each. */
const MAX_KEPT_ANSWERS = 64;

/** A short per-page tag keeps ids unique across reloads of the same session. */
const PAGE_TAG = Math.random().toString(36).slice(2, 5);

export class McpClient {
  #transport: Transport | null = null;
  #nextId = 1;
  #seq = 0;
  readonly #pending = new Map<RequestId, Pending>();
  readonly #serverRequests = new Map<RequestId, { method: string; startedAt: number }>();
  /** Answers given while no transport could take them, oldest first. */
  #held: RpcResponse[] = [];
  /** Answers and cancellations written, oldest first, with the transport each went on. */
  #written: Written[] = [];

  constructor(private readonly hooks: ClientHooks) {}

  get transport(): Transport | null {
    return this.#transport;
  }

  /** Takes a new transport and writes on it the answers held while there was none. */
  attach(transport: Transport): void {
    this.#transport = transport;
    transport.onMessage = (message) => this.#receive(message);
    const held = this.#held;
    this.#held = [];
    for (const answer of held) void this.#deliver(answer);
  }

  detach(): void {
    this.#transport = null;
  }

  request(
    method: string,
    params: Record<string, unknown> = {},
    options: { onProgress?: (progress: Progress) => void } = {},
  ): Call {
    const id = `${PAGE_TAG}-${this.#nextId++}`;
    const withToken = options.onProgress
      ? { ...params, _meta: { ...(isRecord(params._meta) ? params._meta : {}), progressToken: id } }
      : params;
    const result = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, {
        method,
        detail: detailOf(params),
        startedAt: performance.now(),
        resolve,
        reject,
        onProgress: options.onProgress,
        via: this.#transport,
      });
    });
    this.#send({ jsonrpc: "2.0", id, method, params: withToken }).catch((error: unknown) =>
      this.#settle(id, (pending) => pending.reject(asError(error))),
    );
    return {
      id,
      result,
      cancel: (reason = "Cancelled in the inspector") => this.cancel(id, reason),
    };
  }

  cancel(id: RequestId, reason: string): void {
    if (!this.#pending.has(id)) return;
    const via = this.#transport;
    const message: RpcNotification = {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason },
    };
    this.#send(message).then(
      () => via && this.#remember(message, undefined, via),
      () => {},
    );
    this.#transport?.abandon?.(id);
    this.#settle(id, (pending) => pending.reject(new CancelledError(reason)));
  }

  notify(method: string, params?: Record<string, unknown>): void {
    this.#send({ jsonrpc: "2.0", method, ...(params ? { params } : {}) }).catch(() => {});
  }

  /**
   * Rejects every call in flight (the session is gone or the person
   * disconnected), and forgets the answers held or written for the session.
   */
  failAll(reason: string): void {
    for (const id of [...this.#pending.keys()]) {
      this.#settle(id, (pending) => pending.reject(new Error(reason)));
    }
    const unsent = this.#held.length;
    if (unsent) this.event(`${unsent} held answer${unsent === 1 ? "" : "s"} not sent: ${reason}`);
    this.#held = [];
    this.#written = [];
  }

  /**
   * After a re-attach (the session's resumed notice): rejects the calls sent on
   * an earlier transport that the session neither answered (its answers were
   * replayed before the notice) nor still runs; they would otherwise wait forever.
   */
  failLost(inFlight: readonly unknown[], current: Transport): number {
    const running = new Set(inFlight.map((id) => JSON.stringify(id)));
    let failed = 0;
    for (const [id, pending] of [...this.#pending]) {
      if (pending.via === current || running.has(JSON.stringify(id))) continue;
      failed++;
      this.#settle(id, (p) =>
        p.reject(
          new RpcError(
            REQUEST_LOST,
            "Lost when the connection dropped: the session has no answer for it and is not running it",
          ),
        ),
      );
    }
    return failed;
  }

  /**
   * After a re-attach (the session's resumed notice, arriving on `current`):
   * writes again, once, what was written on an earlier transport, which may
   * have died half-open before the session read it. Answers are always written
   * again (the gateway ignores a second answer to a request: its ids are random
   * and answered once); a cancellation only when the session still runs that
   * call. The rule: everything written on an earlier transport is re-sent here
   * and then forgotten; what went on `current` is kept until the resumed notice
   * of a later one. Returns how many were written again.
   */
  resend(inFlight: readonly unknown[], current: Transport): number {
    const running = new Set(inFlight.map((id) => JSON.stringify(id)));
    const earlier = this.#written.filter((w) => w.via !== current);
    this.#written = this.#written.filter((w) => w.via === current);
    let sent = 0;
    for (const { message, method } of earlier) {
      if ("method" in message && !running.has(JSON.stringify(message.params?.requestId))) continue;
      sent++;
      void this.#write(message, method, current).catch(() => {});
    }
    return sent;
  }

  /** Records a transport event (open, close, re-attach) in the traffic log. */
  event(message: string): void {
    this.hooks.traffic(this.#entry("event", "event", { message }, { method: message }));
  }

  async #send(message: RpcMessage): Promise<void> {
    const transport = this.#transport;
    if (!transport) throw new Error("Not connected");
    this.#recordOut(message, undefined);
    await transport.send(message);
  }

  /** Writes an answer on the current transport, or holds it for the next one. */
  async #deliver(answer: RpcResponse): Promise<void> {
    const transport = this.#transport;
    const method = answer.id === null ? undefined : this.#serverRequests.get(answer.id)?.method;
    try {
      if (!transport) throw new Error("Not connected");
      await this.#write(answer, method, transport);
      this.#remember(answer, method, transport);
    } catch {
      if (this.#transport && this.#transport !== transport) return this.#deliver(answer);
      this.#held.push(answer);
      this.event(`Answer to ${method ?? "a server request"} held until the page re-attaches`);
      if (this.#held.length > MAX_KEPT_ANSWERS) {
        const dropped = this.#held.shift();
        this.event(
          `Held answer ${JSON.stringify(dropped?.id)} dropped: more than ${MAX_KEPT_ANSWERS} waiting`,
        );
      }
    }
  }

  /** Writes on `transport` and records the message once it is written. */
  async #write(
    message: RpcMessage,
    method: string | undefined,
    transport: Transport,
  ): Promise<void> {
    await transport.send(message);
    this.#recordOut(message, method);
  }

  #remember(message: RpcMessage, method: string | undefined, via: Transport): void {
    this.#written.push({ message, method, via });
    if (this.#written.length > MAX_KEPT_ANSWERS) this.#written.shift();
  }

  #recordOut(message: RpcMessage, method: string | undefined): void {
    const kind: TrafficKind =
      "method" in message
        ? "id" in message
          ? "request"
          : "notification"
        : "error" in message
          ? "error"
          : "response";
    // Our answer to a server->client request: time how long the person took.
    const answered = !("method" in message) && message.id !== null ? message.id : undefined;
    const serverRequest = answered === undefined ? undefined : this.#serverRequests.get(answered);
    if (answered !== undefined) this.#serverRequests.delete(answered);
    this.hooks.traffic(
      this.#entry("out", kind, message, {
        method: "method" in message ? message.method : (serverRequest?.method ?? method),
        detail: "method" in message ? detailOf(message.params) : undefined,
        id: "id" in message ? message.id : undefined,
        durationMs: serverRequest ? performance.now() - serverRequest.startedAt : undefined,
      }),
    );
  }

  #receive(raw: unknown): void {
    const classified = classify(raw);
    switch (classified.kind) {
      case "response":
        this.#onResponse(classified.message);
        return;
      case "notification":
        this.hooks.traffic(
          this.#entry("in", "notification", raw, {
            method: classified.message.method,
            detail: detailOf(classified.message.params),
          }),
        );
        this.#onNotification(classified.message);
        return;
      case "request":
        this.hooks.traffic(
          this.#entry("in", "request", raw, {
            method: classified.message.method,
            id: classified.message.id,
          }),
        );
        this.#serverRequests.set(classified.message.id, {
          method: classified.message.method,
          startedAt: performance.now(),
        });
        void this.#answer(classified.message);
        return;
      case "invalid":
        this.hooks.traffic(this.#entry("in", "invalid", raw, {}));
    }
  }

  #onResponse(response: RpcResponse): void {
    const pending = response.id === null ? undefined : this.#pending.get(response.id);
    this.hooks.traffic(
      this.#entry("in", "error" in response ? "error" : "response", response, {
        id: response.id,
        method: pending?.method,
        detail: pending?.detail,
        durationMs: pending ? performance.now() - pending.startedAt : undefined,
      }),
    );
    if (response.id === null || !pending) return;
    this.#settle(response.id, (p) => {
      if ("error" in response) {
        const { code, message, data } = response.error;
        p.reject(new RpcError(code, message, data));
      } else {
        p.resolve(response.result);
      }
    });
  }

  #onNotification(notification: RpcNotification): void {
    if (notification.method === "notifications/progress") {
      const params = notification.params ?? {};
      const token = params.progressToken;
      const pending =
        typeof token === "string" || typeof token === "number"
          ? this.#pending.get(token)
          : undefined;
      if (pending?.onProgress && typeof params.progress === "number") {
        pending.onProgress({
          progress: params.progress,
          total: typeof params.total === "number" ? params.total : undefined,
          message: typeof params.message === "string" ? params.message : undefined,
        });
      }
    }
    this.hooks.notification(notification);
  }

  async #answer(request: RpcRequest): Promise<void> {
    let answer: RpcResponse;
    try {
      const result = request.method === "ping" ? {} : await this.hooks.serverRequest(request);
      answer = { jsonrpc: "2.0", id: request.id, result };
    } catch (error) {
      const code = error instanceof RpcError ? error.code : INTERNAL_ERROR;
      const message = error instanceof Error ? error.message : String(error);
      answer = { jsonrpc: "2.0", id: request.id, error: { code, message } };
    }
    await this.#deliver(answer);
  }

  #settle(id: RequestId, apply: (pending: Pending) => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    apply(pending);
  }

  #entry(
    dir: Direction,
    kind: TrafficKind,
    message: unknown,
    extra: Partial<TrafficEntry>,
  ): TrafficEntry {
    this.#seq += 1;
    return {
      seq: this.#seq,
      time: Date.now(),
      dir,
      kind,
      bytes: JSON.stringify(message)?.length ?? 0,
      message,
      ...extra,
    };
  }
}

function detailOf(params: Record<string, unknown> | undefined): string | undefined {
  if (typeof params?.progress === "number") {
    return typeof params.total === "number"
      ? `${params.progress}/${params.total}`
      : String(params.progress);
  }
  const value = params?.name ?? params?.uri ?? params?.level ?? params?.requestId;
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
