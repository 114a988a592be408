/**
 * Runs one task inside its Durable Object: creation, the steps of its tool's
 * program, input rounds, cancellation and expiry. The task row in SQLite
 * (storage/task-storage.ts) is the only state; every event reads it, applies
 * one transition of the state machine (shared/tasks.ts) and writes it back
 * before announcing the change, so a crash at any point leaves either the old
 * or the new state, never half of one.
 *
 * What wakes a task (its object's single alarm, always set while it exists):
 *   working          the next step's time (`nextStepAt`)
 *   input_required   its expiry: only an answer (`tasks/update`, or a
 *                    session-era elicitation answer) moves it on
 *   terminal         its expiry, when it deletes itself
 * At the TTL an unfinished task becomes `failed` (kept TASK_EXPIRED_GRACE_MS
 * so its owner learns why), a finished one is deleted with its principal slot.
 *
 * A step that was started but never finished (the process died) is run again
 * when the alarm fires again, at most MAX_TASK_STEP_ATTEMPTS times; a program
 * that is not `resumable` instead fails the task saying it was interrupted.
 * Nothing here sets a timer: between steps the object is evicted.
 */
import { INTERNAL_ERROR, REQUEST_TIMEOUT, RESULT_TOO_LARGE } from "../../shared/errors";
import {
  MAX_TASK_RESULT_BYTES,
  MAX_TASK_STATUS_MESSAGE_CHARS,
  MAX_TASK_STEP_ATTEMPTS,
  TASK_EXPIRED_GRACE_MS,
  TASK_START_FALLBACK_MS,
} from "../../shared/limits";
import { isTerminal, nextStatus, type TaskEvent } from "../../shared/tasks";
import { logEvent } from "../observability/log";
import type { TaskRecord, TaskStorage } from "../storage/task-storage";
import type { ToolRegistry } from "../tools/registry";
import type { TaskProgram, TaskStepOutcome } from "../tools/types";

export interface TaskEngineOptions {
  storage: TaskStorage;
  registry: ToolRegistry;
  /** Announces a durable change (listeners, the creating session); never throws. */
  publish(record: TaskRecord): void;
  /** Frees the task's slot in its principal's MAX_TASKS_PER_PRINCIPAL. */
  releaseSlot(record: TaskRecord): Promise<void>;
  /** Closes every listener of a task that is deleted. */
  closeListeners(reason: string): void;
}

export class TaskEngine {
  /** The step running in this object lifetime, aborted by a cancel. */
  #running: AbortController | null = null;

  constructor(private readonly options: TaskEngineOptions) {}

  /**
   * Stores a new task. Its first step waits for `start`: a task refused at its
   * principal's cap is discarded before it could act (run a step, ask its
   * client a question) for a call that was answered with an error. Should the
   * start be lost, the alarm runs the step TASK_START_FALLBACK_MS later.
   */
  create(record: TaskRecord): boolean {
    const { storage } = this.options;
    if (!storage.create(record)) return false;
    const fallback = Math.min(record.createdAt + TASK_START_FALLBACK_MS, record.expiresAt);
    storage.scheduleAlarm(Math.max(wakeAt(record), fallback));
    logEvent("info", "task_created", { taskId: record.taskId, tool: record.tool });
    return true;
  }

  /** The task was handed out: its first step may run now. False if no task lives here. */
  start(): boolean {
    const { storage } = this.options;
    const record = storage.read();
    if (!record) return false;
    storage.scheduleAlarm(wakeAt(record));
    return true;
  }

  /** Moves the task to `event`'s status with the given changes, writes it, announces it. */
  commit(record: TaskRecord, event: TaskEvent | null, changes: Partial<TaskRecord>): TaskRecord {
    const status = event === null ? record.status : nextStatus(record.status, event);
    if (status === null) return record;
    const next: TaskRecord = { ...record, ...changes, status, updatedAt: Date.now() };
    if (next.statusMessage !== null && next.statusMessage.length > MAX_TASK_STATUS_MESSAGE_CHARS) {
      next.statusMessage = `${next.statusMessage.slice(0, MAX_TASK_STATUS_MESSAGE_CHARS - 1)}…`;
    }
    this.options.storage.write(next);
    this.options.storage.scheduleAlarm(wakeAt(next));
    if (isTerminal(next.status)) this.#running?.abort(new Error(`task ${next.status}`));
    this.options.publish(next);
    return next;
  }

  /** Makes sure a live task has its alarm (a lost alarm must not leave it working forever). */
  async heal(record: TaskRecord): Promise<void> {
    if (isTerminal(record.status)) return;
    if ((await this.options.storage.alarm()) !== null) return;
    logEvent("warn", "task_alarm_restored", { taskId: record.taskId });
    this.options.storage.scheduleAlarm(wakeAt(record));
  }

  async onAlarm(): Promise<void> {
    const { storage } = this.options;
    const record = storage.read();
    if (!record) {
      await storage.destroy();
      return;
    }
    const now = Date.now();
    if (now >= record.expiresAt) return this.#expire(record, now);
    if (record.status !== "working" || record.nextStepAt === null || record.nextStepAt > now) {
      storage.scheduleAlarm(wakeAt(record));
      return;
    }
    await this.#step(record, now);
  }

