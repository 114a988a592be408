/**
 * The 2025-11-25 experimental tasks on session-era sessions (WebSocket and
 * Streamable HTTP): `params.task` on tools/call, `execution.taskSupport`,
 * tasks/get|result|list|cancel, notifications/tasks/status and progress on
 * the socket, and an `input_required` task answered through a real
 * elicitation/create tagged with its related task, including after the
 * session object was evicted.
 */

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  REQUEST_CANCELLED,
} from "../../shared/errors";
import { MAX_TASK_WAITERS_PER_SESSION } from "../../shared/limits";
import { META_RELATED_TASK, parseTaskId } from "../../shared/tasks";
import { tableSpec } from "../../worker/storage/schema";
import {
  deleteSession,
  freshId,
  initializeHttp,
  replyOf,
  requestHttp,
  sessionPost,
} from "../helpers/http";
import { sseOf } from "../helpers/sse";
import { waitFor } from "../helpers/wait";
import {
  type Client,
  connect,
  delay,
  expectError,
  expectResult,
  isObject,
  type JsonObject,
  sessionStub,
} from "../helpers/workerd";

const TASK_CAPABILITIES = { elicitation: {}, tasks: {} };

function taskStub(taskId: string) {
  const parsed = parseTaskId(taskId);
  if (!parsed) throw new Error(`not a task id: ${taskId}`);
  return env.TASKS.get(env.TASKS.idFromString(parsed.objectId));
}

async function ready(): Promise<Client> {
  const client = await connect();
  const init = await client.initialize({ capabilities: TASK_CAPABILITIES });
  expect(init.capabilities).toMatchObject({
    tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
  });
  return client;
}

async function startTask(client: Client, name: string, args: JsonObject, ttl?: number) {
  const created = await client.call("tools/call", {
    name,
    arguments: args,
    task: ttl === undefined ? {} : { ttl },
  });
  const task = created.task as JsonObject;
  expect(task).toMatchObject({ status: "working" });
  return String(task.taskId);
}

function isElicitation(frame: unknown): frame is JsonObject {
  return isObject(frame) && frame.method === "elicitation/create" && "id" in frame;
}

describe("tools/call with params.task", () => {
  it("answers { task } with the requested ttl and the pollInterval", async () => {
    const client = await ready();
    const created = await client.call("tools/call", {
      name: "sleep",
      arguments: { ms: 0 },
      task: { ttl: 90_000 },
    });
    expect(created.task).toMatchObject({ status: "working", ttl: 90_000, pollInterval: 250 });
    expect(created).not.toHaveProperty("resultType");
  });

  it("refuses params.task on a tool without task support with -32601", async () => {
    const client = await ready();
    const response = await client.request("tools/call", {
      name: "echo",
      arguments: { text: "x" },
      task: {},
    });
    expectError(response, METHOD_NOT_FOUND, /does not support task execution/);
  });

  it("refuses the task-only wait without params.task with -32601", async () => {
    const client = await ready();
    const response = await client.request("tools/call", {
      name: "wait",
      arguments: { seconds: 1 },
    });
    expectError(response, METHOD_NOT_FOUND, /runs only as a task/);
  });

  it("pushes notifications/tasks/status and notifications/progress on the socket after a step", async () => {
    const client = await ready();
    const created = await client.call("tools/call", {
      name: "sleep",
      arguments: { ms: 1_500 },
      task: {},
      _meta: { progressToken: "tok-task" },
    });
    const taskId = String((created.task as JsonObject).taskId);
    await runDurableObjectAlarm(taskStub(taskId));
    const status = await client.nextNotification("notifications/tasks/status");
    expect(status.params).toMatchObject({ taskId, status: "working" });
    const progress = await client.nextNotification("notifications/progress");
    expect(progress.params).toEqual({
      progressToken: "tok-task",
      progress: 0,
      total: 1_500,
      message: "slept 0 of 1500 ms",
    });
    await client.call("tasks/cancel", { taskId });
  });

  it("returns the finished task's result from tasks/result, tagged with its task", async () => {
    const client = await ready();
    const taskId = await startTask(client, "sleep", { ms: 0 });
    await runDurableObjectAlarm(taskStub(taskId));
    const status = await client.nextNotification("notifications/tasks/status");
    expect(status.params).toMatchObject({ taskId, status: "completed" });
    const result = await client.call("tasks/result", { taskId });
    expect(result).toMatchObject({
      content: [{ type: "text", text: "slept 0 ms" }],
      _meta: { [META_RELATED_TASK]: { taskId } },
    });
  });
});

