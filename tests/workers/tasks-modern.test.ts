/**
 * The tasks extension (SEP-2663) on 2026-07-28 Streamable HTTP, through the
 * Worker's own fetch handler: server-directed creation, durable create,
 * tasks/get|update|cancel, gating on the declared extension, Mcp-Name, and
 * notifications/tasks on subscriptions/listen. Steps are driven by the task
 * object's real alarm (`runDurableObjectAlarm` runs a due one at once).
 */

import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  HEADER_MISMATCH,
  INVALID_PARAMS,
  METHOD_NOT_FOUND,
  MISSING_CLIENT_CAPABILITY,
} from "../../shared/errors";
import { MAX_LISTEN_TASK_IDS, WAIT_MAX_MS } from "../../shared/limits";
import { META_CLIENT_CAPABILITIES } from "../../shared/protocol";
import { META_TASK_IGNORED, parseTaskId, TASKS_EXTENSION } from "../../shared/tasks";
import { modern, modernCall, replyOf } from "../helpers/http";
import { sseOf } from "../helpers/sse";
import type { JsonObject, RpcError, RpcResponse } from "../helpers/workerd";

const WITH_TASKS = { [META_CLIENT_CAPABILITIES]: { extensions: { [TASKS_EXTENSION]: {} } } };

function taskStub(taskId: string) {
  const parsed = parseTaskId(taskId);
  if (!parsed) throw new Error(`not a task id: ${taskId}`);
  return env.TASKS.get(env.TASKS.idFromString(parsed.objectId));
}

async function startTask(name: string, args: JsonObject): Promise<string> {
  const created = await modernCall("tools/call", { name, arguments: args }, WITH_TASKS);
  expect(created.resultType).toBe("task");
  return String(created.taskId);
}

function getTask(taskId: string): Promise<JsonObject> {
  return modernCall("tasks/get", { taskId }, WITH_TASKS);
}

/** Runs the task's due alarms until it leaves `working` (bounded). */
async function settle(taskId: string): Promise<JsonObject> {
  for (let i = 0; i < 10; i += 1) {
    const task = await getTask(taskId);
    if (task.status !== "working") return task;
    await runDurableObjectAlarm(taskStub(taskId));
  }
  throw new Error(`task ${taskId} stayed working`);
}

/** The error a JSON-RPC response carries; fails when it is a result. */
function errorOf(response: RpcResponse): RpcError {
  if (!response.error) throw new Error(`expected an error, got ${JSON.stringify(response)}`);
  return response.error;
}

async function rpcError(method: string, params: JsonObject, meta: JsonObject = WITH_TASKS) {
  const { response, id } = await modern(method, params, meta);
  return { status: response.status, error: errorOf((await replyOf(response, id)).response) };
}

describe("tools/call as a task", () => {
  it("answers a flat CreateTaskResult that a tasks/get at once resolves", async () => {
    const created = await modernCall(
      "tools/call",
      { name: "sleep", arguments: { ms: 0 } },
      WITH_TASKS,
    );
    expect(created).toMatchObject({ resultType: "task", status: "working", pollIntervalMs: 250 });
    expect(created.taskId).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{32}$/);
    expect(created.ttlMs).toBeGreaterThan(0);
    for (const key of ["task", "result", "error", "inputRequests", "requestState"]) {
      expect(created).not.toHaveProperty(key);
    }
    const task = await getTask(String(created.taskId));
    expect(task).toMatchObject({ resultType: "complete", taskId: created.taskId });
  });

  it("completes a zero-length sleep in its first step and inlines the result", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    const task = await settle(taskId);
    expect(task).toMatchObject({
      status: "completed",
      result: { content: [{ type: "text", text: "slept 0 ms" }] },
    });
  });

  it("runs sleep as an ordinary call for a client without the extension", async () => {
    const result = await modernCall("tools/call", { name: "sleep", arguments: { ms: 0 } });
    expect(result).toMatchObject({ resultType: "complete", content: [{ text: "slept 0 ms" }] });
  });

  it("refuses the task-only wait with -32021 naming the extension when it is not declared", async () => {
    const { status, error } = await rpcError(
      "tools/call",
      { name: "wait", arguments: { seconds: 1 } },
      {},
    );
    expect(status).toBe(400);
    expect(error.code).toBe(MISSING_CLIENT_CAPABILITY);
    expect(error.data).toEqual({ requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } });
  });

  it("reports wait's progress and status message after each step", async () => {
    const taskId = await startTask("wait", { seconds: 30, stepSeconds: 10 });
    await runDurableObjectAlarm(taskStub(taskId));
    const task = await getTask(taskId);
    expect(task.status).toBe("working");
    expect(task.statusMessage).toMatch(/^waited 0 of 30 s/);
    expect(task._meta).toMatchObject({
      "dormouse/task": { tool: "wait", step: 1, progress: { progress: 0, total: 30_000 } },
    });
    await modernCall("tasks/cancel", { taskId }, WITH_TASKS);
  });
});

