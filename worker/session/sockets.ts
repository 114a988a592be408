/**
 * A session's WebSocket side: accepting an upgrade (create or re-attach),
 * feeding each frame to the dispatcher, and a socket's close.
 *
 * Invariants:
 * - At most one attached socket per session: a re-attach closes the older
 *   socket with CLOSE_SUPERSEDED before the new one is accepted, and stops the
 *   requests that arrived on the socket channel (the new connection may reuse
 *   their ids). Streamable HTTP requests of the same session are not touched.
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
import type { Dispatcher } from "../mcp/dispatcher";
import { logEvent } from "../observability/log";
import { checkFrame, closeQuietly, offersMcpSubprotocol } from "../transports/websocket";
import type { Expiry } from "./expiry";
import { admitFrame } from "./rate-limit";
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
}

export class Sockets {
  constructor(private readonly options: SocketsOptions) {}

  /** Accepts a WebSocket upgrade for a new session or an existing one. */
  accept(request: Request, mode: AttachMode, principal: string): Response {
    const { ctx, state, dispatcher, expiry, channel } = this.options;
    if (mode === "attach" && !state.reachableBy(principal)) return unknownSession();
    const now = Date.now();
    if (mode === "create") state.storage.create(state.sessionId, now, principal);
    const record = state.storage.read();
    if (!record || record.phase === "ended") return unknownSession();
    const gen = state.storage.nextAttachGeneration(now);
    // Arm the idle TTL now: a client that never sends a message must still expire.
    expiry.resetTouch();
    expiry.touch();
    // Requests of the superseded connection have nobody to answer to, and the new
    // connection may reuse their ids: stop them before it starts.
    dispatcher.abortOn(channel, "superseded by a newer connection");
    for (const old of ctx.getWebSockets(SOCKET_TAG)) {
      closeQuietly(
        old,
        CLOSE_SUPERSEDED,
        "superseded: a newer connection re-attached to this session",
      );
    }
    const pair = new WebSocketPair();
    const client = pair[0];
    const server = pair[1];
    ctx.acceptWebSocket(server, [SOCKET_TAG]);
    state.attach(server, gen, record);
    logEvent("info", mode === "create" ? "session_created" : "session_attached", {
      sessionId: state.sessionId,
      gen,
    });
    const headers = new Headers({ [SESSION_ID_HEADER]: state.sessionId });
    if (offersMcpSubprotocol(request.headers.get("Sec-WebSocket-Protocol"))) {
      headers.set("Sec-WebSocket-Protocol", MCP_SUBPROTOCOL);
    }
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  async onMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const { state, dispatcher, expiry, channel } = this.options;
    const checked = checkFrame(data);
    if (!checked.ok) {
      logEvent("warn", "frame_rejected", { sessionId: state.sessionId, code: checked.code });
      closeQuietly(ws, checked.code, checked.reason);
      return;
    }
    const adoption = state.adopt(ws);
    if (adoption === "gone") {
      closeQuietly(ws, CLOSE_SESSION_ENDED, "session ended");
      return;
    }
    if (adoption === "rebuilt")
      logEvent("warn", "attachment_rebuilt", { sessionId: state.sessionId });
    expiry.touch();
    const frame = decodeFrame(checked.text);
    const refusal = admitFrame(state.rate, frame);
    // The bucket rides in the attachment so a woken object continues it (no timers).
    state.saveAttachment();
    if (refusal) {
      if (frame.kind === "request") channel.send(errorEnvelope(frame.message.id, refusal));
      return;
    }
    await dispatcher.handle(frame, channel);
  }

  onClose(ws: WebSocket, code: number, reason: string): void {
    const { ctx, state, dispatcher, channel } = this.options;
    // Nobody is left to receive the socket's replies: stop the work started on it.
    if (state.detach(ws) && ctx.getWebSockets(SOCKET_TAG).every((other) => other === ws)) {
      dispatcher.abortOn(channel, "client disconnected");
    }
    closeQuietly(ws, code, reason);
  }
}
