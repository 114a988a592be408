/**
 * Dormouse's client library: plain TypeScript for browsers and Node 20+,
 * importing only shared/ (and, in node.ts, the `ws` package).
 *
 * - `ResumableWebSocketTransport`: an MCP SDK transport (v1 `Transport`; the
 *   v2 client accepts it too) that survives dropped connections by
 *   re-attaching to its Dormouse session and replaying what it missed.
 * - `ReceivedCount`, `Outstanding`, `backoffDelayMs`: the pure parts, which
 *   the inspector and the load tool reuse.
 *
 * In Node 20 (no global WebSocket) or to send the token as a header, import
 * from `client/node.ts`, which adds `nodeSocket`.
 */
export { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from "./backoff";
export { DEFAULT_KEEPALIVE_INTERVAL_MS, Keepalive } from "./keepalive";
export { MAX_OUTSTANDING, Outstanding, type RequestId } from "./outstanding";
export { probeSession, probeUrl, type SessionVerdict } from "./probe";
export { type MessagesLost, type Observed, ReceivedCount, type Resumed } from "./received-count";
export {
  type JsonRpcMessage,
  type ResumableWebSocketOptions,
  ResumableWebSocketTransport,
  type TransportEvent,
} from "./resumable-websocket";
export {
  browserSocket,
  type SocketEnd,
  type SocketEvents,
  type SocketFactory,
  type SocketHandle,
} from "./socket";
