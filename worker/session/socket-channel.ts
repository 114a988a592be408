/**
 * The session's WebSocket as a reply channel: messages go to the session's
 * current socket, which may be newer than the one a request arrived on (a
 * client that re-attached gets the answers of its earlier calls), or after a
 * wake to the newest socket attached. With no socket attached, a message is
 * dropped.
 */
import type { Channel } from "../transports/channel";
import { sendMessage } from "../transports/websocket";
import type { SessionState } from "./state";

export class SocketChannel implements Channel {
  constructor(private readonly state: SessionState) {}

  send(message: object): void {
    const ws = this.state.currentSocket();
    if (ws) sendMessage(ws, message);
  }
}