describe("tasks/get, tasks/list and tasks/cancel", () => {
  it("lists a task of the session with its status", async () => {
    const client = await ready();
    const taskId = await startTask(client, "wait", { seconds: 60, stepSeconds: 10 });
    const { tasks } = await client.call("tasks/list");
    const listed = (tasks as JsonObject[]).find((task) => task.taskId === taskId);
    expect(listed).toMatchObject({ status: "working", ttl: expect.any(Number) });
    await client.call("tasks/cancel", { taskId });
  });

  it("returns the cancelled task from tasks/cancel and refuses a second cancel with -32602", async () => {
    const client = await ready();
    const taskId = await startTask(client, "wait", { seconds: 60, stepSeconds: 10 });
    const cancelled = await client.call("tasks/cancel", { taskId });
    expect(cancelled).toMatchObject({ taskId, status: "cancelled" });
    const again = await client.request("tasks/cancel", { taskId });
    expectError(
      again,
      INVALID_PARAMS,
      "Cannot cancel task: already in terminal status 'cancelled'",
    );
    expect((await client.call("tasks/get", { taskId })).status).toBe("cancelled");
  });

  it("answers tasks/update, which 2025-11-25 does not have, with -32601", async () => {
    const client = await ready();
    expectError(
      await client.request("tasks/update", { taskId: "x", inputResponses: {} }),
      METHOD_NOT_FOUND,
    );
  });
});

describe("input_required through elicitation", () => {
  it("sends the task's elicitation with related-task _meta and completes with the answer", async () => {
    const client = await ready();
    const taskId = await startTask(client, "approve", { action: "rotate keys" });
    await runDurableObjectAlarm(taskStub(taskId));
    const ask = (await client.nextMessage(isElicitation, "the task's elicitation")) as JsonObject;
    expect((ask.params as JsonObject)._meta).toEqual({ [META_RELATED_TASK]: { taskId } });
    expect((await client.call("tasks/get", { taskId })).status).toBe("input_required");
    client.sendJson({
      jsonrpc: "2.0",
      id: ask.id,
      result: { action: "accept", content: { approved: true } },
    });
    await client.nextNotification("notifications/tasks/status");
    await runDurableObjectAlarm(taskStub(taskId));
    const result = await client.call("tasks/result", { taskId });
    expect(result.structuredContent).toEqual({ approved: true, action: "rotate keys" });
  });

  it("repeats the task's elicitation on each tasks/result under the id it was first sent with: one row per input, however often asked", async () => {
    const client = await ready();
    const taskId = await startTask(client, "approve", { action: "rotate keys" });
    await runDurableObjectAlarm(taskStub(taskId));
    const first = (await client.nextMessage(isElicitation, "the task's elicitation")) as JsonObject;
    for (const id of ["result-1", "result-2", "result-3"]) {
      client.sendJson({ jsonrpc: "2.0", id, method: "tasks/result", params: { taskId } });
      const again = (await client.nextMessage(
        isElicitation,
        "the repeated elicitation",
      )) as JsonObject;
      expect(again.id).toBe(first.id);
      client.notify("notifications/cancelled", { requestId: id });
    }
    const rows = await runInDurableObject(sessionStub(client.sessionId), (_instance, state) =>
      state.storage.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_input WHERE task_id = ?", taskId)
        .one(),
    );
    expect(rows.n).toBe(1);
    client.sendJson({
      jsonrpc: "2.0",
      id: first.id,
      result: { action: "accept", content: { approved: true } },
    });
    await client.nextNotification("notifications/tasks/status");
    // Answered: the link goes, so the same answer sent again reaches nothing.
    await waitFor(
      () =>
        runInDurableObject(
          sessionStub(client.sessionId),
          (_instance, state) =>
            state.storage.sql
              .exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_input WHERE task_id = ?", taskId)
              .one().n === 0 || undefined,
        ),
      { timeoutMs: 5_000, what: "the answered input's link to go" },
    );
    await runDurableObjectAlarm(taskStub(taskId));
    const result = await client.call("tasks/result", { taskId });
    expect(result.structuredContent).toEqual({ approved: true, action: "rotate keys" });
  });

  it("answers a waiting tasks/result after the session object was evicted", async () => {
    const client = await ready();
    const taskId = await startTask(client, "approve", { action: "drop table" });
    await runDurableObjectAlarm(taskStub(taskId));
    const ask = (await client.nextMessage(isElicitation, "the task's elicitation")) as JsonObject;
    const waitingId = "waiting-result";
    client.sendJson({ jsonrpc: "2.0", id: waitingId, method: "tasks/result", params: { taskId } });
    // tasks/result re-offers the open input request on its own behalf.
    await client.nextMessage(isElicitation, "the elicitation re-sent for tasks/result");
    await evictDurableObject(sessionStub(client.sessionId), { webSockets: "hibernate" });
    client.sendJson({
      jsonrpc: "2.0",
      id: ask.id,
      result: { action: "decline" },
    });
    await client.nextNotification("notifications/tasks/status");
    await runDurableObjectAlarm(taskStub(taskId));
    const reply = await client.nextResponse(waitingId);
    expect(expectResult(reply)).toMatchObject({
      structuredContent: { approved: false },
      _meta: { [META_RELATED_TASK]: { taskId } },
    });
  });
});

