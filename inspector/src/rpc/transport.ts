/**
 * The one small interface both wire formats implement. A transport moves
 * JSON-RPC messages and reports how it ended; the client above it owns ids,
 * timing and correlation.
 */
import type { RequestId, RpcMessage } from "./messages";

export type TransportKind = "websocket" | "http";

export interface TransportEnd {
  /** WebSocket close code, or an HTTP status for the HTTP transport (404: session gone). */
  code: number;
  reason: string;
  /** True when this page asked for the close (Disconnect), false for a drop. */
  byUser: boolean;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Delivers every message the server sends, in order of arrival. */
  onMessage: (message: unknown) => void;
  /** Called once when the transport can carry no more messages. */
  onEnd: (end: TransportEnd) => void;
  send(message: RpcMessage): Promise<void>;
  /** Stops waiting for the reply to `id` (after a cancellation); optional. */
  abandon?(id: RequestId): void;
  close(): void;
}
