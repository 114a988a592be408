/**
 * The requests a task object answers for its owner: read, answer input
 * (`tasks/update`), cancel. Every one first checks access: the full task id
 * (which carries the task's 128-bit secret) and the caller's principal must
 * both match, else the answer is `null`, exactly as for a task that does not
 * exist (SEP-2663 security considerations: auth on every task request; an
 * unknown and another principal's task are indistinguishable).
 *
 * Answers are validated before anything changes: a wrong answer to an
 * outstanding request is -32602 and nothing is applied; an answer to a key
 * that is not outstanding is ignored and reported back (SEP-2663 "Task Update
 * Requests": servers SHOULD ignore them).
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import { MAX_TASK_ANSWER_BYTES } from "../../shared/limits";
import { answerSchemaFor, isTerminal, type TaskStatus, type TaskView } from "../../shared/tasks";
import { type TaskRecord, type TaskStorage, viewOf } from "../storage/task-storage";
import type { TaskEngine } from "./task-engine";

/** Who asks: the full task id and the authenticated principal. */
export interface TaskAccess {
  taskId: string;
  principal: string;
}

export interface UpdateOutcome {
  /** Keys that were not outstanding and were ignored, with the reason. */
  ignored: { key: string; reason: string }[];
}

export type CancelOutcome =
  | { cancelled: true; view: TaskView }
  | { cancelled: false; status: TaskStatus; view: TaskView };

export class TaskRequests {
  constructor(
    private readonly storage: TaskStorage,
    private readonly engine: TaskEngine,
  ) {}

  /** The owner's task, or null (unknown, another principal's, wrong secret). */
  record(access: TaskAccess): TaskRecord | null {
    const record = this.storage.read();
    if (!record) return null;
    if (!sameSecret(record.taskId, access.taskId) || record.principal !== access.principal) {
      return null;
    }
    return record;
  }

  async read(access: TaskAccess): Promise<TaskView | null> {
    const record = this.record(access);
    if (!record) return null;
    await this.engine.heal(record);
    return viewOf(record);
  }

  update(access: TaskAccess, inputResponses: Record<string, unknown>): UpdateOutcome | null {
    const record = this.record(access);
    if (!record) return null;
    const bytes = new TextEncoder().encode(JSON.stringify(inputResponses)).byteLength;
    if (bytes > MAX_TASK_ANSWER_BYTES) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `inputResponses is ${bytes} bytes; at most ${MAX_TASK_ANSWER_BYTES} are accepted`,
      );
    }
    const ignored: UpdateOutcome["ignored"] = [];
    const accepted: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const [key, answer] of Object.entries(inputResponses)) {
      const request = record.status === "input_required" ? record.inputRequests[key] : undefined;
      if (!request) {
        ignored.push({ key, reason: notOutstanding(record, key) });
        continue;
      }
      const parsed = v.safeParse(answerSchemaFor(request.method), answer);
      if (!parsed.success) {
        problems.push(`"${key}" (${request.method}): ${formatIssues(parsed.issues)}`);
        continue;
      }
      accepted[key] = answer;
    }
    if (problems.length > 0) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid inputResponses, nothing was applied: ${problems.join("; ")}`,
      );
    }
    if (Object.keys(accepted).length === 0) return { ignored };
    const inputRequests = { ...record.inputRequests };
    for (const key of Object.keys(accepted)) delete inputRequests[key];
    const answers = { ...record.answers, ...accepted };
    const complete = Object.keys(inputRequests).length === 0;
    this.engine.commit(record, complete ? "answered" : null, {
      inputRequests,
      answers,
      ...(complete ? { nextStepAt: Date.now(), statusMessage: "Answered; continuing" } : {}),
    });
    return { ignored };
  }

  cancel(access: TaskAccess, reason: string): CancelOutcome | null {
    const record = this.record(access);
    if (!record) return null;
    if (isTerminal(record.status)) {
      return { cancelled: false, status: record.status, view: viewOf(record) };
    }
    const next = this.engine.commit(record, "cancel", {
      statusMessage: reason,
      inputRequests: {},
      nextStepAt: null,
    });
    return { cancelled: true, view: viewOf(next) };
  }
}

function notOutstanding(record: TaskRecord, key: string): string {
  if (record.status !== "input_required") return `the task is ${record.status}, not input_required`;
  if (record.usedKeys.includes(key)) return "already answered";
  return "no such input request";
}

/** Constant-time comparison of two task ids (the secret half must not leak by timing). */
function sameSecret(stored: string, given: string): boolean {
  if (stored.length !== given.length) return false;
  let difference = 0;
  for (let i = 0; i < stored.length; i += 1) {
    difference |= stored.charCodeAt(i) ^ given.charCodeAt(i);
  }
  return difference === 0;
}
