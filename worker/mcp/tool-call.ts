/**
 * Runs one tools/call against the registry: argument validation through
 * Standard Schema, a ToolContext wired to the session, and error mapping.
 *
 * Errors: unknown tool and invalid arguments are -32602 (issue #2); a
 * `JsonRpcError` thrown by a tool passes through; anything else a tool throws
 * becomes an `isError` result with a generic message (details go to the log).
 * A call that becomes a durable task (task-calls.ts) answers CreateTaskResult.
 */
import { JsonRpcError, toWireError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import { logEvent } from "../observability/log";
import type { InputRequired, ToolResult } from "../tools/types";
import type { CallContext } from "./context";
import { relayCall } from "./relay-call";
import { startTask, taskModeOf } from "./task-calls";
import { toolContext } from "./tool-context";

export async function callTool(
  name: string,
  args: Record<string, unknown>,
  call: CallContext,
  params: Record<string, unknown> = {},
): Promise<ToolResult | InputRequired | Record<string, unknown>> {
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
  if (program) return startTask(owned, program, validated.value, params, call);
  try {
    return await tool.run(validated.value, toolContext(owned.toolset, call));
  } catch (error) {
    if (error instanceof JsonRpcError || call.signal.aborted) throw error;
    logEvent("error", "tool_failed", { sessionId: call.session.sessionId, tool: name, error });
    return { content: [{ type: "text", text: `Tool ${name} failed` }], isError: true };
  }
}
