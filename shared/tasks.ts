/**
 * Durable tasks, era-neutral: the status state machine, the stored view of a
 * task, its id format, and the two wire shapes it takes.
 *
 * One task model serves both protocol eras:
 * - 2026-07-28, the tasks extension `io.modelcontextprotocol/tasks` (SEP-2663,
 *   ext-tasks `specification/draft/tasks.md`): `ttlMs`, `pollIntervalMs`, a
 *   DetailedTask with `result` / `error` / `inputRequests` inlined, tool errors
 *   reported as `completed` with `result.isError`.
 * - 2025-11-25, experimental tasks (`basic/utilities/tasks`): `ttl`,
 *   `pollInterval`, results fetched with `tasks/result`, and a tool result with
 *   `isError` reported as `failed` ("For tasks that wrap tool call requests,
 *   when the tool result has isError set to true, the task should reach failed
 *   status").
 *
 * The state machine is the one both specs draw:
 *
 *   working --ask--> input_required --answered--> working
 *   working|input_required --complete|fail|cancel|expire--> completed|failed|cancelled|failed
 *   completed, failed, cancelled: terminal (no event leaves them)
 *
 * `nextStatus` is pure and returns null for an event the status does not accept.
 * Invariant: this module imports nothing from `worker/`, `cloudflare:*` or `hono`.
 */
import * as v from "valibot";
import { isRecord } from "./protocol";

import {
  META_MODEL_IMMEDIATE_RESPONSE,
  META_RELATED_TASK,
  META_TASK_DETAIL,
  META_TASK_IGNORED,
  TASKS_EXTENSION,
} from "./protocol-constants";

export {
  META_MODEL_IMMEDIATE_RESPONSE,
  META_RELATED_TASK,
  META_TASK_DETAIL,
  META_TASK_IGNORED,
  TASKS_EXTENSION,
};

export const TASK_STATUSES = [
  "working",
  "input_required",
  "completed",
  "failed",
  "cancelled",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export type TaskEvent = "ask" | "answered" | "complete" | "fail" | "cancel" | "expire";

export function isTerminal(status: TaskStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

export function nextStatus(status: TaskStatus, event: TaskEvent): TaskStatus | null {
  if (isTerminal(status)) return null;
  switch (event) {
    case "ask":
      return status === "working" ? "input_required" : null;
    case "answered":
      return status === "input_required" ? "working" : null;
    case "complete":
      return "completed";
    case "fail":
    case "expire":
      return "failed";
    case "cancel":
      return "cancelled";
  }
}

/** `execution.taskSupport` of a tool (2025-11-25); absent means "forbidden". */
export type TaskSupport = "optional" | "required";

/**
 * Task ids: `<object id, 64 hex>.<secret, 32 hex>`. The first part names the
 * task's Durable Object directly (no lookup table); the second is 128 random
 * bits stored with the task and compared on every request, so an id cannot be
 * guessed whatever the structure of object ids.
 */
export const TASK_ID_PATTERN = /^([0-9a-f]{64})\.([0-9a-f]{32})$/;

export function parseTaskId(taskId: string): { objectId: string; secret: string } | null {
  const match = TASK_ID_PATTERN.exec(taskId);
  if (!match?.[1] || !match[2]) return null;
  return { objectId: match[1], secret: match[2] };
}

export interface TaskProgress {
  progress: number;
  total?: number;
}

/** A task as stored, era-neutral: what tasks/get, notifications and tasks/list are shaped from. */
export interface TaskView {
  taskId: string;
  status: TaskStatus;
  statusMessage: string | null;
  tool: string;
  createdAt: number;
  updatedAt: number;
  ttlMs: number;
  pollIntervalMs: number;
  /** The step the task is at (0-based) and how often its object was constructed. */
  step: number;
  wakes: number;
  progress: TaskProgress | null;
  /** Outstanding input requests (key -> { method, params }); empty unless input_required. */
  inputRequests: Record<string, { method: string; params: Record<string, unknown> }>;
  /** The tool's result (completed), or the JSON-RPC error (failed). */
  result: Record<string, unknown> | null;
  error: { code: number; message: string; data?: unknown } | null;
  /** The session that created it (session era), or null (2026-07-28). */
  sessionId: string | null;
  /** The creating request's progress token (session era), for notifications/progress. */
  progressToken: string | number | null;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function detail(view: TaskView): Record<string, unknown> {
  return {
    [META_TASK_DETAIL]: {
      tool: view.tool,
      step: view.step,
      wakes: view.wakes,
      ...(view.progress ? { progress: view.progress } : {}),
    },
  };
}

/**
 * 2026-07-28 `Task` (CreateTaskResult body) or, with `detailed`, a DetailedTask
 * (tasks/get, notifications/tasks): the status-specific payload inlined.
 */
export function modernTask(view: TaskView, detailed: boolean): Record<string, unknown> {
  const task: Record<string, unknown> = {
    taskId: view.taskId,
    status: view.status,
    ...(view.statusMessage !== null ? { statusMessage: view.statusMessage } : {}),
    createdAt: iso(view.createdAt),
    lastUpdatedAt: iso(view.updatedAt),
    ttlMs: view.ttlMs,
    pollIntervalMs: view.pollIntervalMs,
    _meta: detail(view),
  };
  if (!detailed) return task;
  if (view.status === "completed" && view.result) task.result = view.result;
  if (view.status === "failed" && view.error) task.error = view.error;
  if (view.status === "input_required") task.inputRequests = view.inputRequests;
  return task;
}

/** Whether a completed task's tool result carries `isError: true`. */
export function isToolError(view: TaskView): boolean {
  return view.status === "completed" && view.result?.isError === true;
}

/**
 * 2025-11-25 `Task` (tasks/get, tasks/list, tasks/cancel, notifications/tasks/status;
 * wrapped as `{ task }` in a CreateTaskResult). A tool error is `failed` there.
 */
export function sessionTask(view: TaskView): Record<string, unknown> {
  const toolError = isToolError(view);
  const message = view.statusMessage ?? (toolError ? "The tool reported an error" : null);
  return {
    taskId: view.taskId,
    status: toolError ? "failed" : view.status,
    ...(message !== null ? { statusMessage: message } : {}),
    createdAt: iso(view.createdAt),
    lastUpdatedAt: iso(view.updatedAt),
    ttl: view.ttlMs,
    pollInterval: view.pollIntervalMs,
    _meta: detail(view),
  };
}

/** Whether a request's client capabilities declare the tasks extension. */
export function declaresTasksExtension(capabilities: Record<string, unknown>): boolean {
  const extensions = capabilities.extensions;
  return isRecord(extensions) && isRecord(extensions[TASKS_EXTENSION]);
}

/** What a client sends to answer an input request, per method (loosely: extra keys allowed). */
const ANSWER_SCHEMAS: Record<string, v.GenericSchema> = {
  "elicitation/create": v.looseObject({
    action: v.picklist(["accept", "decline", "cancel"]),
    content: v.optional(v.record(v.string(), v.unknown())),
  }),
  "sampling/createMessage": v.looseObject({
    role: v.string(),
    content: v.unknown(),
    model: v.optional(v.string()),
  }),
  "roots/list": v.looseObject({
    roots: v.array(v.looseObject({ uri: v.string() })),
  }),
};

/** The answer schema for an input request's method (unknown methods accept any object). */
export function answerSchemaFor(method: string): v.GenericSchema {
  return ANSWER_SCHEMAS[method] ?? v.looseObject({});
}
