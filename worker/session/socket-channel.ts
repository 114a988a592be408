/**
 * The session's WebSocket as a reply channel: messages go to the session's
 * current socket, which may be newer than the one a request arrived on (a
 * client that re-attached gets the answers of its earlier calls), or after a
 * wake to the newest socket attached. With no socket attached, a message is
 * dropped.
 *
 * Every message is numbered and kept in the replay store first (replay.ts),
 * sent or not, so a client that re-attaches gets what it missed. Every message
 * also spends the socket's outbound budget (OUTBOUND_* in shared/limits.ts): a
 * client that stops reading cannot make the runtime hold an unbounded backlog;
 * past the budget its socket is closed with 4009 and the session waits for it
 * to re-attach (and replay what it did not get).
 */
import { CLOSE_OUTBOUND_LIMIT } from "../../shared/limits";
import { logEvent } from "../observability/log";
import type { Channel } from "../transports/channel";
import { sendText } from "../transports/websocket";
import type { SocketReplay } from "./replay";
import type { SessionState } from "./state";

export class SocketChannel implements Channel {
  constructor(
    private readonly state: SessionState,
    private readonly replay: SocketReplay,
  ) {}

  send(message: object): void {
    const ws = this.state.currentSocket();
    // A request still finishing after its session ended: nobody to tell, nowhere to keep it.
    if (ws === null && this.state.ended()) return;
    const text = JSON.stringify(message);
    const now = Date.now();
    const sendable = ws !== null && this.state.outbound.spend(text.length, now);
    this.replay.record(text, sendable);
    if (!ws) return;
    // A budget spent faster than it refills before an eviction is remembered.
    if (this.state.outbound.mustKeep(now)) this.state.saveAttachment();
    if (!sendable) {
      const limit = this.state.outbound.limit;
      logEvent("warn", "outbound_limit", { sessionId: this.state.sessionId, chars: text.length });
      this.state.retire(
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
