/**
 * tools/call as a task: whether a call becomes one, and creating it.
 *
 * - 2026-07-28 (SEP-2663): the server decides. A task-capable tool becomes a
 *   task whenever the request declares `io.modelcontextprotocol/tasks` in its
 *   client capabilities; a task-only tool called without it is -32021 naming
 *   the extension; anything else runs as an ordinary call. A legacy `task`
 *   param is tolerated and ignored.
 * - 2025-11-25: the client decides with `params.task` (its `ttl` honoured up to
 *   MAX_TASK_TTL_MS). `task` on a tool without task support, or no `task` on a
 *   task-only tool, is -32601 (spec: "Tool-Level Negotiation").
 *
 * A program's `start` runs here first and may ask for input with a
 * multi-round-trip request, so the task is only created on the final round
 * (SEP-2663: resolve MRTR exchanges before responding with CreateTaskResult).
 */
import * as v from "valibot";
import {
  INVALID_PARAMS,
  JsonRpcError,
  METHOD_NOT_FOUND,
  MISSING_CLIENT_CAPABILITY,
} from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import { DEFAULT_TASK_TTL_MS, MAX_TASK_TTL_MS } from "../../shared/limits";
import { declaresTasksExtension, TASKS_EXTENSION } from "../../shared/tasks";
import {
  InputRequired,
  type TaskProgram,
  type ToolContext,
  type ToolDefinition,
} from "../tools/types";
import type { CallContext } from "./context";
import { createTaskResult } from "./task-wire";

const LegacyTaskParamSchema = v.looseObject({
  ttl: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1)))),
});

const MIN_TASK_TTL_MS = 1_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;

/** The program to run the call as a task with, or null for an ordinary call; throws when neither may. */
export function taskModeOf(
  tool: ToolDefinition | null,
  name: string,
  params: Record<string, unknown>,
  call: CallContext,
): TaskProgram | null {
  const program = tool?.task ?? null;
  if (call.era.kind === "modern") {
    const declared = declaresTasksExtension(call.clientCapabilities());
    if (program?.support === "required" && !declared) {
      throw new JsonRpcError(
        MISSING_CLIENT_CAPABILITY,
        `Missing required client capability: the tool ${name} runs only as a task; declare the ${TASKS_EXTENSION} extension in _meta clientCapabilities`,
        { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      );
    }
    return declared ? program : null;
  }
  const requested = params.task !== undefined;
  if (requested && !program) {
    throw new JsonRpcError(
      METHOD_NOT_FOUND,
      `The tool ${name} does not support task execution (execution.taskSupport is "forbidden"); call it without params.task`,
    );
  }
  if (!requested && program?.support === "required") {
    throw new JsonRpcError(
      METHOD_NOT_FOUND,
      `The tool ${name} runs only as a task (execution.taskSupport is "required"); call it with params.task`,
    );
  }
  return requested ? program : null;
}

/** Runs the program's start (maybe asking for input first), then creates the task. */
export async function startTask(
  tool: ToolDefinition,
  program: TaskProgram,
  args: unknown,
  params: Record<string, unknown>,
  call: CallContext,
  toolContext: () => ToolContext,
): Promise<Record<string, unknown> | InputRequired> {
  const started = program.start ? await program.start(args, toolContext()) : { state: null };
  if (started instanceof InputRequired) return started;
  const view = await call.session.tasks().create({
    tool: tool.name,
    arguments: args as Record<string, unknown>,
    state: started.state,
    message: started.message ?? null,
    ttlMs: ttlFor(program, args, params, call),
    pollIntervalMs: Math.max(
      100,
      Math.round(program.pollIntervalMs?.(args) ?? DEFAULT_POLL_INTERVAL_MS),
    ),
    sessionId: call.era.kind === "session" ? call.session.sessionId : null,
    progressToken: call.era.kind === "session" ? (call.progressToken ?? null) : null,
  });
  return createTaskResult(view, call.era);
}

function ttlFor(
  program: TaskProgram,
  args: unknown,
  params: Record<string, unknown>,
  call: CallContext,
): number {
  let requested: number | null = null;
  if (call.era.kind === "session" && params.task !== undefined) {
    const parsed = v.safeParse(LegacyTaskParamSchema, params.task);
    if (!parsed.success) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params.task for tools/call: ${formatIssues(parsed.issues, "task")}`,
      );
    }
    requested = parsed.output.ttl ?? null;
  }
  const wanted = requested ?? program.ttlMs(args) ?? DEFAULT_TASK_TTL_MS;
  return Math.min(MAX_TASK_TTL_MS, Math.max(MIN_TASK_TTL_MS, Math.round(wanted)));
}