describe("over Streamable HTTP", () => {
  it("streams the elicitation on a waiting tasks/result and answers it when the task ends", async () => {
    const sessionId = await initializeHttp({ capabilities: TASK_CAPABILITIES });
    const created = expectResult(
      await requestHttp(sessionId, "tools/call", {
        name: "approve",
        arguments: { action: "merge" },
        task: {},
      }),
    );
    const taskId = String((created.task as JsonObject).taskId);
    await runDurableObjectAlarm(taskStub(taskId));
    const resultId = freshId();
    const response = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      id: resultId,
      method: "tasks/result",
      params: { taskId },
    });
    expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const stream = sseOf(response);
    try {
      const [ask] = await stream.messages({ until: (m) => m.method === "elicitation/create" });
      const answered = await sessionPost(sessionId, {
        jsonrpc: "2.0",
        id: ask?.id,
        result: { action: "accept", content: { approved: true } },
      });
      expect(answered.status).toBe(202);
      await runDurableObjectAlarm(taskStub(taskId));
      const messages = await stream.messages({ until: (m) => m.id === resultId });
      const reply = messages.at(-1) as JsonObject;
      expect(reply.result).toMatchObject({ structuredContent: { approved: true } });
      expect(messages.some((m) => m.method === "notifications/tasks/status")).toBe(true);
    } finally {
      await stream.cancel();
    }
  });

  it("answers tasks/result for a finished task as plain JSON", async () => {
    const sessionId = await initializeHttp({ capabilities: TASK_CAPABILITIES });
    const created = expectResult(
      await requestHttp(sessionId, "tools/call", {
        name: "sleep",
        arguments: { ms: 0 },
        task: {},
      }),
    );
    const taskId = String((created.task as JsonObject).taskId);
    await runDurableObjectAlarm(taskStub(taskId));
    const id = freshId();
    const response = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      id,
      method: "tasks/result",
      params: { taskId },
    });
    const { response: reply, contentType } = await replyOf(response, id);
    expect(contentType).toMatch(/^application\/json/);
    expect(expectResult(reply).content).toEqual([{ type: "text", text: "slept 0 ms" }]);
  });
});