describe("tasks/update and input_required", () => {
  async function approval(): Promise<{ taskId: string; key: string }> {
    const taskId = await startTask("approve", { action: "deploy v2" });
    const task = await settle(taskId);
    expect(task.status).toBe("input_required");
    const requests = task.inputRequests as Record<string, JsonObject>;
    const [key] = Object.keys(requests);
    expect(requests[String(key)]?.method).toBe("elicitation/create");
    return { taskId, key: String(key) };
  }

  it("resumes and completes once the outstanding request is answered", async () => {
    const { taskId, key } = await approval();
    const ack = await modernCall(
      "tasks/update",
      { taskId, inputResponses: { [key]: { action: "accept", content: { approved: true } } } },
      WITH_TASKS,
    );
    expect(ack).toEqual(expect.objectContaining({ resultType: "complete" }));
    expect(ack).not.toHaveProperty("status");
    const task = await settle(taskId);
    expect(task).toMatchObject({
      status: "completed",
      result: { structuredContent: { approved: true, action: "deploy v2" } },
    });
  });

  it("refuses a malformed answer with -32602 and changes nothing", async () => {
    const { taskId, key } = await approval();
    const before = await getTask(taskId);
    const { error } = await rpcError("tasks/update", {
      taskId,
      inputResponses: { [key]: { action: "perhaps" } },
    });
    expect(error.code).toBe(INVALID_PARAMS);
    expect(error.message).toContain("nothing was applied");
    const after = await getTask(taskId);
    expect(after).toMatchObject({ status: "input_required", inputRequests: before.inputRequests });
    expect(after.lastUpdatedAt).toBe(before.lastUpdatedAt);
  });

  it("acks answers to keys it never asked for, says they were ignored, and changes nothing", async () => {
    const { taskId } = await approval();
    const before = await getTask(taskId);
    const ack = await modernCall(
      "tasks/update",
      { taskId, inputResponses: { "not-a-key": { action: "accept" } } },
      WITH_TASKS,
    );
    expect(ack._meta).toMatchObject({
      [META_TASK_IGNORED]: [{ key: "not-a-key", reason: "no such input request" }],
    });
    expect((await getTask(taskId)).lastUpdatedAt).toBe(before.lastUpdatedAt);
  });
});

describe("tasks/cancel", () => {
  it("acks with an empty result and the task settles cancelled", async () => {
    const taskId = await startTask("wait", { seconds: 60, stepSeconds: 10 });
    const ack = await modernCall("tasks/cancel", { taskId }, WITH_TASKS);
    expect(Object.keys(ack).sort()).toEqual(["_meta", "resultType"]);
    expect((await getTask(taskId)).status).toBe("cancelled");
  });

  it("acks a finished task the same way, notes it was ignored, and leaves it completed", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    await settle(taskId);
    const ack = await modernCall("tasks/cancel", { taskId }, WITH_TASKS);
    expect(ack._meta).toMatchObject({ [META_TASK_IGNORED]: [{ key: "tasks/cancel" }] });
    expect((await getTask(taskId)).status).toBe("completed");
  });
});

