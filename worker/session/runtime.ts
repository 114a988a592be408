/**
 * The session runtime inside one Durable Object: attaching sockets, feeding
 * frames to the dispatcher, and keeping the hot state (phase, version, log
 * level) consistent between SQLite (truth) and the socket attachment (cache).
 *
 * Invariants:
 * - At most one attached socket per session: a re-attach closes the older
 *   socket with CLOSE_SUPERSEDED before the new one is accepted.
 * - Every state change is written to SQLite before the reply that depends on
 *   it is sent; the runtime's output gate holds the reply until the write is
 *   durable.
 * - Nothing here sets a timer: between messages the object can hibernate.
 */
import { type DecodedFrame, decodeFrame } from "../../shared/codec";
import { errorEnvelope, type JsonRpcError } from "../../shared/errors";
import {
  CLOSE_SESSION_ENDED,
  CLOSE_SUPERSEDED,
  MCP_SUBPROTOCOL,
  SESSION_ID_HEADER,
} from "../../shared/limits";
import { ANONYMOUS } from "../auth/authenticate";
import type { RateLimit } from "../config/vars";
import type { Federation } from "../federation/federation";
import type { Channel, HotState, SessionContext } from "../mcp/context";
import { Dispatcher } from "../mcp/dispatcher";
import { InputBridge } from "../mcp/input-bridge";
import { logEvent } from "../observability/log";
import {
  ATTACHMENT_VERSION,
  type Attachment,
  decodeAttachment,
  encodeAttachment,
} from "../storage/attachment";
import type { SessionRecord, SessionStorage } from "../storage/session-storage";
import type { ToolRegistry } from "../tools/registry";
import { HttpExchange } from "../transports/streamable-http";
import {
  checkFrame,
  closeQuietly,
  offersMcpSubprotocol,
  sendMessage,
} from "../transports/websocket";
import { MessageRate } from "./rate-limit";
import { unknownSession } from "./session-ids";

/** Activity is written at most this often (and at most every TTL/10). */
const TOUCH_EVERY_MS = 60_000;
/** Rows deleted per purge step before yielding to the next alarm. */
const PURGE_ROWS_PER_STEP = 1_000;

/** Tag on every session socket, for `ctx.getWebSockets(tag)`. */
const SOCKET_TAG = "mcp";

export type AttachMode = "create" | "attach";
export type HttpOp = "create" | "post" | "probe" | "delete";

export interface RuntimeOptions {
  /** Upstream servers this session relays to (null without UPSTREAMS). */
  federation: Federation | null;
  requestStateSecret: string | undefined;
  keepaliveMs: number;
  rateLimit: RateLimit | null;
  idleTtlMs: number;
  requestDeadlineMs: number;
  replyStreamMaxMs: number;
  /** Frees the creator's slot in MAX_SESSIONS_PER_PRINCIPAL when the session ends. */
  releaseSlot: (principal: string, sessionId: string) => Promise<void>;
}

export class SessionRuntime implements SessionContext {
  readonly dispatcher: Dispatcher;
  #hot: HotState | null = null;
  /** Attach generation of the current socket (mirrors its attachment). */
  #gen = 0;
  /** When this object lifetime last recorded activity (0: not yet). */
  #lastTouch = 0;
  /** Message-rate bucket; restored from the attachment on wake. */
  readonly #rate: MessageRate;
  #current: WebSocket | null = null;

  readonly requestStateSecret: string | undefined;
  readonly federation: Federation | null;

  constructor(
    private readonly ctx: DurableObjectState,
    readonly storage: SessionStorage,
    readonly registry: ToolRegistry,
    readonly sessionId: string,
    private readonly options: RuntimeOptions,
  ) {
    this.requestStateSecret = options.requestStateSecret;
    this.#rate = new MessageRate(options.rateLimit);
    this.federation = options.federation;
    const dispatcher = new Dispatcher(this, options.requestDeadlineMs);
    dispatcher.bridge = new InputBridge(
      storage,
      () => this.requestStateSecret,
      this.#socketChannel,
      (request, channel) => dispatcher.run(request, channel),
    );
    this.dispatcher = dispatcher;
  }

