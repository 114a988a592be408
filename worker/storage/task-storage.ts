/**
 * A task object's SQLite storage: the single `task` row (DDL in schema.ts) and
 * the object's one alarm. The row is the whole truth about a task; the task
 * engine (worker/tasks/task-engine.ts) reads it at every event and writes it
 * back whole before anything that depends on it is sent, so the runtime's
 * output gate makes every acknowledged transition durable.
 *
 * Growth bound: one row per object. Its JSON columns are bounded by the engine
 * (arguments MAX_TASK_ARGUMENTS_BYTES, answers MAX_TASK_ANSWER_BYTES, result
 * MAX_TASK_RESULT_BYTES, status message MAX_TASK_STATUS_MESSAGE_CHARS), far
 * below SQLite's 2 MB row limit.
 */
import {
  TASK_STATUSES,
  type TaskProgress,
  type TaskStatus,
  type TaskView,
} from "../../shared/tasks";
import { TASK_SCHEMA_DDL, tableExists } from "./schema";

export interface TaskRecord extends TaskView {
  secret: string;
  principal: string;
  arguments: Record<string, unknown>;
  /** The tool program's own state between steps (any JSON). */
  stepState: unknown;
  /** Runs of the current step that started; reset when a step finishes. */
  attempts: number;
  /** When the next step is due (working), or null (waiting for input, or terminal). */
  nextStepAt: number | null;
  /** Answers of the current input round, by key. */
  answers: Record<string, unknown>;
  /** Every input key ever issued (keys are unique over a task's lifetime). */
  usedKeys: string[];
  expiresAt: number;
}

interface TaskRow extends Record<string, SqlStorageValue> {
  task_id: string;
  secret: string;
  principal: string;
  session_id: string | null;
  tool: string;
  arguments: string;
  status: string;
  status_message: string | null;
  progress: string | null;
  progress_token: string | null;
  step: number;
  step_state: string;
  attempts: number;
  next_step_at: number | null;
  input_requests: string;
  answers: string;
  used_keys: string;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  ttl_ms: number;
  expires_at: number;
  poll_interval_ms: number;
  wakes: number;
}

const COLUMNS = [
  "task_id",
  "secret",
  "principal",
  "session_id",
  "tool",
  "arguments",
  "status",
  "status_message",
  "progress",
  "progress_token",
  "step",
  "step_state",
  "attempts",
  "next_step_at",
  "input_requests",
  "answers",
  "used_keys",
  "result",
  "error",
  "created_at",
  "updated_at",
  "ttl_ms",
  "expires_at",
  "poll_interval_ms",
  "wakes",
] as const;

export class TaskStorage {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;
  #hasSchema = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
  }

  read(): TaskRecord | null {
    if (!this.#tableExists()) return null;
    const row = this.#sql.exec<TaskRow>("SELECT * FROM task WHERE id = 1").toArray()[0];
    return row ? toRecord(row) : null;
  }

  /** Stores a new task; false when this object already holds one (ids are never reused). */
  create(record: TaskRecord): boolean {
    this.#hasSchema = true;
    this.#sql.exec(TASK_SCHEMA_DDL);
    const placeholders = COLUMNS.map(() => "?").join(", ");
    return (
      this.#sql.exec(
        `INSERT OR IGNORE INTO task (id, ${COLUMNS.join(", ")}) VALUES (1, ${placeholders})`,
        ...toRow(record),
      ).rowsWritten > 0
    );
  }

  /** Writes the whole row back (every transition goes through here). */
  write(record: TaskRecord): void {
    const assignments = COLUMNS.map((column) => `${column} = ?`).join(", ");
    this.#sql.exec(`UPDATE task SET ${assignments} WHERE id = 1`, ...toRow(record));
  }

  /** Counts one construction of the object (a wake). No-op when no task lives here. */
  countWake(): void {
    if (!this.#tableExists()) return;
    this.#sql.exec("UPDATE task SET wakes = wakes + 1 WHERE id = 1");
  }

  scheduleAlarm(at: number): void {
    void this.#storage.setAlarm(at);
  }

  alarm(): Promise<number | null> {
    return this.#storage.getAlarm();
  }

  /** Removes every trace of the task (row, alarm). */
  async destroy(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#hasSchema = false;
  }

  #tableExists(): boolean {
    if (this.#hasSchema) return true;
    this.#hasSchema = tableExists(this.#sql, "task");
    return this.#hasSchema;
  }
}

function toRow(r: TaskRecord): SqlStorageValue[] {
  return [
    r.taskId,
    r.secret,
    r.principal,
    r.sessionId,
    r.tool,
    JSON.stringify(r.arguments),
    r.status,
    r.statusMessage,
    r.progress ? JSON.stringify(r.progress) : null,
    r.progressToken === null ? null : JSON.stringify(r.progressToken),
    r.step,
    JSON.stringify(r.stepState ?? null),
    r.attempts,
    r.nextStepAt,
    JSON.stringify(r.inputRequests),
    JSON.stringify(r.answers),
    JSON.stringify(r.usedKeys),
    r.result ? JSON.stringify(r.result) : null,
    r.error ? JSON.stringify(r.error) : null,
    r.createdAt,
    r.updatedAt,
    r.ttlMs,
    r.expiresAt,
    r.pollIntervalMs,
    r.wakes,
  ];
}

function parse<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toRecord(row: TaskRow): TaskRecord {
  const status = (TASK_STATUSES as readonly string[]).includes(row.status)
    ? (row.status as TaskStatus)
    : "failed";
  return {
    taskId: row.task_id,
    secret: row.secret,
    principal: row.principal,
    sessionId: row.session_id,
    tool: row.tool,
    arguments: parse(row.arguments, {}),
    status,
    statusMessage: row.status_message,
    progress: parse<TaskProgress | null>(row.progress, null),
    progressToken: parse<string | number | null>(row.progress_token, null),
    step: row.step,
    stepState: parse<unknown>(row.step_state, null),
    attempts: row.attempts,
    nextStepAt: row.next_step_at,
    inputRequests: parse(row.input_requests, {}),
    answers: parse(row.answers, {}),
    usedKeys: parse(row.used_keys, []),
    result: parse(row.result, null),
    error: parse(row.error, null),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ttlMs: row.ttl_ms,
    expiresAt: row.expires_at,
    pollIntervalMs: row.poll_interval_ms,
    wakes: row.wakes,
  };
}

/** The public view of a record (no secret, owner, arguments or step state). */
export function viewOf(record: TaskRecord): TaskView {
  return {
    taskId: record.taskId,
    status: record.status,
    statusMessage: record.statusMessage,
    tool: record.tool,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ttlMs: record.ttlMs,
    pollIntervalMs: record.pollIntervalMs,
    step: record.step,
    wakes: record.wakes,
    progress: record.progress,
    inputRequests: record.inputRequests,
    result: record.result,
    error: record.error,
    sessionId: record.sessionId,
    progressToken: record.progressToken,
  };
}
