/**
 * The tool-source contract. A registry holds sources (in-process toolsets now,
 * upstream MCP servers later); each lists its tools and runs calls for them.
 *
 * Input schemas are Standard Schema values (valibot here), so a source validates
 * arguments without the registry knowing the schema library.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Implementation, LogLevel, ProgressToken } from "../../shared/protocol";
import type { TaskProgress, TaskSupport } from "../../shared/tasks";

export interface ContentBlock {
  type: string;
  [key: string]: unknown;
}

export interface ToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** One request for client input (2026-07-28 `InputRequest`). */
export interface InputRequest {
  method: "elicitation/create" | "sampling/createMessage" | "roots/list";
  params: Record<string, unknown>;
}

/**
 * A tool's (or prompt's) answer when it needs input from the client first
 * (multi-round-trip requests, SEP-2322). `state` is any JSON the tool wants back
 * on the retry; the gateway integrity-protects it as `requestState`.
 * 2026-07-28 clients receive it as an `input_required` result; session-era
 * clients get real server->client requests and the gateway retries for them.
 */
export class InputRequired {
  constructor(
    readonly inputRequests: Record<string, InputRequest>,
    readonly state?: unknown,
  ) {}
}

/** What a tool may see and do during one call. */
export interface ToolContext {
  sessionId: string;
  /** Aborted when the client cancels the call (`notifications/cancelled`). */
  signal: AbortSignal;
  progressToken: ProgressToken | undefined;
  /** Sends `notifications/progress` when the call carries a progress token. */
  progress(progress: number, total?: number, message?: string): void;
  /** Sends `notifications/message` when `level` passes the session's level. */
  log(level: LogLevel, data: unknown, logger?: string): boolean;
  /** Per-session, per-toolset durable key/value state. */
  state: ToolState;
  /** The client's declared capabilities (initialize, or the 2026 envelope). */
  clientCapabilities: Record<string, unknown>;
  /** Answers to an earlier InputRequired, keyed as requested; undefined on the first round. */
  inputResponses: Record<string, unknown> | undefined;
  /** The verified `state` of the previous round, if any. */
  requestState: unknown;
  /** A snapshot of the session for introspection tools. */
  session(): SessionSnapshot;
  /**
   * Ends this call's Streamable HTTP reply stream now while the call goes on
   * (SSE polling): the client reconnects with Last-Event-ID and gets the rest.
   * Does nothing over WebSocket or for a stateless request.
   */
  closeReplyStream(): void;
}

export interface ToolState {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

export interface SessionSnapshot {
  sessionId: string;
  era: "session" | "2026-07-28";
  protocolVersion: string | null;
  clientInfo: Implementation | null;
  logLevel: LogLevel;
  phase: string;
  wakes: number;
  createdAt: string;
  attachGeneration: number;
  subscriptions: string[];
}

export interface ToolDefinition<Input = unknown> {
  name: string;
  title?: string;
  description: string;
  input: StandardSchemaV1<unknown, Input>;
  /** JSON Schema advertised in tools/list, derived once from `input`. */
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  run(
    args: Input,
    ctx: ToolContext,
  ): Promise<ToolResult | InputRequired> | ToolResult | InputRequired;
  /** How the tool runs as a durable task; absent: it never does (taskSupport "forbidden"). */
  task?: TaskProgram<Input>;
}

/**
 * A tool written as durable steps, so that it can run as a task that outlives
 * its connection, its session and a restart of the runtime. The task object
 * (worker/tasks/) keeps the program's state in SQLite between steps and wakes
 * for each step with an alarm; nothing waits in memory. A step must be safe to
 * run again: if the process dies during a step, the alarm runs it again (at
 * most MAX_TASK_STEP_ATTEMPTS times), unless the program says `resumable: false`,
 * in which case the task fails saying it was interrupted.
 */
export interface TaskProgram<Input = unknown> {
  /** "required": the tool runs only as a task; "optional": as a task when the client can take one. */
  support: TaskSupport;
  /** Whether a step interrupted by a crash may simply run again (default true). */
  resumable?: boolean;
  /** The TTL the task needs at least (its work plus time to fetch the result). */
  ttlMs(args: Input): number;
  /** How often a client should poll (a hint; default 1 s). */
  pollIntervalMs?(args: Input): number;
  /**
   * Runs inside tools/call before the task exists: may ask the client for input
   * first (SEP-2663: multi-round-trip requests resolve before the task is
   * created), else returns the first step's state. Default: state null.
   */
  start?(
    args: Input,
    ctx: ToolContext,
  ): Promise<TaskStart | InputRequired> | TaskStart | InputRequired;
  /** One step. Quick (no long waits: ask for an alarm with `wait` instead). */
  step(args: Input, step: TaskStep): Promise<TaskStepOutcome> | TaskStepOutcome;
}

export interface TaskStart {
  state: unknown;
  message?: string;
}

export interface TaskStep {
  /** 0 for the first step. */
  index: number;
  /** What the previous step returned as `state` (or `start`'s). */
  state: unknown;
  /** The answers to the last `ask`, by key (empty otherwise). */
  answers: Record<string, unknown>;
  now: number;
  /** Aborted when the task is cancelled while the step runs. */
  signal: AbortSignal;
}

export type TaskStepOutcome =
  | { kind: "done"; result: ToolResult; message?: string }
  | { kind: "fail"; code: number; message: string; data?: unknown }
  | {
      kind: "wait";
      until: number;
      state: unknown;
      progress?: TaskProgress;
      message?: string;
    }
  | {
      kind: "ask";
      inputRequests: Record<string, InputRequest>;
      state: unknown;
      message?: string;
    };

export interface ResourceDefinition {
  uri: string;
  name: string;
  description: string;
  mimeType: string;
  read(ctx: ToolContext): { text: string } | { blob: string };
}

/** A family of resources addressed by an RFC 6570 level-1 template such as `test://template/{id}/data`. */
export interface ResourceTemplateDefinition {
  uriTemplate: string;
  name: string;
  description: string;
  mimeType: string;
  read(params: Record<string, string>, ctx: ToolContext): { text: string } | { blob: string };
}

export interface PromptDefinition {
  name: string;
  description: string;
  arguments: { name: string; description: string; required: boolean }[];
  /** Completion candidates per argument name. */
  complete?: Record<string, readonly string[]>;
  /** Messages with MCP content blocks; may ask for client input first (2026-07-28). */
  render(args: Record<string, string>, ctx: ToolContext): PromptMessage[] | InputRequired;
}

export interface PromptMessage {
  role: "user" | "assistant";
  content: ContentBlock;
}

/** A named group of tools, resources and prompts switched on through TOOLSETS. */
export interface Toolset {
  name: string;
  tools: ToolDefinition[];
  resources: ResourceDefinition[];
  resourceTemplates?: ResourceTemplateDefinition[];
  prompts: PromptDefinition[];
}