  /** Accepts a WebSocket upgrade for a new session or an existing one. */
  acceptSocket(request: Request, mode: AttachMode, principal: string): Response {
    if (mode === "attach" && !this.#reachableBy(principal)) return unknownSession();
    const now = Date.now();
    if (mode === "create") this.storage.create(this.sessionId, now, principal);
    const record = this.storage.read();
    if (!record || record.phase === "ended") return unknownSession();
    const gen = this.storage.nextAttachGeneration(now);
    // Arm the idle TTL now: a client that never sends a message must still expire.
    this.#lastTouch = 0;
    this.touch();
    // Requests of a superseded connection have nobody to answer to, and the new
    // connection may reuse their ids: stop them before it starts.
    this.dispatcher.abortAll("superseded by a newer connection");
    for (const old of this.ctx.getWebSockets(SOCKET_TAG)) {
      closeQuietly(
        old,
        CLOSE_SUPERSEDED,
        "superseded: a newer connection re-attached to this session",
      );
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [SOCKET_TAG]);
    this.#hot = {
      phase: record.phase,
      protocolVersion: record.protocolVersion,
      logLevel: record.logLevel,
    };
    this.#current = server;
    this.#gen = gen;
    server.serializeAttachment(this.#attachment(gen));
    logEvent("info", mode === "create" ? "session_created" : "session_attached", {
      sessionId: this.sessionId,
      gen,
    });
    const headers = new Headers({ [SESSION_ID_HEADER]: this.sessionId });
    if (offersMcpSubprotocol(request.headers.get("Sec-WebSocket-Protocol"))) {
      headers.set("Sec-WebSocket-Protocol", MCP_SUBPROTOCOL);
    }
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /**
   * One Streamable HTTP exchange on this session (session era). The router has
   * already checked Host/Origin, headers and body size; `body` is the POST text.
   */
  async handleHttp(op: HttpOp, body: string, principal: string): Promise<Response> {
    const headers = new Headers({ [SESSION_ID_HEADER]: this.sessionId });
    if (op === "create") {
      this.storage.create(this.sessionId, Date.now(), principal);
      logEvent("info", "session_created", { sessionId: this.sessionId, transport: "http" });
    } else if (!this.#reachableBy(principal)) {
      return unknownSession();
    }
    this.touch();
    if (op === "probe") return new Response(null, { status: 204, headers });
    if (op === "delete") {
      await this.end("deleted by the client");
      return new Response(null, { status: 204, headers });
    }
    const frame = decodeFrame(body);
    if (frame.kind === "invalid") return Response.json(frame.reply, { status: 400, headers });
    const refusal = this.#admit(frame);
    if (refusal) {
      const retryAfterMs = (refusal.data as { retryAfterMs: number }).retryAfterMs;
      headers.set("Retry-After", String(Math.ceil(retryAfterMs / 1000)));
      const id = frame.kind === "request" ? frame.message.id : null;
      return Response.json(errorEnvelope(id, refusal), { status: 429, headers });
    }
    if (frame.kind !== "request") {
      // Answers to input requests may resume a long call on another stream: don't hold the 202.
      this.dispatcher.handle(frame, this.#socketChannel).catch((error) => {
        logEvent("error", "http_message_failed", { sessionId: this.sessionId, error });
      });
      return new Response(null, { status: 202, headers });
    }
    const exchange = new HttpExchange(frame.message.id, headers, {
      keepaliveMs: this.options.keepaliveMs,
      maxOpenMs: this.options.replyStreamMaxMs,
    });
    const key = JSON.stringify(frame.message.id);
    // A call still waiting for client input when its stream expires is forgotten.
    exchange.onExpired = () => this.dispatcher.bridge?.cancel(key);
    this.dispatcher
      .run(frame.message, exchange)
      .finally(() => {
        if (!this.dispatcher.bridge?.isWaiting(key)) exchange.abandon();
      })
      .catch(() => {});
    const response = await exchange.response;
    if (op === "create" && exchange.failed) {
      // A failed initialize mints nothing: no stored session, no session id handed out.
      await this.#releaseSlot();
      await this.storage.destroy();
      const cleaned = new Headers(response.headers);
      cleaned.delete(SESSION_ID_HEADER);
      return new Response(response.body, { status: response.status, headers: cleaned });
    }
    return response;
  }

  /**
   * Ends the session: aborts its work, closes its sockets, marks it ended (so
   * its id answers 404 from now on) and deletes its storage in bounded steps,
   * continuing from the alarm if the budget runs out.
   */
  async end(reason: string): Promise<void> {
    this.dispatcher.abortAll(reason);
    // Calls waiting for input hold reply streams (and their keepalive timers): end them too.
    this.dispatcher.bridge?.abandonAll();
    await this.#releaseSlot();
    // The upstream sessions this session opened end with it (DELETE, bounded, best effort).
    await this.federation?.terminateAll();
    this.#hot = { ...this.hot(), phase: "ended" };
    if (this.storage.exists()) this.storage.savePhase("ended");
    for (const ws of this.ctx.getWebSockets(SOCKET_TAG)) {
      closeQuietly(ws, CLOSE_SESSION_ENDED, reason);
    }
    this.#current = null;
    logEvent("info", "session_ended", { sessionId: this.sessionId, reason });
    await this.#purge();
  }

  /** Counts activity for the idle TTL: one write per TOUCH_EVERY_MS at most. */
  touch(): void {
    const now = Date.now();
    const every = Math.min(TOUCH_EVERY_MS, this.options.idleTtlMs / 10);
    if (now - this.#lastTouch < every) return;
    this.#lastTouch = now;
    this.storage.touch(now, now + this.options.idleTtlMs);
  }

  /** The alarm: expire an idle session, or continue deleting an ended one. */
  async onAlarm(): Promise<void> {
    const record = this.storage.read();
    if (!record) {
      await this.storage.destroy();
      return;
    }
    if (record.phase !== "ended") {
      const expiresAt = record.lastActiveAt + this.options.idleTtlMs;
      if (expiresAt > Date.now()) {
        this.storage.scheduleAlarm(expiresAt);
        return;
      }
      await this.end("session expired after idling");
      return;
    }
    await this.#purge();
  }

  async #releaseSlot(): Promise<void> {
    const principal = this.storage.read()?.principal;
    if (!principal || principal === ANONYMOUS) return;
    try {
      await this.options.releaseSlot(principal, this.sessionId);
    } catch (error) {
      logEvent("warn", "slot_release_failed", { sessionId: this.sessionId, error });
    }
  }

  async #purge(): Promise<void> {
    if (this.storage.purgeStep(PURGE_ROWS_PER_STEP)) {
      await this.storage.destroy();
    } else {
      this.storage.scheduleAlarm(Date.now());
    }
  }

