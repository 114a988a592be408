/**
 * Runs one tools/call against the registry: argument validation through
 * Standard Schema, a ToolContext wired to the session, and error mapping.
 *
 * Errors: unknown tool and invalid arguments are -32602 (issue #2); a
 * `JsonRpcError` thrown by a tool passes through; anything else a tool throws
 * becomes an `isError` result with a generic message (details go to the log).
 * A call that becomes a durable task (task-calls.ts) answers CreateTaskResult.
 */
import { JsonRpcError, notificationEnvelope, toWireError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import type { LogLevel } from "../../shared/protocol";
import { logEvent } from "../observability/log";
import type { InputRequired, SessionSnapshot, ToolContext, ToolResult } from "../tools/types";
import { allowed } from "./access";
import { clientLog, logLevelOf } from "./client-log";
import type { CallContext } from "./context";
import { relayCall } from "./relay-call";
import { startTask, taskModeOf } from "./task-calls";

export async function callTool(
  name: string,
  args: Record<string, unknown>,
  call: CallContext,
  params: Record<string, unknown> = {},
): Promise<ToolResult | InputRequired | Record<string, unknown>> {
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
  const tool = owned.item;
  const validated = await tool.input["~standard"].validate(args);
  if (validated.issues) {
    throw toWireError({
      kind: "invalid_arguments",
      tool: name,
      issues: formatIssues(validated.issues),
    });
  }
  const program = taskModeOf(tool, name, params, call);
  if (program) {
    return startTask(tool, program, validated.value, params, call, () =>
      toolContext(owned.toolset, call),
    );
  }
  try {
    return await tool.run(validated.value, toolContext(owned.toolset, call));
  } catch (error) {
    if (error instanceof JsonRpcError || call.signal.aborted) throw error;
    logEvent("error", "tool_failed", { sessionId: call.session.sessionId, tool: name, error });
    return { content: [{ type: "text", text: `Tool ${name} failed` }], isError: true };
  }
}

export function toolContext(toolset: string, call: CallContext): ToolContext {
  const { session } = call;
  return {
    sessionId: session.sessionId,
    signal: call.signal,
    progressToken: call.progressToken,
    progress(progress, total, message) {
      if (call.progressToken === undefined || call.signal.aborted) return;
      call.channel.send(
        notificationEnvelope("notifications/progress", {
          progressToken: call.progressToken,
          progress,
          ...(total !== undefined ? { total } : {}),
          ...(message !== undefined ? { message } : {}),
        }),
      );
    },
    log: clientLog(call),
    state: {
      get: (key) => session.storage.getToolState(toolset, key),
      set: (key, value) => session.storage.setToolState(toolset, key, value),
    },
    session: () => snapshot(call, logLevelOf(call)),
    get clientCapabilities() {
      return call.clientCapabilities();
    },
    inputResponses: call.inputResponses,
    requestState: call.requestState,
    closeReplyStream: () => call.channel.closeReplyStream?.(),
  };
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
