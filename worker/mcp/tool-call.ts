/**
 * Runs one tools/call against the registry: argument validation through
 * Standard Schema, a ToolContext wired to the session, and error mapping.
 *
 * Errors: an unknown tool is -32602; arguments that fail the tool's schema are
 * an `isError` result naming the issues from 2025-11-25 on (SEP-1303), -32602
 * before it (issue #2); a `JsonRpcError` thrown by a tool passes through;
 * anything else a tool throws becomes an `isError` result with a generic
 * message (details go to the log).
 * A call that becomes a durable task (task-calls.ts) answers CreateTaskResult.
 */
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { JsonRpcError, notificationEnvelope, toWireError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import type { LogLevel, ProgressToken } from "../../shared/protocol";
import { logEvent } from "../observability/log";
import type { Owned } from "../tools/registry";
import type {
  InputRequired,
  SessionSnapshot,
  ToolContext,
  ToolDefinition,
  ToolResult,
  ToolState,
} from "../tools/types";
import { allowed } from "./access";
import { clientLog, logLevelOf } from "./client-log";
import type { CallContext } from "./context";
import { relayCall } from "./relay-call";
import { startTask, taskModeOf } from "./task-calls";

type ToolOutcome = ToolResult | InputRequired | Record<string, unknown>;

/** The first session-era revision with SEP-1303 (revisions are dates: they compare as strings). */
const SEP_1303_VERSION = "2025-11-25";

/**
 * A promise only when something waits: a tool that answers at once (most
 * built-in ones) is validated, run and answered without one, so its call
 * needs no deadline, promise or microtask turn (dispatcher.ts).
 */
export function callTool(
  name: string,
  args: Record<string, unknown>,
  call: CallContext,
  params: Record<string, unknown> = {},
): ToolOutcome | Promise<ToolOutcome> {
  // Hidden by ACCESS_POLICY: the very answer an unknown tool gets, before anything else runs.
  if (!allowed(call, "tools", name)) throw toWireError({ kind: "unknown_tool", name });
  const owned = call.session.registry.tools.get(name);
  if (!owned) {
    const federation = call.session.federation;
    const target = federation?.resolve(name, "tool");
    if (!target || !federation) throw toWireError({ kind: "unknown_tool", name });
    // Upstream calls never run as tasks here (a `task` param is refused in the session era).
    taskModeOf(null, name, params, call);
    // Arguments are validated by the upstream, which owns the schema.
    return federation.callTool(target, args, relayCall(call));
  }
  const validated = owned.item.input["~standard"].validate(args);
  return validated instanceof Promise
    ? validated.then((result) => runTool(owned, name, result, params, call))
    : runTool(owned, name, validated, params, call);
}

function runTool(
  owned: Owned<ToolDefinition>,
  name: string,
  validated: StandardSchemaV1.Result<unknown>,
  params: Record<string, unknown>,
  call: CallContext,
): ToolOutcome | Promise<ToolOutcome> {
  if (validated.issues) {
    const error = toWireError({
      kind: "invalid_arguments",
      tool: name,
      issues: formatIssues(validated.issues),
    });
    if (!invalidArgumentsAsResult(call, params)) throw error;
    return { content: [{ type: "text", text: error.message }], isError: true };
  }
  const tool = owned.item;
  const program = taskModeOf(tool, name, params, call);
  if (program) {
    return startTask(tool, program, validated.value, params, call, () =>
      toolContext(owned.toolset, call),
    );
  }
  let result: ReturnType<ToolDefinition["run"]>;
  try {
    result = tool.run(validated.value, toolContext(owned.toolset, call));
  } catch (error) {
    return toolFailed(error, name, call);
  }
  return result instanceof Promise
    ? result.catch((error) => toolFailed(error, name, call))
    : result;
}

/**
 * Whether arguments that fail the tool's schema are a tool execution error (an
 * `isError` result the model reads and can correct its call from: SEP-1303, from
 * 2025-11-25 on) rather than -32602, which earlier revisions ask for. A
 * 2025-11-25 call that asks to be a task keeps -32602: no task was created.
 */
function invalidArgumentsAsResult(call: CallContext, params: Record<string, unknown>): boolean {
  if (call.era.kind === "modern") return true;
  const version = call.session.hot().protocolVersion;
  return version !== null && version >= SEP_1303_VERSION && params.task === undefined;
}

/** What a tool's failure becomes: a JsonRpcError passes through, anything else an `isError` result. */
function toolFailed(error: unknown, name: string, call: CallContext): ToolResult {
  if (error instanceof JsonRpcError || call.signal.aborted) throw error;
  logEvent(
    "error",
    "tool_failed",
    { sessionId: call.session.sessionId, tool: name, error },
    call.trace,
  );
  return { content: [{ type: "text", text: `Tool ${name} failed` }], isError: true };
}

export function toolContext(toolset: string, call: CallContext): ToolContext {
  return new CallToolContext(toolset, call);
}

/**
 * What a tool sees of its call. A class rather than an object of closures:
 * one is made per call, and its parts (the signal, the state accessor) are
 * made only when the tool reaches for them.
 */
class CallToolContext implements ToolContext {
  #state: ToolState | null = null;

  constructor(
    private readonly toolset: string,
    private readonly call: CallContext,
  ) {}

  get sessionId(): string {
    return this.call.session.sessionId;
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  get progressToken(): ProgressToken | undefined {
    return this.call.progressToken;
  }

  get state(): ToolState {
    if (this.#state === null) {
      const { session } = this.call;
      const toolset = this.toolset;
      this.#state = {
        get: (key) => session.storage.getToolState(toolset, key),
        set: (key, value) => session.storage.setToolState(toolset, key, value),
      };
    }
    return this.#state;
  }

  get clientCapabilities(): Record<string, unknown> {
    return this.call.clientCapabilities();
  }

  get inputResponses(): Record<string, unknown> | undefined {
    return this.call.inputResponses;
  }

  get requestState(): unknown {
    return this.call.requestState;
  }

  progress(progress: number, total?: number, message?: string): void {
    const call = this.call;
    if (call.progressToken === undefined || call.signal.aborted) return;
    call.channel.send(
      notificationEnvelope("notifications/progress", {
        progressToken: call.progressToken,
        progress,
        ...(total !== undefined ? { total } : {}),
        ...(message !== undefined ? { message } : {}),
      }),
    );
  }

  log(level: LogLevel, data: unknown, logger?: string): boolean {
    return clientLog(this.call)(level, data, logger);
  }

  session(): SessionSnapshot {
    return snapshot(this.call, logLevelOf(this.call));
  }

  closeReplyStream(): void {
    this.call.channel.closeReplyStream?.();
  }
}

function snapshot(call: CallContext, logLevel: LogLevel): SessionSnapshot {
  const record = call.session.record();
  const modern = call.era.kind === "modern" ? call.era : null;
  return {
    sessionId: call.session.sessionId,
    era: modern ? "2026-07-28" : "session",
    protocolVersion: modern ? modern.version : record.protocolVersion,
    clientInfo: modern
      ? (modern.envelope["io.modelcontextprotocol/clientInfo"] ?? null)
      : record.clientInfo,
    logLevel,
    phase: record.phase,
    wakes: record.wakes,
    createdAt: new Date(record.createdAt).toISOString(),
    attachGeneration: record.attachGen,
    subscriptions: call.session.storage.listSubscriptions(),
  };
}