describe("errors", () => {
  it("answers -32021 to tasks/get, tasks/update and tasks/cancel without the extension", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    for (const method of ["tasks/get", "tasks/update", "tasks/cancel"]) {
      const { error } = await rpcError(method, { taskId, inputResponses: {} }, {});
      expect(error.code, method).toBe(MISSING_CLIENT_CAPABILITY);
    }
  });

  it("answers -32601 to tasks/result and tasks/list, which 2026-07-28 removed", async () => {
    for (const method of ["tasks/result", "tasks/list"]) {
      const { status, error } = await rpcError(method, { taskId: "x" });
      expect(status, method).toBe(404);
      expect(error.code, method).toBe(METHOD_NOT_FOUND);
    }
  });

  it("answers an unknown id and a wrong secret with the same -32602", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    const [objectId] = taskId.split(".");
    const unknown = await rpcError("tasks/get", {
      taskId: `${env.TASKS.newUniqueId().toString()}.${"0".repeat(32)}`,
    });
    const wrongSecret = await rpcError("tasks/get", { taskId: `${objectId}.${"0".repeat(32)}` });
    expect(unknown.error).toEqual(wrongSecret.error);
    expect(unknown.error).toEqual({
      code: INVALID_PARAMS,
      message: "Failed to retrieve task: Task not found",
    });
  });

  it("answers a malformed id with -32602 saying so", async () => {
    const { error } = await rpcError("tasks/get", {
      taskId: "tasks-conformance-nonexistent-12345",
    });
    expect(error.code).toBe(INVALID_PARAMS);
    expect(error.message).toMatch(/^Invalid taskId/);
  });

  it("answers 400 -32020 when Mcp-Name differs from the task id", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    const { response, id } = await modern("tasks/get", { taskId }, WITH_TASKS, {
      "Mcp-Name": "some-other-task",
    });
    expect(response.status).toBe(400);
    expect(errorOf((await replyOf(response, id)).response).code).toBe(HEADER_MISMATCH);
  });
});

describe("notifications/tasks on subscriptions/listen", () => {
  it("acknowledges the task ids, sends the current state, then every change", async () => {
    const taskId = await startTask("wait", { seconds: 30, stepSeconds: 10 });
    const { response } = await modern(
      "subscriptions/listen",
      { notifications: { taskIds: [taskId] } },
      WITH_TASKS,
    );
    expect(response.status).toBe(200);
    const stream = sseOf(response);
    try {
      const first = await stream.messages({ until: (m) => m.method === "notifications/tasks" });
      const ack = first.find((m) => m.method === "notifications/subscriptions/acknowledged");
      expect((ack?.params as JsonObject | undefined)?.notifications).toEqual({ taskIds: [taskId] });
      expect(first.at(-1)?.params).toMatchObject({ taskId, status: "working" });
      await modernCall("tasks/cancel", { taskId }, WITH_TASKS);
      const [cancelled] = await stream.messages({
        until: (m) => m.method === "notifications/tasks",
      });
      expect(cancelled?.params).toMatchObject({ taskId, status: "cancelled" });
    } finally {
      await stream.cancel();
    }
  });

  it("refuses task ids from a request without the extension with -32021", async () => {
    const { response, id } = await modern("subscriptions/listen", {
      notifications: { taskIds: ["x"] },
    });
    expect(errorOf((await replyOf(response, id)).response).code).toBe(MISSING_CLIENT_CAPABILITY);
  });

  it("leaves out of the acknowledgement ids that are not the caller's tasks", async () => {
    const taskId = await startTask("sleep", { ms: 0 });
    const [objectId] = taskId.split(".");
    const forged = `${objectId}.${"f".repeat(32)}`;
    const { response } = await modern(
      "subscriptions/listen",
      { notifications: { taskIds: [forged, "garbage"] } },
      WITH_TASKS,
    );
    const stream = sseOf(response);
    try {
      const [ack] = await stream.messages({
        until: (m) => m.method === "notifications/subscriptions/acknowledged",
      });
      expect((ack?.params as JsonObject | undefined)?.notifications).toEqual({ taskIds: [] });
    } finally {
      await stream.cancel();
    }
  });
});

describe("request bounds", () => {
  it("answers a wait longer than 24 h with an isError result (SEP-1303), creating no task", async () => {
    const result = await modernCall(
      "tools/call",
      { name: "wait", arguments: { seconds: WAIT_MAX_MS / 1000 + 1 } },
      WITH_TASKS,
    );
    expect(result).toMatchObject({ isError: true });
    expect(result.resultType).not.toBe("task");
    expect(JSON.stringify(result.content)).toMatch(/Invalid arguments for tool wait: seconds/);
  });

  it("refuses a listen stream watching more than MAX_LISTEN_TASK_IDS tasks with -32602", async () => {
    const taskIds = Array.from({ length: MAX_LISTEN_TASK_IDS + 1 }, (_, i) => `t${i}`);
    const { error } = await rpcError("subscriptions/listen", { notifications: { taskIds } });
    expect(error.code).toBe(INVALID_PARAMS);
  });
});
