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
  /** Closes (WebSocket) or ends (HTTP DELETE) the session; bounded, never throws. */
  close(): Promise<void>;
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
