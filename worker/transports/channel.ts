/**
 * Where the messages of one exchange go: the reply to a request and anything
 * related to it (progress, logs, server->client requests). A WebSocket channel
 * writes to the session's current socket; an HTTP channel writes to the POST's
 * own response (JSON or SSE).
 */
export interface Channel {
  send(message: object): void;
  /** Ends the exchange without a reply (a cancelled call); a socket channel ignores it. */
  abandon?(): void;
  /** A resumable HTTP reply's stream id, once it has one (kept with a call waiting for input). */
  readonly streamId?: string | undefined;
  /**
   * Ends the live HTTP reply stream while the call goes on (SSE polling); the
   * client resumes it with Last-Event-ID. Socket channels have nothing to end.
   */
  closeReplyStream?(): void;
  /** The reply will come much later: start streaming now (keepalives), so the caller is not left without headers. */
  hold?(): void;
}
