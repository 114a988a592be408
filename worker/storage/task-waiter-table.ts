/**
 * A session's links to its tasks (session era), created lazily (schema.ts):
 *   task_waiter  a `tasks/result` over WebSocket waiting for its task to end:
 *                the request id, answered when the task reports its end, even
 *                after the object hibernated. At most MAX_TASK_WAITERS_PER_SESSION
 *                (counted with the HTTP waiters the bridge holds in memory).
 *   task_input   the server-issued id of an elicitation (or sampling, roots)
 *                request sent for a task's input round -> (task id, input key),
 *                so the client's answer reaches the task. One per open input
 *                (a repeat goes under the same id); deleted when answered or
 *                when the task ends.
 */
import { type RequestId, requestKey } from "../../shared/protocol";
import type { SchemaTables } from "./schema";

export interface TaskWaiter {
  requestKey: string;
  requestId: RequestId;
  taskId: string;
}

export class TaskWaiterTable {
  readonly #sql: SqlStorage;
  readonly #tables: SchemaTables;

  constructor(sql: SqlStorage, tables: SchemaTables) {
    this.#sql = sql;
    this.#tables = tables;
  }

  countWaiters(): number {
    if (!this.#tables.has("task_waiter")) return 0;
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_waiter").one().n;
  }

  /** The request keys of every waiter. */
  waiterKeys(): string[] {
    if (!this.#tables.has("task_waiter")) return [];
    return this.#sql
      .exec<{ request_key: string }>("SELECT request_key FROM task_waiter")
      .toArray()
      .map((row) => row.request_key);
  }

  /** The tasks the waiters wait for (each once). */
  waitedTasks(): string[] {
    if (!this.#tables.has("task_waiter")) return [];
    return this.#sql
      .exec<{ task_id: string }>("SELECT DISTINCT task_id FROM task_waiter")
      .toArray()
      .map((row) => row.task_id);
  }

  addWaiter(waiter: TaskWaiter): void {
    this.#tables.ensure("task_waiter");
    this.#sql.exec(
      "INSERT OR REPLACE INTO task_waiter (request_key, request_id, task_id, created_at) VALUES (?, ?, ?, ?)",
      waiter.requestKey,
      requestKey(waiter.requestId),
      waiter.taskId,
      Date.now(),
    );
  }

  waitersOf(taskId: string): TaskWaiter[] {
    if (!this.#tables.has("task_waiter")) return [];
    return this.#sql
      .exec<{ request_key: string; request_id: string }>(
        "SELECT request_key, request_id FROM task_waiter WHERE task_id = ?",
        taskId,
      )
      .toArray()
      .map((row) => ({
        requestKey: row.request_key,
        requestId: JSON.parse(row.request_id) as RequestId,
        taskId,
      }));
  }

  /** Removes a waiter; true when it was there (so each waiter is answered once). */
  removeWaiter(requestKey: string): boolean {
    if (!this.#tables.has("task_waiter")) return false;
    return (
      this.#sql.exec("DELETE FROM task_waiter WHERE request_key = ?", requestKey).rowsWritten > 0
    );
  }

  recordInput(serverId: string, taskId: string, inputKey: string): void {
    this.#tables.ensure("task_input");
    this.#sql.exec(
      "INSERT OR REPLACE INTO task_input (server_id, task_id, input_key, created_at) VALUES (?, ?, ?, ?)",
      serverId,
      taskId,
      inputKey,
      Date.now(),
    );
  }

  inputOf(serverId: string): { taskId: string; inputKey: string } | null {
    if (!this.#tables.has("task_input")) return null;
    const row = this.#sql
      .exec<{ task_id: string; input_key: string }>(
        "SELECT task_id, input_key FROM task_input WHERE server_id = ?",
        serverId,
      )
      .toArray()[0];
    return row ? { taskId: row.task_id, inputKey: row.input_key } : null;
  }

  /** The server id an input request of the task was sent under, or null when it was not sent. */
  sentInput(taskId: string, inputKey: string): string | null {
    if (!this.#tables.has("task_input")) return null;
    const row = this.#sql
      .exec<{ server_id: string }>(
        "SELECT server_id FROM task_input WHERE task_id = ? AND input_key = ? LIMIT 1",
        taskId,
        inputKey,
      )
      .toArray()[0];
    return row?.server_id ?? null;
  }

  /** The input request sent under `serverId` was answered: its link goes. */
  forgetInput(serverId: string): void {
    if (!this.#tables.has("task_input")) return;
    this.#sql.exec("DELETE FROM task_input WHERE server_id = ?", serverId);
  }

  forgetInputs(taskId: string): void {
    if (!this.#tables.has("task_input")) return;
    this.#sql.exec("DELETE FROM task_input WHERE task_id = ?", taskId);
  }
}
