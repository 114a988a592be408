/**
 * The `tasks/*` methods of both eras, over the same TaskService:
 *
 *   method        2026-07-28 (SEP-2663)                 2025-11-25
 *   tasks/get     DetailedTask (result/error inlined)   Task
 *   tasks/update  ack; answers input_required          -32601
 *   tasks/cancel  ack (also on a finished task)         the cancelled Task; -32602 when finished
 *   tasks/result  -32601 (removed)                      blocks until the task ends, then its reply
 *   tasks/list    -32601 (removed)                      the principal's tasks, 50 a page
 *
 * 2026-07-28 requests that do not declare the extension get -32021 (SEP-2663
 * "Protocol Errors"). An unknown task, another principal's and an expired one
 * all answer the same -32602 (task-service.ts).
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError, MISSING_CLIENT_CAPABILITY } from "../../shared/errors";
import { JsonObjectSchema } from "../../shared/protocol";
import {
  declaresTasksExtension,
  isTerminal,
  META_TASK_IGNORED,
  modernTask,
  sessionTask,
  TASKS_EXTENSION,
  type TaskView,
} from "../../shared/tasks";
import type { CallContext } from "./context";
import { parseParams } from "./params";
import { finishedReply } from "./task-wire";

type Handler = (params: Record<string, unknown>, call: CallContext) => Promise<object> | object;

/** A session-era `tasks/result` for a task still running: the dispatcher parks it (task-bridge.ts). */
export class AwaitTask {
  constructor(readonly view: TaskView) {}
}

const CANCEL_REASON = "Cancelled by the client (tasks/cancel)";

const TaskIdSchema = v.looseObject({ taskId: v.pipe(v.string(), v.maxLength(256)) });
const UpdateSchema = v.looseObject({
  taskId: v.pipe(v.string(), v.maxLength(256)),
  inputResponses: JsonObjectSchema,
});
const ListSchema = v.looseObject({ cursor: v.optional(v.pipe(v.string(), v.maxLength(512))) });

function requireExtension(call: CallContext, method: string): void {
  if (call.era.kind !== "modern" || declaresTasksExtension(call.clientCapabilities())) return;
  throw new JsonRpcError(
    MISSING_CLIENT_CAPABILITY,
    `Missing required client capability: ${method} needs the ${TASKS_EXTENSION} extension declared in _meta clientCapabilities`,
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
}

const get: Handler = async (params, call) => {
  requireExtension(call, "tasks/get");
  const { taskId } = parseParams(TaskIdSchema, params, "tasks/get");
  const view = await call.session.tasks().get(taskId);
  return call.era.kind === "modern" ? modernTask(view, true) : sessionTask(view);
};

const update: Handler = async (params, call) => {
  requireExtension(call, "tasks/update");
  const { taskId, inputResponses } = parseParams(UpdateSchema, params, "tasks/update");
  const { ignored } = await call.session.tasks().update(taskId, inputResponses);
  return ignored.length > 0 ? { _meta: { [META_TASK_IGNORED]: ignored } } : {};
};

const cancel: Handler = async (params, call) => {
  requireExtension(call, "tasks/cancel");
  const { taskId } = parseParams(TaskIdSchema, params, "tasks/cancel");
  const outcome = await call.session.tasks().cancel(taskId, CANCEL_REASON);
  if (outcome.cancelled) return call.era.kind === "modern" ? {} : sessionTask(outcome.view);
  if (call.era.kind === "session") {
    // 2025-11-25 "Task Cancellation": a terminal task MUST be refused with -32602.
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Cannot cancel task: already in terminal status '${sessionTask(outcome.view).status}'`,
    );
  }
  // SEP-2663: the same empty ack as for a running task (idempotent); nothing changed.
  const note = `the task is already ${outcome.status}; nothing was changed`;
  return { _meta: { [META_TASK_IGNORED]: [{ key: "tasks/cancel", reason: note }] } };
};

const result: Handler = async (params, call) => {
  const { taskId } = parseParams(TaskIdSchema, params, "tasks/result");
  const view = await call.session.tasks().get(taskId);
  if (!isTerminal(view.status)) return new AwaitTask(view);
  const reply = finishedReply(view);
  if (reply instanceof JsonRpcError) throw reply;
  return reply;
};

const list: Handler = async (params, call) => {
  const { cursor } = parseParams(ListSchema, params, "tasks/list");
  const page = await call.session.tasks().list(cursor ?? null);
  return {
    tasks: page.tasks.map(sessionTask),
    ...(page.nextCursor !== null ? { nextCursor: page.nextCursor } : {}),
  };
};

export const TASK_HANDLERS: Record<string, Handler> = {
  "tasks/get": get,
  "tasks/update": update,
  "tasks/cancel": cancel,
  "tasks/result": result,
  "tasks/list": list,
};

/** 2025-11-25 methods SEP-2663 removed from the 2026-07-28 wire (-32601 there). */
export const TASK_METHODS_REMOVED_IN_MODERN = ["tasks/result", "tasks/list"];
/** SEP-2663 methods that do not exist in the session era (-32601 there). */
export const TASK_METHODS_MODERN_ONLY = ["tasks/update"];
