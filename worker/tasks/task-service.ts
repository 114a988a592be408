/**
 * How a request reaches tasks: the narrow interface the method handlers use
 * (TaskService), and its implementation over the TASKS and PRINCIPALS Durable
 * Object namespaces, bound to one principal. Used by the Worker (stateless
 * 2026-07-28 requests) and by session objects (both eras) alike.
 *
 * Creation makes `CreateTaskResult` safe to send (SEP-2663: only once a
 * following tasks/get resolves): a slot in the principal's object and the task
 * object's row are written at the same time (each durable when its RPC
 * returns), and the answer waits for both. When the principal is at its cap
 * (TOO_MANY_TASKS) the new task is discarded before it is ever named to
 * anyone, and before it has done anything: its first step waits for `start`,
 * sent once both halves are written; when the task cannot be created, the
 * slot is given back.
 *
 * Every error about a task the caller cannot reach is the same -32602, whether
 * the task never existed, expired, belongs to another principal or the id's
 * secret half is wrong; only a malformed id says so.
 */
import { INVALID_PARAMS, JsonRpcError, TOO_MANY_TASKS } from "../../shared/errors";
import {
  MAX_TASK_ARGUMENTS_BYTES,
  TASK_EXPIRED_GRACE_MS,
  TASK_LIST_PAGE_SIZE,
} from "../../shared/limits";
import type { ProgressToken } from "../../shared/protocol";
import { parseTaskId, type TaskView } from "../../shared/tasks";
import type { TaskRecord } from "../storage/task-storage";
import type { WireError } from "./task-object";
import type { CancelOutcome, UpdateOutcome } from "./task-requests";

export interface NewTask {
  tool: string;
  arguments: Record<string, unknown>;
  /** The program's first step state (from its `start`) and the first status message. */
  state: unknown;
  message: string | null;
  ttlMs: number;
  pollIntervalMs: number;
  /** The creating session (session era), told of every change; null for 2026-07-28. */
  sessionId: string | null;
  progressToken: ProgressToken | null;
}

export interface TaskPage {
  tasks: TaskView[];
  nextCursor: string | null;
}

export interface TaskService {
  create(task: NewTask): Promise<TaskView>;
  get(taskId: string): Promise<TaskView>;
  update(taskId: string, inputResponses: Record<string, unknown>): Promise<UpdateOutcome>;
  cancel(taskId: string, reason: string): Promise<CancelOutcome>;
  list(cursor: string | null): Promise<TaskPage>;
}

export interface TaskBindings {
  TASKS: Env["TASKS"];
  PRINCIPALS: Env["PRINCIPALS"];
}

export const TASK_NOT_FOUND = "Failed to retrieve task: Task not found";

export function taskNotFound(): JsonRpcError {
  return new JsonRpcError(INVALID_PARAMS, TASK_NOT_FOUND);
}

export class DurableTaskService implements TaskService {
  constructor(
    private readonly bindings: TaskBindings,
    private readonly principal: string,
    private readonly maxTasks: number,
  ) {}

