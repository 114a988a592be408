/**
 * The client library for Node (20 and later): everything in index.ts plus
 * `nodeSocket` (the `ws` package: Authorization header, upgrade statuses) and
 * `nodeTransport`, a transport that uses it.
 */
import { nodeSocket } from "./node-socket";
import { type ResumableWebSocketOptions, ResumableWebSocketTransport } from "./resumable-websocket";

export * from "./index";
export { nodeSocket } from "./node-socket";

/** A resumable transport whose sockets are opened with `ws` (Node 20 has no global WebSocket). */
export function nodeTransport(options: ResumableWebSocketOptions): ResumableWebSocketTransport {
  return new ResumableWebSocketTransport({ socket: nodeSocket, ...options });
}
