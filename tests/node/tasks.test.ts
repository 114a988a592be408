/**
 * The task model without a runtime: the status state machine as a table, the
 * id format, the two wire shapes (2026-07-28 DetailedTask, 2025-11-25 Task)
 * and the timed steps every waiting tool is built from.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { MIN_TASK_STEP_MS } from "../../shared/limits";
import {
  answerSchemaFor,
  declaresTasksExtension,
  isTerminal,
  META_TASK_DETAIL,
  modernTask,
  nextStatus,
  parseTaskId,
  sessionTask,
  TASK_STATUSES,
  type TaskEvent,
  type TaskStatus,
  type TaskView,
} from "../../shared/tasks";
import { done, timedSteps } from "../../worker/tools/task-steps";

const EVENTS: TaskEvent[] = ["ask", "answered", "complete", "fail", "cancel", "expire"];

// status -> event -> next status (null: refused). Both specs draw the same machine.
const TABLE: Record<TaskStatus, Record<TaskEvent, TaskStatus | null>> = {
  working: {
    ask: "input_required",
    answered: null,
    complete: "completed",
    fail: "failed",
    cancel: "cancelled",
    expire: "failed",
  },
  input_required: {
    ask: null,
    answered: "working",
    complete: "completed",
    fail: "failed",
    cancel: "cancelled",
    expire: "failed",
  },
  completed: { ask: null, answered: null, complete: null, fail: null, cancel: null, expire: null },
  failed: { ask: null, answered: null, complete: null, fail: null, cancel: null, expire: null },
  cancelled: { ask: null, answered: null, complete: null, fail: null, cancel: null, expire: null },
};

const ID = `${"a".repeat(64)}.${"0123456789abcdef".repeat(2)}`;

function view(patch: Partial<TaskView> = {}): TaskView {
  return {
    taskId: ID,
    status: "working",
    statusMessage: null,
    tool: "wait",
    createdAt: Date.UTC(2026, 0, 1),
    updatedAt: Date.UTC(2026, 0, 1, 0, 1),
    ttlMs: 60_000,
    pollIntervalMs: 1_000,
    step: 2,
    wakes: 3,
    progress: null,
    inputRequests: {},
    result: null,
    error: null,
    sessionId: null,
    progressToken: null,
    ...patch,
  };
}

describe("the task state machine", () => {
  for (const status of TASK_STATUSES) {
    for (const event of EVENTS) {
      it(`${status} --${event}--> ${TABLE[status][event] ?? "refused"}`, () => {
        expect(nextStatus(status, event)).toBe(TABLE[status][event]);
      });
    }
  }

  it("treats exactly completed, failed and cancelled as terminal", () => {
    expect(TASK_STATUSES.filter(isTerminal)).toEqual(["completed", "failed", "cancelled"]);
  });
});

describe("task ids", () => {
  it("splits an id into its object id and its 128-bit secret", () => {
    expect(parseTaskId(ID)).toEqual({
      objectId: "a".repeat(64),
      secret: "0123456789abcdef".repeat(2),
    });
  });

  it.each([
    "",
    "tasks-conformance-nonexistent-12345",
    "a".repeat(64),
    `${"a".repeat(64)}.${"0".repeat(31)}`,
    `${"A".repeat(64)}.${"0".repeat(32)}`,
    `${"a".repeat(64)}.${"0".repeat(32)}.x`,
  ])("refuses the malformed id %j", (raw) => {
    expect(parseTaskId(raw)).toBeNull();
  });
});

describe("wire shapes", () => {
  it("a 2026 CreateTaskResult body carries ttlMs and pollIntervalMs and no payload", () => {
    const task = modernTask(view({ status: "completed", result: { content: [] } }), false);
    expect(task).toMatchObject({
      taskId: ID,
      status: "completed",
      ttlMs: 60_000,
      pollIntervalMs: 1_000,
    });
    expect(task.createdAt).toBe("2026-01-01T00:00:00.000Z");
    expect(task.lastUpdatedAt).toBe("2026-01-01T00:01:00.000Z");
    for (const key of ["result", "error", "inputRequests", "ttl", "pollInterval", "requestState"]) {
      expect(task).not.toHaveProperty(key);
    }
  });

  it("a 2026 DetailedTask inlines the payload of its own status only", () => {
    const result = { content: [{ type: "text", text: "ok" }] };
    const error = { code: -32603, message: "boom" };
    const inputRequests = { q: { method: "elicitation/create", params: {} } };
    expect(modernTask(view({ status: "completed", result }), true).result).toEqual(result);
    expect(modernTask(view({ status: "failed", error }), true).error).toEqual(error);
    expect(
      modernTask(view({ status: "input_required", inputRequests }), true).inputRequests,
    ).toEqual(inputRequests);
    const working = modernTask(view({ result, error, inputRequests }), true);
    expect(working).not.toHaveProperty("result");
    expect(working).not.toHaveProperty("error");
    expect(working).not.toHaveProperty("inputRequests");
  });

  it("a 2025-11-25 Task names ttl and pollInterval and reports a tool error as failed", () => {
    const task = sessionTask(view({ status: "completed", result: { content: [], isError: true } }));
    expect(task).toMatchObject({ taskId: ID, status: "failed", ttl: 60_000, pollInterval: 1_000 });
    expect(task.statusMessage).toBe("The tool reported an error");
    expect(task).not.toHaveProperty("ttlMs");
    expect(task).not.toHaveProperty("result");
  });

  it("puts step, wake count and progress under dormouse/task in _meta", () => {
    const task = sessionTask(view({ progress: { progress: 5, total: 10 } }));
    expect(task._meta).toEqual({
      [META_TASK_DETAIL]: { tool: "wait", step: 2, wakes: 3, progress: { progress: 5, total: 10 } },
    });
  });

  it("sees the extension only as an object under clientCapabilities.extensions", () => {
    expect(declaresTasksExtension({ extensions: { "io.modelcontextprotocol/tasks": {} } })).toBe(
      true,
    );
    expect(declaresTasksExtension({ extensions: { "io.modelcontextprotocol/tasks": true } })).toBe(
      false,
    );
    expect(declaresTasksExtension({ tasks: {} })).toBe(false);
  });

  it("checks an elicitation answer's action and lets other fields through", () => {
    const schema = answerSchemaFor("elicitation/create");
    expect(v.safeParse(schema, { action: "accept", content: { a: 1 }, extra: 1 }).success).toBe(
      true,
    );
    expect(v.safeParse(schema, { action: "maybe" }).success).toBe(false);
    expect(v.safeParse(schema, { content: {} }).success).toBe(false);
  });
});

describe("timed steps", () => {
  const finished = done({ content: [{ type: "text", text: "done" }] });
  const steps = timedSteps(
    30_000,
    10_000,
    () => finished,
    (e, t) => `${e}/${t}`,
  );

  it("schedules the first step boundary and reports zero progress at the start", () => {
    expect(steps(null, 1_000)).toEqual({
      kind: "wait",
      until: 11_000,
      state: { startedAt: 1_000 },
      progress: { progress: 0, total: 30_000 },
      message: "0/30000",
    });
  });

  it("keeps the boundaries of the first step even when a step runs late", () => {
    const outcome = steps({ startedAt: 1_000 }, 13_500);
    expect(outcome).toMatchObject({ kind: "wait", until: 21_000, progress: { progress: 12_500 } });
  });

  it("finishes once the whole wait has passed, however late", () => {
    expect(steps({ startedAt: 1_000 }, 31_000)).toBe(finished);
    expect(steps({ startedAt: 1_000 }, 500_000)).toBe(finished);
  });

  it("finishes a zero-length wait in its first step", () => {
    expect(
      timedSteps(
        0,
        10_000,
        () => finished,
        () => "",
      )(null, 5),
    ).toBe(finished);
  });

  it("never steps more often than MIN_TASK_STEP_MS", () => {
    expect(
      timedSteps(
        5_000,
        1,
        () => finished,
        () => "",
      )(null, 0),
    ).toMatchObject({
      until: MIN_TASK_STEP_MS,
    });
  });
});
