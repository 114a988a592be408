/**
 * What federation needs from the call it relays, and nothing more: the MCP
 * layer builds one per relayed request (worker/mcp/relay-call.ts), so nothing
 * under federation/ imports the dispatcher or its context.
 */
import type { LogLevel, ProgressToken } from "../../shared/protocol";
import type { Trace } from "../observability/trace";

/** A reply to a server->client request (the client's answer, or an error standing in for it). */
export type ClientReply =
  | { result: Record<string, unknown> }
  | { error: { code: number; message: string } };

export interface RelayCall {
  /** The gateway session, for log lines only. */
  sessionId: string;
  /**
   * The call's trace: federation runs each relayed operation inside it (an
   * async context), so every log line and upstream request of the call carries it.
   */
  trace: Trace;
  /** Session era (live server->client requests) or 2026-07-28 (multi-round-trip replay). */
  era: "session" | "modern";
  /** Aborted when the caller gives up (cancellation, deadline, session end). */
  signal: AbortSignal;
  /** The caller's progress token, which relayed progress is re-sent under. */
  progressToken: ProgressToken | undefined;
  /** Sends a message to the client on the call's own channel (socket or SSE stream). */
  send(message: object): void;
  /** Logs to the client through its level filter; false when filtered out. */
  log(level: LogLevel, data: unknown, logger: string): boolean;
  /** The client capabilities declared (initialize, or the request's 2026 envelope). */
  clientCapabilities(): Record<string, unknown>;
  /**
   * Session era: asks the client (elicitation, sampling, roots) and waits for its
   * answer. The wait does not count against the request's deadline and is
   * bounded on its own; cancellation settles it with an error.
   */
  askClient(
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<ClientReply>;
  /** The request's deadline, paused while a person acts (a browser authorization) and resumed after. */
  deadline: { pause(): void; resume(): void };
  /** 2026-07-28: this retry's answers, and the verified state of the previous round. */
  inputResponses: Record<string, unknown> | undefined;
  requestState: unknown;
}
