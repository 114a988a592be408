/**
 * A session's Streamable HTTP side (session era): the operations the router
 * forwards to the object (create with initialize, post, probe for GET, delete).
 * The router has already checked Host/Origin, headers, body size and era.
 *
 * Each POSTed request runs on its own HttpExchange (JSON or SSE reply) and
 * always ends with a JSON-RPC response: its result, its error, or
 * SESSION_ENDED when a DELETE ends the session first. Socket events never
 * touch it.
 */
import { decodeFrame } from "../../shared/codec";
import { errorEnvelope } from "../../shared/errors";
import { SESSION_ID_HEADER } from "../../shared/limits";
import { type Dispatcher, settled } from "../mcp/dispatcher";
import { logEvent } from "../observability/log";
import { HttpExchange } from "../transports/streamable-http";
import type { Expiry } from "./expiry";
import { admitFrame } from "./rate-limit";
import type { ReplyStreams } from "./reply-streams";
import { unknownEvent, unknownSession } from "./session-ids";
import type { SocketChannel } from "./socket-channel";
import type { SessionState } from "./state";

export type HttpOp = "create" | "post" | "probe" | "delete";

export const HTTP_OPS: readonly HttpOp[] = ["create", "post", "probe", "delete"];

/** Where a resumed reply stream picks up: `<stream>.<n>` of an SSE event id. */
export interface ResumePoint {
  stream: string;
  after: number;
}

export interface HttpExchangesOptions {
  state: SessionState;
  dispatcher: Dispatcher;
  expiry: Expiry;
  /** Where answers to the server's requests may resume a call started on a socket. */
  socketChannel: SocketChannel;
  /** Resumable reply streams (event ids, the replay store, resumers). */
  replies: ReplyStreams;
  /** Interval of keepalive comments on an SSE reply. */
  keepaliveMs: number;
  /** Longest an SSE reply may stay open (REPLY_STREAM_MAX_MS). */
  replyStreamMaxMs: number;
}

export class HttpExchanges {
  constructor(private readonly options: HttpExchangesOptions) {}

  async handle(op: HttpOp, body: string, principal: string): Promise<Response> {
    const { state, expiry } = this.options;
    const headers = new Headers({ [SESSION_ID_HEADER]: state.sessionId });
    // The clock stands still while a turn runs (Workers): one reading for the request.
    const now = Date.now();
    if (op === "create") {
      state.storage.create(state.sessionId, now, principal);
      expiry.activeAt(now);
      logEvent("info", "session_created", { sessionId: state.sessionId, transport: "http" });
    } else if (!state.reachableBy(principal)) {
      return unknownSession();
    } else {
      expiry.touch(now);
    }
    if (op === "probe") return new Response(null, { status: 204, headers });
    if (op === "delete") {
      await expiry.end("deleted by the client");
      return new Response(null, { status: 204, headers });
    }
    return this.#post(op, body, headers, now);
  }

  /**
   * GET with Last-Event-ID: an internal socket for the Worker that carries the
   * stream's kept events after `point.after`, then its new ones. A stream this
   * session does not know is 400 (the session is alive: 404 would end it for
   * the client).
   */
  resume(point: ResumePoint, principal: string): Response {
    const { state, expiry, replies } = this.options;
    if (!state.reachableBy(principal)) return unknownSession();
    expiry.touch(Date.now());
    const holds = (callKey: string) => this.options.dispatcher.holds(callKey);
    return replies.resume(point.stream, point.after, holds) ?? unknownEvent();
  }

  async #post(
    op: "create" | "post",
    body: string,
    headers: Headers,
    now: number,
  ): Promise<Response> {
    const { state, dispatcher, expiry } = this.options;
    const frame = decodeFrame(body);
    if (frame.kind === "invalid") return Response.json(frame.reply, { status: 400, headers });
    const refusal = admitFrame(state.rate, frame, now);
    if (refusal) {
      const retryAfterMs = (refusal.data as { retryAfterMs: number }).retryAfterMs;
      headers.set("Retry-After", String(Math.ceil(retryAfterMs / 1000)));
      const id = frame.kind === "request" ? frame.message.id : null;
      return Response.json(errorEnvelope(id, refusal), { status: 429, headers });
    }
    if (frame.kind !== "request") {
      // Answers to input requests may resume a long call on another stream: don't hold the 202.
      settled(dispatcher.handle(frame, this.options.socketChannel)).catch((error) => {
        logEvent("error", "http_message_failed", { sessionId: state.sessionId, error });
      });
      return new Response(null, { status: 202, headers });
    }
    const request = frame.message;
    const exchange = new HttpExchange(request.id, headers, {
      keepaliveMs: this.options.keepaliveMs,
      maxOpenMs: this.options.replyStreamMaxMs,
      replies: this.options.replies,
      // A call still waiting for client input when its stream expires is forgotten.
      onExpired: () => dispatcher.forgetWaiting(request),
    });
    settled(dispatcher.run(request, exchange))
      .finally(() => {
        if (!dispatcher.isWaitingForInput(request)) exchange.abandon();
      })
      .catch(() => {});
    const response = await exchange.response;
    if (op === "create" && exchange.failed) {
      // A failed initialize mints nothing: no stored session, no session id handed out.
      await expiry.releaseSlot();
      await state.storage.destroy();
      state.forget();
      const cleaned = new Headers(response.headers);
      cleaned.delete(SESSION_ID_HEADER);
      return new Response(response.body, { status: response.status, headers: cleaned });
    }
    return response;
  }
}
