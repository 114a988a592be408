/**
 * What a method handler sees: the session (hot state plus storage), the
 * registry, the request's era and a way to send messages to the client.
 */

import type { Phase } from "../../shared/lifecycle";
import type {
  JsonRpcRequest,
  LogLevel,
  ModernEnvelope,
  ProgressToken,
} from "../../shared/protocol";
import type { AccessPolicy } from "../config/access-policy";
import type { Federation } from "../federation/federation";
import type { RelayCall } from "../federation/relay-call";
import type { Trace } from "../observability/trace";
import type { SessionRecord, SessionStore } from "../storage/session-storage";
import type { TaskService } from "../tasks/task-service";
import type { ToolRegistry } from "../tools/registry";
import type { Channel } from "../transports/channel";

/** The session fields every message may need, mirrored in the socket attachment. */
export interface HotState {
  phase: Phase;
  protocolVersion: string | null;
  logLevel: LogLevel;
}

export interface SessionContext {
  sessionId: string;
  /**
   * False when the session is known to have no call waiting (for client
   * input, or for its task): a new request's id then needs no lookup.
   * Absent: always look.
   */
  mayHaveWaitingCalls?(): boolean;
  /** A call is about to wait: from now on, new requests' ids are looked up. */
  markWaitingCalls?(): void;
  /** Key material for requestState (REQUEST_STATE_SECRET); undefined means a per-isolate key. */
  requestStateSecret: string | undefined;
  storage: SessionStore;
  registry: ToolRegistry;
  /** The configured upstream servers as this session sees them; null without UPSTREAMS. */
  federation: Federation | null;
  /** ACCESS_POLICY; null when unset (everything allowed). */
  policy: AccessPolicy | null;
  /** Who this session (or stateless request) belongs to: the policy's and the tokens' subject. */
  principal(): string;
  /** Durable tasks, bound to the principal this session (or stateless request) serves. */
  tasks(): TaskService;
  hot(): HotState;
  /** Commits a hot-state change: SQLite first, then the attachment mirror. */
  updateHot(change: Partial<HotState>): void;
  record(): SessionRecord;
}

export type Era =
  | { kind: "session" }
  | { kind: "modern"; version: string; envelope: ModernEnvelope };

export interface CallContext {
  session: SessionContext;
  request: JsonRpcRequest;
  era: Era;
  channel: Channel;
  signal: AbortSignal;
  /**
   * The call's W3C trace (observability/trace.ts). Explicit, not an async
   * context: entering one per call was about a quarter of Dormouse's own CPU
   * per warm message. Log lines of the call take it from here; federation
   * enters it as the async context of what it relays (RelayCall.trace).
   */
  trace: Trace;
  /** The client's declared capabilities: from initialize, or from the 2026 envelope. */
  clientCapabilities(): Record<string, unknown>;
  /** Asks the client live for a relayed upstream (federation's RelayCall.askClient). */
  askClient: RelayCall["askClient"];
  /** The request's deadline; paused only while the request waits for the client's own answer. */
  deadline: { pause(): void; resume(): void };
  progressToken: ProgressToken | undefined;
  /** Multi-round-trip answers from the client (SEP-2322), validated as an object of objects. */
  inputResponses: Record<string, unknown> | undefined;
  /** The verified state of the previous round (from `requestState`). */
  requestState: unknown;
}

export type { Channel };