  async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const checked = checkFrame(data);
    if (!checked.ok) {
      logEvent("warn", "frame_rejected", { sessionId: this.sessionId, code: checked.code });
      closeQuietly(ws, checked.code, checked.reason);
      return;
    }
    if (!this.#adopt(ws)) return;
    this.touch();
    const frame = decodeFrame(checked.text);
    const refusal = this.#admit(frame);
    // The bucket rides in the attachment so a woken object continues it (no timers).
    ws.serializeAttachment(this.#attachment(this.#gen));
    if (refusal) {
      if (frame.kind === "request")
        this.#socketChannel.send(errorEnvelope(frame.message.id, refusal));
      return;
    }
    await this.dispatcher.handle(frame, this.#socketChannel);
  }

  /** The message-rate check; responses to our own requests are never refused. */
  #admit(frame: DecodedFrame): JsonRpcError | null {
    return frame.kind === "response" ? null : this.#rate.admit(Date.now());
  }

  onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws === this.#current) {
      this.#current = null;
      // Nobody is left to receive replies: stop work started for this socket.
      if (this.ctx.getWebSockets(SOCKET_TAG).every((other) => other === ws)) {
        this.dispatcher.abortAll("client disconnected");
      }
    }
    closeQuietly(ws, code, reason);
  }

  // SessionContext -------------------------------------------------------------

  hot(): HotState {
    if (!this.#hot) this.#hot = this.#hotFromStorage();
    return this.#hot;
  }

  updateHot(change: Partial<HotState>): void {
    this.#hot = { ...this.hot(), ...change };
    this.#current?.serializeAttachment(this.#attachment(this.#gen));
  }

  record(): SessionRecord {
    const record = this.storage.read();
    if (!record) throw new Error("session record missing");
    return record;
  }

  /** Replies go to the session's current socket, which may be a newer one than the request's. */
  readonly #socketChannel: Channel = {
    send: (message) => {
      const ws = this.#current ?? this.#latestSocket();
      if (ws) sendMessage(ws, message);
    },
  };

  // ---------------------------------------------------------------------------

  /**
   * Makes `ws` the current socket and restores hot state from its attachment
   * (the wake path: no SQLite read). Falls back to storage for a missing or
   * corrupt attachment; closes the socket when the session no longer exists.
   */
  #adopt(ws: WebSocket): boolean {
    if (this.#current === ws && this.#hot) return true;
    const attachment = decodeAttachment(ws.deserializeAttachment(), this.sessionId);
    if (attachment) {
      this.#hot = {
        phase: attachment.phase,
        protocolVersion: attachment.pv,
        logLevel: attachment.ll,
      };
      this.#gen = attachment.gen;
      // A wake within TOUCH_EVERY_MS of the last recorded activity writes nothing.
      this.#lastTouch = Math.min(attachment.ta ?? 0, Date.now());
      this.#rate.restore(attachment.tb, Date.now());
    } else {
      if (!this.storage.exists()) {
        closeQuietly(ws, CLOSE_SESSION_ENDED, "session ended");
        return false;
      }
      logEvent("warn", "attachment_rebuilt", { sessionId: this.sessionId });
      this.#hot = this.#hotFromStorage();
      this.#gen = this.storage.read()?.attachGen ?? 0;
      ws.serializeAttachment(this.#attachment(this.#gen));
    }
    if (this.#hot.phase === "ended") {
      closeQuietly(ws, CLOSE_SESSION_ENDED, "session ended");
      return false;
    }
    this.#current = ws;
    return true;
  }

  /**
   * Whether `principal` may reach this session: it exists, has not ended, and
   * was created by them. Anything else looks exactly like an unknown session.
   */
  #reachableBy(principal: string): boolean {
    if (!this.storage.exists()) return false;
    const record = this.storage.read();
    return record !== null && record.phase !== "ended" && record.principal === principal;
  }

  #hotFromStorage(): HotState {
    const record = this.storage.read();
    if (!record) return { phase: "ended", protocolVersion: null, logLevel: "info" };
    return {
      phase: record.phase,
      protocolVersion: record.protocolVersion,
      logLevel: record.logLevel,
    };
  }

  #attachment(gen: number): Attachment {
    const hot = this.hot();
    return encodeAttachment({
      v: ATTACHMENT_VERSION,
      sid: this.sessionId,
      gen,
      phase: hot.phase,
      pv: hot.protocolVersion,
      ll: hot.logLevel,
      ...(this.#rate.saved ? { tb: this.#rate.saved } : {}),
      ...(this.#lastTouch > 0 ? { ta: this.#lastTouch } : {}),
    });
  }

  #latestSocket(): WebSocket | null {
    let best: WebSocket | null = null;
    let bestGen = -1;
    for (const ws of this.ctx.getWebSockets(SOCKET_TAG)) {
      const gen = decodeAttachment(ws.deserializeAttachment(), this.sessionId)?.gen ?? -1;
      if (gen > bestGen) {
        best = ws;
        bestGen = gen;
      }
    }
    return best;
  }
}
