/**
 * Task objects in workerd with real SQLite and real alarms: who may reach a
 * task, the per-principal cap, eviction between steps, steps interrupted by a
 * crash, expiry, a lost alarm, and the result size bound. The service is
 * called directly (as the Worker and sessions do) so two principals can be
 * compared; the engine is also built over an object's own storage with a
 * purpose-made program where no real tool can cause the fault.
 */

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  INTERNAL_ERROR,
  INVALID_PARAMS,
  JsonRpcError,
  REQUEST_TIMEOUT,
  RESULT_TOO_LARGE,
  TOO_MANY_TASKS,
} from "../../shared/errors";
import {
  MAX_LISTENERS_PER_TASK,
  MAX_TASK_ANSWER_BYTES,
  MAX_TASK_RESULT_BYTES,
  MAX_TASK_STATUS_MESSAGE_CHARS,
  MAX_TASK_STEP_ATTEMPTS,
  TASK_LIST_PAGE_SIZE,
  TASK_START_FALLBACK_MS,
} from "../../shared/limits";
import { parseTaskId, type TaskView } from "../../shared/tasks";
import { TaskStorage } from "../../worker/storage/task-storage";
import { TaskEngine } from "../../worker/tasks/task-engine";
import {
  TASK_ID_HEADER,
  TASK_LISTEN_URL,
  TASK_PRINCIPAL_HEADER,
} from "../../worker/tasks/task-object";
import {
  DurableTaskService,
  type NewTask,
  newTaskRecord,
  TASK_NOT_FOUND,
} from "../../worker/tasks/task-service";
import { defineTool, text } from "../../worker/tools/define";
import { ToolRegistry } from "../../worker/tools/registry";
import { done } from "../../worker/tools/task-steps";
import { waitFor } from "../helpers/wait";

function service(principal: string, max = 1_000) {
  return new DurableTaskService(env, principal, max);
}

function uniquePrincipal(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

function spec(tool: string, args: Record<string, unknown>, ttlMs = 3_600_000): NewTask {
  return {
    tool,
    arguments: args,
    state: null,
    message: null,
    ttlMs,
    pollIntervalMs: 1_000,
    sessionId: null,
    progressToken: null,
  };
}

function stubOf(taskId: string) {
  const parsed = parseTaskId(taskId);
  if (!parsed) throw new Error(`not a task id: ${taskId}`);
  return env.TASKS.get(env.TASKS.idFromString(parsed.objectId));
}

async function thrown(promise: Promise<unknown>): Promise<JsonRpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JsonRpcError) return error;
    throw error;
  }
  throw new Error("expected a JsonRpcError");
}

function sql(taskId: string, statement: string, ...bindings: SqlStorageValue[]): Promise<void> {
  return runInDurableObject(stubOf(taskId), (_instance, state) => {
    state.storage.sql.exec(statement, ...bindings);
  });
}

