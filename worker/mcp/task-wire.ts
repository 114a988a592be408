/**
 * Task results on the wire, per era: the CreateTaskResult a tools/call answers
 * with, and what `tasks/result` (session era) returns for a finished task:
 * exactly what the tools/call would have returned (2025-11-25 "Result
 * Retrieval"), tagged with the related-task `_meta`.
 */
import { INTERNAL_ERROR, JsonRpcError, REQUEST_CANCELLED } from "../../shared/errors";
import { isRecord } from "../../shared/protocol";
import {
  META_MODEL_IMMEDIATE_RESPONSE,
  META_RELATED_TASK,
  modernTask,
  sessionTask,
  type TaskView,
} from "../../shared/tasks";
import type { Era } from "./context";

/** What a tools/call that became a task answers (the dispatcher shapes modern results further). */
export function createTaskResult(view: TaskView, era: Era): Record<string, unknown> {
  if (era.kind === "modern") return { ...modernTask(view, false), resultType: "task" };
  return {
    task: sessionTask(view),
    _meta: {
      [META_MODEL_IMMEDIATE_RESPONSE]: `Started ${view.tool} as task ${view.taskId}; its result will follow.`,
    },
  };
}

/** A finished task's outcome as the original request's reply: its result, or a JSON-RPC error. */
export function finishedReply(view: TaskView): Record<string, unknown> | JsonRpcError {
  const related = { [META_RELATED_TASK]: { taskId: view.taskId } };
  if (view.status === "completed" && view.result) {
    const meta = isRecord(view.result._meta) ? view.result._meta : {};
    return { ...view.result, _meta: { ...meta, ...related } };
  }
  if (view.status === "failed" && view.error) {
    return new JsonRpcError(view.error.code, view.error.message, {
      ...(isRecord(view.error.data) ? view.error.data : {}),
      ...related,
    });
  }
  if (view.status === "cancelled") {
    return new JsonRpcError(
      REQUEST_CANCELLED,
      `The task was cancelled${view.statusMessage ? `: ${view.statusMessage}` : ""}`,
      related,
    );
  }
  return new JsonRpcError(INTERNAL_ERROR, "The task ended without a result", related);
}
