/**
 * The tasks tab: every task of the principal (tasks/list, 2025-11-25
 * experimental tasks), newest first, with its status, progress and status
 * message, and what can be done with it: Cancel a running task, Answer an
 * `input_required` one, Show the result of a finished one.
 *
 * Answer and Show both send tasks/result: for a task waiting for input the
 * gateway then sends the task's elicitation (the dialog opens), and the result
 * arrives on the same request once the task ends.
 *
 * The list follows notifications/tasks/status (over WebSocket) and is listed
 * again while a task is still running (over HTTP nothing is pushed), as often
 * as the running tasks' pollInterval asks, between MIN_REFRESH_MS and
 * MAX_REFRESH_MS. Tasks live on the gateway, not in the page: after a reload the
 * list is the same.
 */
import { META_TASK_DETAIL } from "../../../shared/protocol-constants";
import type { Connection } from "../connection";
import { h, isRecord, replace } from "../dom";
import type { RpcNotification } from "../rpc/messages";
import { RpcError } from "../rpc/messages";
import { jsonBlock, renderContent } from "./content";

const MIN_REFRESH_MS = 2_000;
const MAX_REFRESH_MS = 30_000;
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export interface Task {
  taskId: string;
  status: string;
  statusMessage?: string | undefined;
  createdAt: string;
  lastUpdatedAt: string;
  ttl: number | null;
  pollInterval?: number | undefined;
  _meta?: Record<string, unknown> | undefined;
}

export interface TasksPanel {
  element: HTMLElement;
  onNotification(notification: RpcNotification): void;
  /** A task just started from the tools tab. */
  started(task: Task): void;
}

export function tasksPanel(connection: Connection): TasksPanel {
  const tasks = new Map<string, Task>();
  const outcomes = new Map<string, HTMLElement>();
  const list = h("ul", { class: "task-list", id: "task-list", "aria-label": "Tasks" });
  const status = h("p", { class: "muted", id: "tasks-status", "aria-live": "polite" });
  const refresh = h("button", { type: "button", class: "small", id: "tasks-refresh" }, "Refresh");
  let timer: ReturnType<typeof setTimeout> | null = null;

  const render = () => {
    const rows = [...tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    replace(list, rows.length === 0 ? h("li", { class: "muted" }, "No tasks yet.") : rows.map(row));
  };

  const row = (task: Task): HTMLElement => {
    const detail = isRecord(task._meta?.[META_TASK_DETAIL]) ? task._meta[META_TASK_DETAIL] : {};
    const progress = isRecord(detail.progress) ? detail.progress : null;
    const tool = typeof detail.tool === "string" ? detail.tool : "task";
    const bar =
      progress && typeof progress.total === "number" && typeof progress.progress === "number"
        ? h("progress", {
            max: progress.total,
            value: progress.progress,
            "aria-label": `Progress of ${tool} task`,
          })
        : null;
    const actions: HTMLElement[] = [];
    if (!TERMINAL.has(task.status)) {
      actions.push(
        button("Cancel", `Cancel task ${short(task.taskId)}`, "danger", () => cancel(task)),
      );
    }
    if (task.status === "input_required") {
      actions.push(
        button("Answer", `Answer task ${short(task.taskId)}`, "", () => fetchResult(task)),
      );
    }
    if (TERMINAL.has(task.status)) {
      actions.push(
        button("Result", `Result of task ${short(task.taskId)}`, "", () => fetchResult(task)),
      );
    }
    return h(
      "li",
      { class: "task", "data-task": task.taskId, "data-status": task.status, "data-tool": tool },
      h(
        "header",
        {},
        h("strong", {}, tool),
        h("code", { title: task.taskId }, short(task.taskId)),
        h("span", { class: "state" }, task.status.replace("_", " ")),
        h(
          "span",
          { class: "timing" },
          `updated ${new Date(task.lastUpdatedAt).toLocaleTimeString()}`,
        ),
        actions,
      ),
      bar,
      task.statusMessage ? h("p", { class: "status-message" }, task.statusMessage) : null,
      outcomes.get(task.taskId) ?? null,
    );
  };

  const button = (text: string, label: string, kind: string, onclick: () => void) =>
    h(
      "button",
      { type: "button", class: `small ${kind}`.trim(), "aria-label": label, onclick },
      text,
    );

  const put = (task: Task) => {
    tasks.set(task.taskId, task);
    render();
    schedule();
  };

  const load = async () => {
    try {
      const found: Task[] = [];
      let cursor: string | undefined;
      do {
        const page = await connection.client.request("tasks/list", cursor ? { cursor } : {}).result;
        found.push(...(Array.isArray(page.tasks) ? page.tasks.filter(isTask) : []));
        cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
      } while (cursor && found.length < 500);
      tasks.clear();
      for (const task of found) tasks.set(task.taskId, task);
      replace(status, `${found.length} task(s).`);
    } catch (error) {
      replace(status, `tasks/list failed: ${messageOf(error)}`);
    }
    render();
    schedule();
  };

  const schedule = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const running = [...tasks.values()].filter((task) => !TERMINAL.has(task.status));
    if (running.length === 0 || connection.state.status !== "ready") return;
    const asked = Math.min(...running.map((task) => task.pollInterval ?? MIN_REFRESH_MS));
    const delay = Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, asked));
    timer = setTimeout(() => void load(), delay);
  };

  const cancel = async (task: Task) => {
    try {
      put(asTask(await connection.client.request("tasks/cancel", { taskId: task.taskId }).result));
    } catch (error) {
      replace(status, `tasks/cancel failed: ${messageOf(error)}`);
    }
  };

  const fetchResult = async (task: Task) => {
    const outcome = h("div", { class: "result", "aria-live": "polite" }, "Waiting for the result…");
    outcomes.set(task.taskId, outcome);
    render();
    try {
      const result = await connection.client.request("tasks/result", { taskId: task.taskId })
        .result;
      replace(
        outcome,
        renderContent(result.content),
        isRecord(result.structuredContent)
          ? jsonBlock("structured content", result.structuredContent)
          : null,
      );
    } catch (error) {
      const data = error instanceof RpcError ? error.data : undefined;
      replace(
        outcome,
        h("p", { class: "error" }, messageOf(error)),
        data === undefined ? null : jsonBlock("error data", data),
      );
    }
    void load();
  };

  refresh.addEventListener("click", () => void load());
  connection.onReady(() => void load());

  render();
  return {
    element: h(
      "section",
      { class: "panel tasks", "aria-labelledby": "tasks-heading" },
      h("div", { class: "toolbar" }, h("h2", { id: "tasks-heading" }, "Tasks"), refresh),
      status,
      list,
    ),
    onNotification(notification) {
      if (notification.method !== "notifications/tasks/status") return;
      if (isTask(notification.params)) put(notification.params);
    },
    started(task) {
      put(task);
    },
  };
}

function isTask(value: unknown): value is Task {
  return isRecord(value) && typeof value.taskId === "string" && typeof value.status === "string";
}

function asTask(value: unknown): Task {
  if (!isTask(value)) throw new Error("The gateway answered without a task");
  return value;
}

function short(taskId: string): string {
  return `${taskId.slice(0, 8)}…`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
