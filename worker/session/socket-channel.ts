/**
 * The session's WebSocket as a reply channel: messages go to the session's
 * current socket, which may be newer than the one a request arrived on (a
 * client that re-attached gets the answers of its earlier calls), or after a
 * wake to the newest socket attached. With no socket attached, a message is
 * dropped.
 *
 * Every message spends the socket's outbound budget first (OUTBOUND_* in
 * shared/limits.ts): a client that stops reading cannot make the runtime hold
 * an unbounded backlog; past the budget its socket is closed with 4009 and the
 * session waits for it to re-attach.
 */
import { CLOSE_OUTBOUND_LIMIT } from "../../shared/limits";
import { logEvent } from "../observability/log";
import type { Channel } from "../transports/channel";
import { closeQuietly, sendText } from "../transports/websocket";
import type { SessionState } from "./state";

export class SocketChannel implements Channel {
  constructor(private readonly state: SessionState) {}

  send(message: object): void {
    const ws = this.state.currentSocket();
    if (!ws) return;
    const text = JSON.stringify(message);
    if (!this.state.outbound.spend(text.length, Date.now())) {
      const limit = this.state.outbound.limit;
      logEvent("warn", "outbound_limit", { sessionId: this.state.sessionId, chars: text.length });
      closeQuietly(
        ws,
        CLOSE_OUTBOUND_LIMIT,
        `outbound limit: over ${mib(limit?.burst)} MiB sent faster than ${mib(limit?.perSecond)} MiB/s; read replies faster`,
      );
      return;
    }
    sendText(ws, text);
  }
}

function mib(chars: number | undefined): number {
  return Math.round((chars ?? 0) / (1024 * 1024));
}
