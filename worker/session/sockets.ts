/**
 * A session's WebSocket side: accepting an upgrade (create or re-attach),
 * feeding each frame to the dispatcher, and a socket's close.
 *
 * Invariants:
 * - At most one attached socket per session: a re-attach closes the older
 *   socket with CLOSE_SUPERSEDED before the new one is accepted.
 * - A socket's end stops nothing: requests in flight keep running and what they
 *   send is numbered and kept (replay.ts), for this socket or the next.
 * - A re-attach gets, before anything new, what it missed: everything after the
 *   `received`-th message, or without `received` what was produced while no
 *   socket was attached; then a notice listing the requests still running.
 * - A socket the session closed (superseded, ended, a rule broken) takes no
 *   more frames: what its client sent before reading the close is dropped.
 * - Nothing here sets a timer: between messages the object can hibernate.
 */
import { decodeFrame } from "../../shared/codec";
import { errorEnvelope } from "../../shared/errors";
import {
  CLOSE_SESSION_ENDED,
  CLOSE_SUPERSEDED,
  MCP_SUBPROTOCOL,
  SESSION_ID_HEADER,
} from "../../shared/limits";
import { ANONYMOUS } from "../auth/anonymous";
import type { Dispatcher } from "../mcp/dispatcher";
import { logEvent } from "../observability/log";
import { checkFrame, closeQuietly, offersMcpSubprotocol, sendText } from "../transports/websocket";
import type { Expiry } from "./expiry";
import { admitFrame } from "./rate-limit";
import type { SocketReplay } from "./replay";
import { unknownSession } from "./session-ids";
import type { SocketChannel } from "./socket-channel";
import type { SessionState } from "./state";

/** Tag on every session socket, for `ctx.getWebSockets(tag)`. */
export const SOCKET_TAG = "mcp";

export type AttachMode = "create" | "attach";

export interface SocketsOptions {
  ctx: DurableObjectState;
  state: SessionState;
  dispatcher: Dispatcher;
  expiry: Expiry;
  channel: SocketChannel;
  replay: SocketReplay;
  /** Answers `tasks/result` waiters whose task ended without the session hearing of it. */
  recheckTaskWaiters(): Promise<void>;
}

export class Sockets {
  constructor(private readonly options: SocketsOptions) {}

  /**
   * Accepts a WebSocket upgrade for a new session or an existing one;
   * `received` (attach only) is how many numbered messages the client has.
   */
  accept(request: Request, mode: AttachMode, principal: string, received: number | null): Response {
    const { ctx, state, dispatcher, expiry, replay } = this.options;
    if (mode === "attach" && !state.reachableBy(principal)) return unknownSession();
    // Refused before anything changes: the older socket stays attached.
    const refusal = mode === "attach" ? replay.refusal(received) : null;
    if (refusal) return new Response(`Bad Request: ${refusal}\n`, { status: 400 });
    const now = Date.now();
    // An attach is one read and one update. A creation's row (attach generation 1,
    // activity now) is written with initialize's handshake, one commit for both
    // (SessionStorage.createSoon), unless the session holds a principal's slot:
    // that row is written before the 101, so that its expiry, which frees the
    // slot, cannot be lost to a crash before initialize.
    const record =
      mode === "attach"
        ? state.storage.read()
        : principal === ANONYMOUS
          ? state.storage.createSoon(state.sessionId, now, principal, 1)
          : state.storage.create(state.sessionId, now, principal, 1);
    if (!record || record.phase === "ended") return unknownSession();
    const gen = mode === "create" ? record.attachGen : state.storage.nextAttachGeneration(now);
    // Arm the idle TTL now: a client that never sends a message must still expire.
    expiry.activeAt(now);
    for (const old of ctx.getWebSockets(SOCKET_TAG)) {
      state.retire(
        old,
        CLOSE_SUPERSEDED,
        "superseded: a newer connection re-attached to this session",
      );
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    ctx.acceptWebSocket(server, [SOCKET_TAG]);
    // A new session has no waiting call; an attach asks storage once (it reads it anyway).
    const taskWaiters = mode === "create" ? 0 : state.storage.taskWaiters.countWaiters();
    const noWaiting =
      mode === "create" || (state.storage.pending.countPendingCalls() === 0 && taskWaiters === 0);
    state.attach(server, gen, record, noWaiting);
    if (mode === "attach") {
      // Queued on the new socket before the 101 goes out: the client reads them first.
      for (const frame of replay.frames(received, dispatcher.inFlightIds()))
        sendText(server, frame);
    }
    if (taskWaiters > 0) {
      // Answers (after the replay) what a lost notice from a task left waiting.
      ctx.waitUntil(
        this.options.recheckTaskWaiters().catch((error: unknown) => {
          logEvent("warn", "task_waiters_recheck_failed", { sessionId: state.sessionId, error });
        }),
      );
    }
    logEvent("info", mode === "create" ? "session_created" : "session_attached", {
      sessionId: state.sessionId,
      gen,
      ...(received !== null ? { received } : {}),
    });
    const headers = new Headers({ [SESSION_ID_HEADER]: state.sessionId });
    if (offersMcpSubprotocol(request.headers.get("Sec-WebSocket-Protocol"))) {
      headers.set("Sec-WebSocket-Protocol", MCP_SUBPROTOCOL);
    }
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** A promise only while the frame's work goes on (Dispatcher.handle). */
  onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> | undefined {
    const { state, dispatcher, expiry, channel } = this.options;
    const checked = checkFrame(data);
    if (!checked.ok) {
      logEvent("warn", "frame_rejected", { sessionId: state.sessionId, code: checked.code });
      state.retire(ws, checked.code, checked.reason);
      return undefined;
    }
    const adoption = state.adopt(ws);
    // Sent before its client read the session's close: dropped (state.retire).
    if (adoption === "retired") return undefined;
    if (adoption === "gone") {
      closeQuietly(ws, CLOSE_SESSION_ENDED, "session ended");
      return undefined;
    }
    if (adoption === "rebuilt")
      logEvent("warn", "attachment_rebuilt", { sessionId: state.sessionId });
    // The clock stands still while a turn runs (Workers), so one reading serves them all.
    const now = Date.now();
    const touched = expiry.touch(now);
    const frame = decodeFrame(checked.text);
    const refusal = admitFrame(state.rate, frame, now);
    // The attachment is written only when it must change: activity was recorded
    // (once a minute), or the bucket would not refill before an eviction could
    // forget it (rate-limit.ts). A warm message otherwise writes nothing.
    if (touched || state.rate.mustKeep(now)) state.saveAttachment();
    if (refusal) {
      if (frame.kind === "request") channel.send(errorEnvelope(frame.message.id, refusal));
      return undefined;
    }
    return dispatcher.handle(frame, channel, state.generation);
  }

  /**
   * A socket ended: its requests keep running, their replies kept for the next
   * socket; what it was sent is written to the replay store now, since its
   * client may not have read it and the object may sleep before it comes back.
   */
  onClose(ws: WebSocket, code: number, reason: string): void {
    this.options.state.detach(ws);
    this.options.replay.flush();
    closeQuietly(ws, code, reason);
  }
}
