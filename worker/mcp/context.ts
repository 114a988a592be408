/**
 * What a method handler sees: the session (hot state plus storage), the
 * registry, the request's era and a way to send messages to the client.
 */
import type {
  JsonRpcRequest,
  LogLevel,
  ModernEnvelope,
  ProgressToken,
} from "../../shared/protocol";
import type { Phase } from "../lifecycle";
import type { SessionRecord, SessionStorage } from "../storage";
import type { ToolRegistry } from "../tools/registry";

/** The session fields every message may need, mirrored in the socket attachment. */
export interface HotState {
  phase: Phase;
  protocolVersion: string | null;
  logLevel: LogLevel;
}

export interface SessionContext {
  sessionId: string;
  storage: SessionStorage;
  registry: ToolRegistry;
  hot(): HotState;
  /** Commits a hot-state change: SQLite first, then the attachment mirror. */
  updateHot(change: Partial<HotState>): void;
  record(): SessionRecord;
  send(message: object): void;
}

export type Era =
  | { kind: "session" }
  | { kind: "modern"; version: string; envelope: ModernEnvelope };

export interface CallContext {
  session: SessionContext;
  request: JsonRpcRequest;
  era: Era;
  signal: AbortSignal;
  progressToken: ProgressToken | undefined;
}
