/**
 * One client session as the load generator sees it, whatever the transport:
 * open (connect + initialize), call a tool, close. Implementations turn every
 * failure into a LoadError with a stable kind and never wait unboundedly.
 * `create-session.ts` picks the implementation for a target.
 */
import { LoadError } from "./errors";

export interface ToolReply {
  /** Text of the first content block (MCP), or the echoed `arguments.text` (echo). */
  text: string | undefined;
}

export interface LoadSession {
  /** The server's session id, when it told us one. */
  readonly sessionId: string | null;
  readonly isOpen: boolean;
  open(): Promise<void>;
  call(tool: string, args: Record<string, unknown>): Promise<ToolReply>;
  /**
   * How many times this session's object has been constructed (a rise across
   * an idle period proves it was evicted), or null when the server cannot say.
   * Dormouse answers `session_info`'s `wakes`; the floors in bench/ answer the
   * message WAKES_QUERY with `wakes <n>` (FLOOR_WAKES_REPLY).
   */
  wakes(): Promise<number | null>;
  /** Closes (WebSocket) or ends (HTTP DELETE) the session; bounded, never throws. */
  close(): Promise<void>;
}

/** The text frame (WebSocket) or POST body (HTTP) that asks a floor server for its wake count. */
export const WAKES_QUERY = "wakes";
/** A floor's answer to WAKES_QUERY; a server that echoes the query back matches nothing. */
export const FLOOR_WAKES_REPLY = /^wakes (\d+)$/;

/** The wake count in a `session_info` reply, or null when it has none. */
export function wakesOfSessionInfo(reply: ToolReply): number | null {
  try {
    const wakes = (JSON.parse(reply.text ?? "{}") as { wakes?: unknown }).wakes;
    return typeof wakes === "number" ? wakes : null;
  } catch {
    return null;
  }
}

/** True for the errors of a server that has no `session_info` tool: no count, not a failure. */
export function isNoSuchTool(error: unknown): boolean {
  return (
    error instanceof LoadError &&
    (error.kind === "rpc_-32602" || error.kind === "rpc_-32601" || error.kind === "tool_error")
  );
}

/** Dormouse's wake count through its `session_info` tool; null from a server without it. */
export async function sessionInfoWakes(session: LoadSession): Promise<number | null> {
  try {
    return wakesOfSessionInfo(await session.call("session_info", {}));
  } catch (error) {
    if (isNoSuchTool(error)) return null;
    throw error;
  }
}

/** The wake count in a floor's reply to WAKES_QUERY, or null. */
export function wakesOfFloorReply(text: string): number | null {
  const match = FLOOR_WAKES_REPLY.exec(text);
  return match ? Number(match[1]) : null;
}

/** Called when a session dies without being asked to (a socket the server closed). */
export type OnLost = (error: LoadError) => void;

/** The reply of a tools/call: an error envelope or an `isError` result becomes a LoadError. */
export function toolReplyOf(message: Record<string, unknown>): ToolReply {
  const error = message.error as { code?: number; message?: string } | undefined;
  if (error) throw new LoadError(`rpc_${error.code ?? "unknown"}`, error.message ?? "error reply");
  const result = message.result as
    | { isError?: boolean; content?: { type?: string; text?: string }[] }
    | undefined;
  if (!result) throw new LoadError("bad_reply", "a response with neither result nor error");
  const text = result.content?.[0]?.text;
  if (result.isError) throw new LoadError("tool_error", text ?? "isError result");
  return { text };
}