describe("who may reach a task", () => {
  it("answers another principal's get, update and cancel exactly like an unknown task", async () => {
    const alice = service(uniquePrincipal("alice"));
    const bob = service(uniquePrincipal("bob"));
    const task = await alice.create(spec("wait", { seconds: 60, stepSeconds: 10 }));
    const unknown = `${env.TASKS.newUniqueId().toString()}.${"0".repeat(32)}`;
    for (const [name, call] of [
      ["get", (s: DurableTaskService, id: string) => s.get(id)],
      ["update", (s: DurableTaskService, id: string) => s.update(id, { a: { action: "accept" } })],
      ["cancel", (s: DurableTaskService, id: string) => s.cancel(id, "x")],
    ] as const) {
      const foreign = await thrown(call(bob, task.taskId));
      const missing = await thrown(call(bob, unknown));
      expect([foreign.code, foreign.message], name).toEqual([INVALID_PARAMS, TASK_NOT_FOUND]);
      expect([missing.code, missing.message], name).toEqual([INVALID_PARAMS, TASK_NOT_FOUND]);
    }
    expect((await alice.get(task.taskId)).status).toBe("working");
    expect((await bob.list(null)).tasks).toEqual([]);
    await alice.cancel(task.taskId, "done");
  });

  it("refuses another principal's listener socket with the same 404 as a wrong secret", async () => {
    const owner = uniquePrincipal("owner");
    const task = await service(owner).create(spec("wait", { seconds: 60, stepSeconds: 10 }));
    const listen = (taskId: string, principal: string) =>
      stubOf(task.taskId).fetch(TASK_LISTEN_URL, {
        headers: {
          Upgrade: "websocket",
          [TASK_ID_HEADER]: taskId,
          [TASK_PRINCIPAL_HEADER]: principal,
        },
      });
    const foreign = await listen(task.taskId, uniquePrincipal("intruder"));
    const forged = await listen(`${task.taskId.slice(0, 65)}${"0".repeat(32)}`, owner);
    expect([foreign.status, await foreign.text()]).toEqual([404, "Unknown task\n"]);
    expect([forged.status, await forged.text()]).toEqual([404, "Unknown task\n"]);
    const own = await listen(task.taskId, owner);
    expect(own.status).toBe(101);
    own.webSocket?.accept();
    own.webSocket?.close();
  });

  it("mints ids with a different 128-bit secret every time", async () => {
    const tasks = service(uniquePrincipal("ids"));
    const ids = await Promise.all(
      [1, 2, 3].map(() => tasks.create(spec("sleep", { ms: 0 })).then((t) => t.taskId)),
    );
    const secrets = ids.map((id) => parseTaskId(id)?.secret);
    expect(new Set(secrets).size).toBe(3);
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("the per-principal cap", () => {
  it("refuses one task more than the cap with -32009 and frees the slot when a task is deleted", async () => {
    const principal = uniquePrincipal("capped");
    const tasks = service(principal, 2);
    const first = await tasks.create(spec("sleep", { ms: 0 }));
    await tasks.create(spec("sleep", { ms: 0 }));
    const refused = await thrown(tasks.create(spec("sleep", { ms: 0 })));
    expect(refused.code).toBe(TOO_MANY_TASKS);
    expect(refused.message).toMatch(/already holds 2/);
    await runDurableObjectAlarm(stubOf(first.taskId));
    await sql(first.taskId, "UPDATE task SET expires_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(stubOf(first.taskId));
    await expect(tasks.get(first.taskId)).rejects.toThrow(TASK_NOT_FOUND);
    expect((await tasks.create(spec("sleep", { ms: 0 }))).status).toBe("working");
  });

  it("holds a new task's first step until it is handed out, so a task refused at the cap never acts", async () => {
    const principal = uniquePrincipal("unstarted");
    const id = env.TASKS.newUniqueId();
    const stub = env.TASKS.get(id);
    const alarmOf = () => runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    const before = Date.now();
    // The first half of a creation, as DurableTaskService writes it beside the slot.
    await stub.create(
      newTaskRecord(id.toString(), principal, spec("approve", { action: "x" }), before),
    );
    expect(await alarmOf()).toBeGreaterThanOrEqual(before + TASK_START_FALLBACK_MS);
    // Refused at the cap: discarded before its first step could ask anyone anything.
    await stub.discard();
    expect(await alarmOf()).toBeNull();

    // A task handed out runs its first step at once.
    const task = await service(uniquePrincipal("started")).create(spec("approve", { action: "y" }));
    expect(
      await runInDurableObject(stubOf(task.taskId), (_i, state) => state.storage.getAlarm()),
    ).toBeLessThanOrEqual(Date.now());
  });

  it("starts a task whose start was lost after TASK_START_FALLBACK_MS", async () => {
    const id = env.TASKS.newUniqueId();
    const stub = env.TASKS.get(id);
    const createdAt = Date.now() - TASK_START_FALLBACK_MS;
    await stub.create(
      newTaskRecord(id.toString(), "p", spec("approve", { action: "z" }), createdAt),
    );
    // The alarm is due now: it may already have fired by itself.
    await runDurableObjectAlarm(stub);
    await waitFor(
      () =>
        runInDurableObject(
          stub,
          (_i, state) => new TaskStorage(state.storage).read()?.status === "input_required",
        ),
      { timeoutMs: 5_000, what: "the unstarted task's first step" },
    );
  });
});

describe("waiting costs nothing", () => {
  it("keeps an input_required task across an eviction and finishes it when answered", async () => {
    const tasks = service(uniquePrincipal("evict"));
    const task = await tasks.create(spec("approve", { action: "pay invoice" }));
    await runDurableObjectAlarm(stubOf(task.taskId));
    const asked = await tasks.get(task.taskId);
    expect(asked.status).toBe("input_required");
    await evictDurableObject(stubOf(task.taskId));
    await tasks.update(task.taskId, {
      approval: { action: "accept", content: { approved: true } },
    });
    await runDurableObjectAlarm(stubOf(task.taskId));
    const finished = await tasks.get(task.taskId);
    expect(finished.status).toBe("completed");
    expect(finished.wakes).toBeGreaterThan(asked.wakes);
    expect(finished.result?.structuredContent).toMatchObject({ approved: true });
  });

  it("holds exactly one alarm, at the next step, between steps of a wait", async () => {
    const tasks = service(uniquePrincipal("alarm"));
    const task = await tasks.create(spec("wait", { seconds: 30, stepSeconds: 10 }));
    await runDurableObjectAlarm(stubOf(task.taskId));
    const alarm = await runInDurableObject(stubOf(task.taskId), (_i, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBeGreaterThan(task.createdAt + 9_000);
    expect(alarm).toBeLessThanOrEqual(task.createdAt + 10_500);
    await tasks.cancel(task.taskId, "done");
  });
});

describe("work interrupted by a crash", () => {
  it("fails a step that started MAX_TASK_STEP_ATTEMPTS times without finishing, saying so", async () => {
    const tasks = service(uniquePrincipal("crashy"));
    const task = await tasks.create(spec("wait", { seconds: 30, stepSeconds: 10 }));
    await sql(task.taskId, "UPDATE task SET attempts = ?", MAX_TASK_STEP_ATTEMPTS);
    await runDurableObjectAlarm(stubOf(task.taskId));
    const failed = await tasks.get(task.taskId);
    expect(failed.status).toBe("failed");
    expect(failed.statusMessage).toMatch(/^Interrupted: step 1 started 3 times without finishing/);
    expect(failed.error?.code).toBe(INTERNAL_ERROR);
  });

  it("fails a non-resumable step that was interrupted once, and never runs it again", async () => {
    let runs = 0;
    const once = defineTool({
      name: "once",
      description: "A step with a side effect that must not repeat.",
      input: v.object({}),
      run: () => text("sync"),
      task: {
        support: "required",
        resumable: false,
        ttlMs: () => 60_000,
        step: () => {
          runs += 1;
          return done(text("ran"));
        },
      },
    });
    const view = await engineRun(once, (record) => ({ ...record, attempts: 1 }));
    expect(runs).toBe(0);
    expect(view.status).toBe("failed");
    expect(view.statusMessage).toMatch(/cannot be repeated safely/);
  });

  it("fails a task whose tool is no longer served", async () => {
    const tasks = service(uniquePrincipal("gone"));
    const task = await tasks.create(spec("sleep", { ms: 0 }));
    await sql(task.taskId, "UPDATE task SET tool = 'removed_tool'");
    await runDurableObjectAlarm(stubOf(task.taskId));
    expect((await tasks.get(task.taskId)).statusMessage).toMatch(/no longer served/);
  });
});

describe("bounds and expiry", () => {
  it("fails a task whose result is larger than MAX_TASK_RESULT_BYTES with -32008", async () => {
    const big = defineTool({
      name: "big",
      description: "Returns more than a task may store.",
      input: v.object({}),
      run: () => text("sync"),
      task: {
        support: "required",
        ttlMs: () => 60_000,
        step: () => done(text("x".repeat(MAX_TASK_RESULT_BYTES + 1))),
      },
    });
    const view = await engineRun(big, (record) => record);
    expect(view.status).toBe("failed");
    expect(view.error?.code).toBe(RESULT_TOO_LARGE);
    expect(view.result).toBeNull();
  });

  it("marks a task still working at its TTL failed with the reason, then deletes it after the grace period", async () => {
    const tasks = service(uniquePrincipal("ttl"));
    const task = await tasks.create(spec("wait", { seconds: 600, stepSeconds: 60 }));
    await sql(task.taskId, "UPDATE task SET expires_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(stubOf(task.taskId));
    const expired = await tasks.get(task.taskId);
    expect(expired.status).toBe("failed");
    expect(expired.statusMessage).toMatch(/^Expired/);
    expect(expired.error?.code).toBe(REQUEST_TIMEOUT);
    await sql(task.taskId, "UPDATE task SET expires_at = ?", Date.now() - 1);
    await runDurableObjectAlarm(stubOf(task.taskId));
    await expect(tasks.get(task.taskId)).rejects.toThrow(TASK_NOT_FOUND);
  });

  it("puts back the alarm of a working task that lost it, at the next read", async () => {
    const tasks = service(uniquePrincipal("healed"));
    const task = await tasks.create(spec("wait", { seconds: 30, stepSeconds: 10 }));
    await runInDurableObject(stubOf(task.taskId), (_i, state) => state.storage.deleteAlarm());
    await tasks.get(task.taskId);
    const alarm = await runInDurableObject(stubOf(task.taskId), (_i, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).not.toBeNull();
    await tasks.cancel(task.taskId, "done");
  });

  it("refuses arguments larger than a task may store with -32602", async () => {
    const refused = await thrown(
      service(uniquePrincipal("args")).create(spec("approve", { action: "x".repeat(70_000) })),
    );
    expect(refused.code).toBe(INVALID_PARAMS);
    expect(refused.message).toMatch(/a task may store at most 65536/);
  });
});

/**
 * Runs one step of `tool`'s program in a fresh task object, through a
 * TaskEngine over that object's own storage, after `prepare` shaped the record.
 */
async function engineRun(
  tool: ReturnType<typeof defineTool>,
  prepare: (record: ReturnType<typeof newTaskRecord>) => ReturnType<typeof newTaskRecord>,
): Promise<TaskView> {
  const registry = new ToolRegistry([{ name: "test", tools: [tool], resources: [], prompts: [] }]);
  const id = env.TASKS.newUniqueId();
  return runInDurableObject(env.TASKS.get(id), async (_instance, state) => {
    const storage = new TaskStorage(state.storage);
    const engine = new TaskEngine({
      storage,
      registry,
      publish: () => {},
      releaseSlot: async () => {},
      closeListeners: () => {},
    });
    const record = prepare(newTaskRecord(id.toString(), "p", spec(tool.name, {}), Date.now()));
    engine.create(record);
    await engine.onAlarm();
    const stored = storage.read();
    if (!stored) throw new Error("task vanished");
    return stored;
  });
}

describe("the other task bounds", () => {
  it("pages tasks/list by 50, newest first, and refuses a cursor it did not issue", async () => {
    const tasks = service(uniquePrincipal("pages"));
    const created: string[] = [];
    for (let i = 0; i < TASK_LIST_PAGE_SIZE + 5; i += 1) {
      created.push((await tasks.create(spec("sleep", { ms: 0 }))).taskId);
    }
    const first = await tasks.list(null);
    expect(first.tasks).toHaveLength(TASK_LIST_PAGE_SIZE);
    expect(first.nextCursor).not.toBeNull();
    const second = await tasks.list(first.nextCursor);
    expect(second.tasks).toHaveLength(5);
    expect(second.nextCursor).toBeNull();
    const listed = [...first.tasks, ...second.tasks].map((task) => task.taskId);
    expect(new Set(listed)).toEqual(new Set(created));
    const refused = await thrown(tasks.list("not-a-cursor"));
    expect([refused.code, refused.message]).toEqual([
      INVALID_PARAMS,
      "Invalid cursor: not-a-cursor",
    ]);
  });

  it("refuses a tasks/update larger than MAX_TASK_ANSWER_BYTES with -32602 and applies nothing", async () => {
    const tasks = service(uniquePrincipal("answers"));
    const task = await tasks.create(spec("approve", { action: "big answer" }));
    await runDurableObjectAlarm(stubOf(task.taskId));
    const refused = await thrown(
      tasks.update(task.taskId, {
        approval: { action: "accept", content: { note: "x".repeat(MAX_TASK_ANSWER_BYTES) } },
      }),
    );
    expect(refused.code).toBe(INVALID_PARAMS);
    expect(refused.message).toMatch(/at most 65536 are accepted/);
    expect((await tasks.get(task.taskId)).status).toBe("input_required");
  });

  it("cuts a status message longer than MAX_TASK_STATUS_MESSAGE_CHARS", async () => {
    const chatty = defineTool({
      name: "chatty",
      description: "Says too much.",
      input: v.object({}),
      run: () => text("sync"),
      task: {
        support: "required",
        ttlMs: () => 60_000,
        step: () => done(text("ok"), "m".repeat(MAX_TASK_STATUS_MESSAGE_CHARS * 2)),
      },
    });
    const view = await engineRun(chatty, (record) => record);
    expect(view.statusMessage).toHaveLength(MAX_TASK_STATUS_MESSAGE_CHARS);
    expect(view.statusMessage?.endsWith("…")).toBe(true);
  });

  it("leaves a task out of a listen acknowledgement once MAX_LISTENERS_PER_TASK streams watch it", async () => {
    const owner = uniquePrincipal("watched");
    const task = await service(owner).create(spec("wait", { seconds: 60, stepSeconds: 10 }));
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_LISTENERS_PER_TASK; i += 1) {
        const response = await stubOf(task.taskId).fetch(TASK_LISTEN_URL, {
          headers: {
            Upgrade: "websocket",
            [TASK_ID_HEADER]: task.taskId,
            [TASK_PRINCIPAL_HEADER]: owner,
          },
        });
        expect(response.status).toBe(101);
        response.webSocket?.accept();
        if (response.webSocket) sockets.push(response.webSocket);
      }
      const refused = await stubOf(task.taskId).fetch(TASK_LISTEN_URL, {
        headers: {
          Upgrade: "websocket",
          [TASK_ID_HEADER]: task.taskId,
          [TASK_PRINCIPAL_HEADER]: owner,
        },
      });
      expect(refused.status).toBe(503);
    } finally {
      for (const ws of sockets) ws.close();
    }
  });
});
