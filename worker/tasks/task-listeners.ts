/**
 * Watching tasks from a `subscriptions/listen` stream (2026-07-28, SEP-2663
 * "Task Status Notifications"): the stream, held by a Worker, opens one
 * WebSocket to each watched task's object. The object checks the task id
 * (secret included) and the principal before it accepts, so a stream can only
 * ever receive its own principal's tasks; then it sends the current
 * DetailedTask and one more on every change. The object's side hibernates.
 */
import { env } from "cloudflare:workers";
import { parseTaskId } from "../../shared/tasks";
import { holdSocket } from "../transports/held-socket";
import { TASK_ID_HEADER, TASK_LISTEN_URL, TASK_PRINCIPAL_HEADER } from "./task-object";

export interface TaskWatch {
  close(): void;
}

/**
 * Watches `taskId` for `principal`; null when the task is unknown, another
 * principal's, or has too many listeners (all look the same to the caller).
 */
export async function watchTask(
  taskId: string,
  principal: string,
  onTask: (task: Record<string, unknown>) => void,
  onEnd: () => void,
): Promise<TaskWatch | null> {
  const parsed = parseTaskId(taskId);
  if (!parsed) return null;
  const tasks = (env as Env).TASKS;
  let id: DurableObjectId;
  try {
    id = tasks.idFromString(parsed.objectId);
  } catch {
    return null;
  }
  const response = await tasks.get(id).fetch(TASK_LISTEN_URL, {
    headers: { Upgrade: "websocket", [TASK_ID_HEADER]: taskId, [TASK_PRINCIPAL_HEADER]: principal },
  });
  return holdSocket(
    response,
    (text) => {
      try {
        const task: unknown = JSON.parse(text);
        if (typeof task === "object" && task !== null) onTask(task as Record<string, unknown>);
      } catch {
        // Not from our task object; ignored.
      }
    },
    onEnd,
  );
}