describe("bounds", () => {
  it("refuses one tasks/result more than MAX_TASK_WAITERS_PER_SESSION waiting at once with -32600", async () => {
    const client = await ready();
    const taskId = await startTask(client, "wait", { seconds: 600, stepSeconds: 60 });
    for (let i = 0; i < MAX_TASK_WAITERS_PER_SESSION; i += 1) {
      client.sendJson({
        jsonrpc: "2.0",
        id: `wait-${i}`,
        method: "tasks/result",
        params: { taskId },
      });
    }
    // The waiters are parked; a quick call proves they are all in before the next one.
    await client.call("tasks/get", { taskId });
    const refused = await client.request("tasks/result", { taskId });
    expectError(refused, INVALID_REQUEST, /Too many tasks\/result requests waiting/);
    await client.call("tasks/cancel", { taskId });
    const answered = await client.nextResponse("wait-0");
    expect(answered.error?.code).toBe(REQUEST_CANCELLED);
  });
});

describe("a task past its TTL", () => {
  it("still counts against its principal's bound, and is listed, while it is kept in its grace", async () => {
    const client = await ready();
    const taskId = await startTask(client, "wait", { seconds: 600, stepSeconds: 60 }, 1_000);
    await delay(1_300);
    await runDurableObjectAlarm(taskStub(taskId));
    // Unfinished at its TTL: kept readable as failed for the grace, so it holds its slot too.
    expect((await client.call("tasks/get", { taskId })).status).toBe("failed");
    const listed = await client.call("tasks/list");
    expect((listed.tasks as JsonObject[]).map((task) => task.taskId)).toContain(taskId);
  });
});

describe("a task outliving its session", () => {
  it("goes on after its session is deleted, can be read from a new session, and stops telling the old one", async () => {
    const sessionId = await initializeHttp({ capabilities: TASK_CAPABILITIES });
    const created = expectResult(
      await requestHttp(sessionId, "tools/call", {
        name: "sleep",
        arguments: { ms: 0 },
        task: {},
      }),
    );
    const taskId = String((created.task as JsonObject).taskId);
    expect((await deleteSession(sessionId)).status).toBe(204);
    await runDurableObjectAlarm(taskStub(taskId));
    const later = await initializeHttp({ capabilities: TASK_CAPABILITIES });
    const task = expectResult(await requestHttp(later, "tasks/get", { taskId }));
    expect(task.status).toBe("completed");
    await waitUntil(async () =>
      runInDurableObject(
        taskStub(taskId),
        (_i, state) =>
          state.storage.sql.exec<{ s: string | null }>("SELECT session_id AS s FROM task").one()
            .s === null,
      ),
    );
  });
});

async function waitUntil(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not reached in 1 s");
}

describe("a tasks/result whose task's news never reached the session", () => {
  it("is answered when a socket attaches: the session asks the task where it stands", async () => {
    const first = await ready();
    const taskId = await startTask(first, "sleep", { ms: 0 });
    await waitFor(
      async () => {
        const view = await first.call("tasks/get", { taskId });
        return view.status === "completed" || undefined;
      },
      { timeoutMs: 5_000, what: "the task's completion" },
    );
    // What a crash between the task's last write and its call to the session leaves:
    // a tasks/result parked on the socket before the task ended, and no news of the end.
    await runInDurableObject(sessionStub(first.sessionId), (_instance, state) => {
      state.storage.sql.exec(tableSpec("task_waiter").ddl);
      state.storage.sql.exec(
        "INSERT INTO task_waiter (request_key, request_id, task_id, created_at) VALUES (?, ?, ?, ?)",
        '"lost-news"',
        '"lost-news"',
        taskId,
        Date.now(),
      );
    });
    // The crash: the object goes, and its sockets with it.
    await evictDurableObject(sessionStub(first.sessionId), { webSockets: "close" });
    const second = await connect(first.sessionId, first.numbered());
    const reply = await second.nextResponse("lost-news", 5_000);
    expect(expectResult(reply)).toMatchObject({ content: [{ type: "text" }] });
    // Answered once: the waiter is gone.
    const left = await runInDurableObject(sessionStub(first.sessionId), (_instance, state) =>
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM task_waiter").one(),
    );
    expect(left.n).toBe(0);
  });
});