  async #expire(record: TaskRecord, now: number): Promise<void> {
    if (!isTerminal(record.status)) {
      this.commit(record, "expire", {
        statusMessage: `Expired: the task's TTL of ${record.ttlMs} ms elapsed before it finished`,
        error: {
          code: REQUEST_TIMEOUT,
          message: `The task did not finish within its TTL (${record.ttlMs} ms)`,
        },
        inputRequests: {},
        nextStepAt: null,
        expiresAt: now + TASK_EXPIRED_GRACE_MS,
      });
      return;
    }
    logEvent("info", "task_deleted", { taskId: record.taskId, status: record.status });
    this.options.closeListeners("task deleted at the end of its TTL");
    await this.options.storage.destroy();
    await this.options.releaseSlot(record);
  }

  async #step(record: TaskRecord, now: number): Promise<void> {
    const program = this.options.registry.tools.get(record.tool)?.item.task as
      | TaskProgram<unknown>
      | undefined;
    const refusal = !program
      ? `the tool ${record.tool} is no longer served here (TOOLSETS changed)`
      : record.attempts >= MAX_TASK_STEP_ATTEMPTS
        ? `step ${record.step + 1} started ${record.attempts} times without finishing (the gateway restarted or the step crashed each time)`
        : record.attempts > 0 && program.resumable === false
          ? `the gateway stopped during step ${record.step + 1}, which cannot be repeated safely`
          : null;
    if (refusal !== null || !program) {
      this.#finish(record, {
        kind: "fail",
        code: INTERNAL_ERROR,
        message: `Interrupted: ${refusal}`,
      });
      return;
    }
    const started: TaskRecord = { ...record, attempts: record.attempts + 1 };
    this.options.storage.write(started);
    const controller = new AbortController();
    this.#running = controller;
    let outcome: TaskStepOutcome;
    try {
      outcome = await program.step(record.arguments, {
        index: record.step,
        state: record.stepState,
        answers: record.answers,
        now,
        signal: controller.signal,
      });
    } catch (error) {
      logEvent("error", "task_step_failed", { taskId: record.taskId, tool: record.tool, error });
      outcome = {
        kind: "fail",
        code: INTERNAL_ERROR,
        message: `Step ${record.step + 1} of ${record.tool} failed`,
      };
    } finally {
      this.#running = null;
    }
    // A cancel may have landed while the step ran: a terminal status stays.
    const fresh = this.options.storage.read();
    if (!fresh || isTerminal(fresh.status)) return;
    this.#finish(fresh, outcome);
  }

  #finish(record: TaskRecord, outcome: TaskStepOutcome): void {
    const base: Partial<TaskRecord> = {
      step: record.step + 1,
      attempts: 0,
      answers: {},
      statusMessage: outcome.message ?? null,
    };
    switch (outcome.kind) {
      case "done": {
        const bytes = new TextEncoder().encode(JSON.stringify(outcome.result)).byteLength;
        if (bytes > MAX_TASK_RESULT_BYTES) {
          const message = `The result is ${bytes} bytes; a task may store at most ${MAX_TASK_RESULT_BYTES}`;
          this.commit(record, "fail", {
            ...base,
            statusMessage: message,
            error: {
              code: RESULT_TOO_LARGE,
              message,
              data: { bytes, limit: MAX_TASK_RESULT_BYTES },
            },
            nextStepAt: null,
          });
          return;
        }
        const progress =
          record.progress?.total !== undefined
            ? { progress: record.progress.total, total: record.progress.total }
            : record.progress;
        this.commit(record, "complete", {
          ...base,
          result: outcome.result as unknown as Record<string, unknown>,
          progress,
          nextStepAt: null,
        });
        return;
      }
      case "fail":
        this.commit(record, "fail", {
          ...base,
          statusMessage: outcome.message,
          error: {
            code: outcome.code,
            message: outcome.message,
            ...(outcome.data !== undefined ? { data: outcome.data } : {}),
          },
          nextStepAt: null,
        });
        return;
      case "wait":
        this.commit(record, null, {
          ...base,
          stepState: outcome.state,
          progress: outcome.progress ?? record.progress,
          nextStepAt: Math.min(Math.max(outcome.until, Date.now()), record.expiresAt),
        });
        return;
      case "ask":
        this.#ask(record, outcome, base);
        return;
    }
  }

  #ask(
    record: TaskRecord,
    outcome: Extract<TaskStepOutcome, { kind: "ask" }>,
    base: Partial<TaskRecord>,
  ): void {
    const keys = Object.keys(outcome.inputRequests);
    const reused = keys.filter((key) => record.usedKeys.includes(key));
    if (keys.length === 0 || reused.length > 0) {
      // SEP-2663: input keys are unique over a task's lifetime; a program breaking that is a bug.
      this.#finish(record, {
        kind: "fail",
        code: INTERNAL_ERROR,
        message: `The tool asked for input ${keys.length === 0 ? "with no requests" : `reusing key(s) ${reused.join(", ")}`}`,
      });
      return;
    }
    this.commit(record, "ask", {
      ...base,
      stepState: outcome.state,
      inputRequests: outcome.inputRequests as TaskRecord["inputRequests"],
      usedKeys: [...record.usedKeys, ...keys],
      nextStepAt: null,
    });
  }
}

/** When a task's object must wake next: its next step, else its expiry. */
export function wakeAt(record: TaskRecord): number {
  if (record.status === "working" && record.nextStepAt !== null) {
    return Math.min(record.nextStepAt, record.expiresAt);
  }
  return record.expiresAt;
}