  async create(task: NewTask): Promise<TaskView> {
    const argumentBytes = new TextEncoder().encode(JSON.stringify(task.arguments)).byteLength;
    if (argumentBytes > MAX_TASK_ARGUMENTS_BYTES) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `The arguments are ${argumentBytes} bytes; a task may store at most ${MAX_TASK_ARGUMENTS_BYTES}`,
      );
    }
    const id = this.bindings.TASKS.newUniqueId();
    const record = newTaskRecord(id.toString(), this.principal, task, Date.now());
    const now = record.createdAt;
    const slots = this.#principalObject();
    const object = this.bindings.TASKS.get(id);
    // The slot lasts as long as the task can be stored: its TTL, and the grace an
    // unfinished task is kept for as `failed` after it (task-engine.ts). Its own end
    // only matters when a release is lost; a slot that ended at the TTL let a
    // principal keep tasks in their grace beyond its bound.
    const slotExpiresAt = record.expiresAt + TASK_EXPIRED_GRACE_MS;
    // Both writes at once: the reply waits for both, so it is still only sent once the task is durable.
    const [reserved, view] = await Promise.allSettled([
      slots.reserveTask(record.taskId, task.sessionId, now, slotExpiresAt, this.maxTasks),
      object.create(record),
    ]);
    if (
      reserved.status === "fulfilled" &&
      reserved.value &&
      view.status === "fulfilled" &&
      view.value
    ) {
      // Only now may it act. Should this be lost, the task starts after TASK_START_FALLBACK_MS.
      await object.start().catch(() => false);
      return view.value;
    }
    // Undo whichever half succeeded. The object is discarded whatever its answer: a
    // create that failed after its write committed would otherwise run unbounded by any slot.
    await object.discard().catch(() => {});
    if (reserved.status === "fulfilled" && reserved.value) {
      await slots.releaseTask(record.taskId).catch(() => {});
    }
    if (reserved.status === "fulfilled" && !reserved.value) {
      throw new JsonRpcError(
        TOO_MANY_TASKS,
        `Too many tasks: this principal already holds ${this.maxTasks}, the most it may (finished and cancelled tasks count until their TTL ends)`,
        { limit: this.maxTasks },
      );
    }
    const failure =
      reserved.status === "rejected"
        ? reserved.reason
        : view.status === "rejected"
          ? view.reason
          : null;
    throw failure ?? new Error("task object already held a task");
  }

  async get(taskId: string): Promise<TaskView> {
    const view = await this.#object(taskId).read(this.#access(taskId));
    if (!view) throw taskNotFound();
    return view;
  }

  async update(taskId: string, inputResponses: Record<string, unknown>): Promise<UpdateOutcome> {
    const outcome = (await this.#object(taskId).update(this.#access(taskId), inputResponses)) as
      | UpdateOutcome
      | { error: WireError }
      | null;
    if (!outcome) throw taskNotFound();
    if ("error" in outcome) throw new JsonRpcError(outcome.error.code, outcome.error.message);
    return outcome;
  }

  async cancel(taskId: string, reason: string): Promise<CancelOutcome> {
    const outcome = await this.#object(taskId).cancel(this.#access(taskId), reason);
    if (!outcome) throw taskNotFound();
    return outcome;
  }

  async list(cursor: string | null): Promise<TaskPage> {
    const page = await this.#principalObject().listTasks(cursor, TASK_LIST_PAGE_SIZE);
    if (!page) throw new JsonRpcError(INVALID_PARAMS, `Invalid cursor: ${cursor}`);
    const views = await Promise.all(
      page.taskIds.map((taskId): Promise<TaskView | null> => this.get(taskId).catch(() => null)),
    );
    return {
      tasks: views.filter((view): view is TaskView => view !== null),
      nextCursor: page.nextCursor,
    };
  }

  #access(taskId: string) {
    return { taskId, principal: this.principal };
  }

  #object(taskId: string) {
    const parsed = parseTaskId(taskId);
    if (!parsed) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        "Invalid taskId: not a task id this gateway issues (<64 hex>.<32 hex>)",
      );
    }
    let id: DurableObjectId;
    try {
      id = this.bindings.TASKS.idFromString(parsed.objectId);
    } catch {
      throw taskNotFound();
    }
    return this.bindings.TASKS.get(id);
  }

  #principalObject() {
    const principals = this.bindings.PRINCIPALS;
    return principals.get(principals.idFromName(this.principal));
  }
}

/** A new task's stored record: `working`, its first step due at once. */
export function newTaskRecord(
  objectId: string,
  principal: string,
  task: NewTask,
  now: number,
): TaskRecord {
  const secret = [...crypto.getRandomValues(new Uint8Array(16))]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return {
    taskId: `${objectId}.${secret}`,
    secret,
    principal,
    sessionId: task.sessionId,
    tool: task.tool,
    arguments: task.arguments,
    status: "working",
    statusMessage: task.message,
    progress: null,
    progressToken: task.progressToken ?? null,
    step: 0,
    stepState: task.state ?? null,
    attempts: 0,
    nextStepAt: now,
    inputRequests: {},
    answers: {},
    usedKeys: [],
    result: null,
    error: null,
    createdAt: now,
    updatedAt: now,
    ttlMs: task.ttlMs,
    expiresAt: now + task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
    // The construction that creates the task is its first wake.
    wakes: 1,
  };
}
