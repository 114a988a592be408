/**
 * Durable tasks end to end against real `wrangler dev` processes, with
 * independent clients: the v1 SDK 1.32 Client's experimental tasks API
 * (2025-11-25) over WebSocket and Streamable HTTP, the v2 SDK client and raw
 * Streamable HTTP requests in 2026-07-28 (the v2 client has no tasks
 * extension API, so tasks/* go raw there), and subscriptions/listen.
 *
 * Durability is real: objects are evicted by local workerd after 10 s idle
 * (so tests stay silent for IDLE_FOR_EVICTION_MS), and the whole gateway
 * process group is SIGKILLed and restarted on the same state. Waits are
 * bounded; the long tests run concurrently to pay their minutes once.
 *
 * Security runs on a gateway with two authenticated principals.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Client as V2Client,
  StreamableHTTPClientTransport as V2Transport,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INVALID_PARAMS } from "../../shared/errors";
import { LATEST_SESSION_ERA_VERSION } from "../../shared/protocol";
import { META_RELATED_TASK, META_TASK_DETAIL, TASKS_EXTENSION } from "../../shared/tasks";
import { type Gateway, startGateway } from "../helpers/process";
import { RpcSocket, type WireMessage } from "../helpers/rpc-socket";
import { sseOf } from "../helpers/sse";
import { startAll } from "../helpers/start-all";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const MODERN_VERSION = "2026-07-28";
const CLIENT_INFO = { name: "dormouse-e2e-tasks", version: "1.0.0" };
/** Local eviction happens after 10 s idle; leave margin for a loaded machine. */
const IDLE_FOR_EVICTION_MS = 12_500;
const REQUEST_TIMEOUT_MS = 15_000;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const TOKENS = { alice: randomBytes(24).toString("hex"), bob: randomBytes(24).toString("hex") };

let gateway: Gateway;
let secured: Gateway;

beforeAll(async () => {
  [gateway, secured] = await startAll([
    startGateway(),
    startGateway({
      vars: {
        AUTH_TOKEN_HASHES: Object.entries(TOKENS)
          .map(([who, token]) => `${who}:${sha256(token)}`)
          .join(","),
      },
    }),
  ] as const);
}, 120_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), secured?.stop()]);
});

// ---------------------------------------------------------------------------
// Raw 2026-07-28 requests.

type Json = Record<string, unknown>;

interface Raw {
  status: number;
  text: string;
  body: Json;
}

const NAME_FIELD: Record<string, string> = {
  "tools/call": "name",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

/** One 2026-07-28 request with its headers and envelope, declaring the tasks extension. */
async function modern(
  target: Gateway,
  method: string,
  params: Json,
  options: { token?: string; extension?: boolean; id?: number } = {},
): Promise<Raw> {
  const field = NAME_FIELD[method];
  const name = field ? params[field] : undefined;
  const response = await fetch(`${target.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": MODERN_VERSION,
      "Mcp-Method": method,
      ...(typeof name === "string" ? { "Mcp-Name": name } : {}),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: options.id ?? 1,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
          "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
          "io.modelcontextprotocol/clientCapabilities":
            options.extension === false ? {} : { extensions: { [TASKS_EXTENSION]: {} } },
        },
      },
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Json };
}

async function modernResult(target: Gateway, method: string, params: Json, token?: string) {
  const raw = await modern(target, method, params, token ? { token } : {});
  if (!raw.body.result) throw new Error(`${method} failed: ${raw.text}`);
  return raw.body.result as Json;
}

async function createModern(target: Gateway, tool: string, args: Json, token?: string) {
  const created = await modernResult(target, "tools/call", { name: tool, arguments: args }, token);
  expect(created.resultType).toBe("task");
  return String(created.taskId);
}

function getModern(target: Gateway, taskId: string, token?: string): Promise<Json> {
  return modernResult(target, "tasks/get", { taskId }, token);
}

async function settled(target: Gateway, taskId: string, timeoutMs: number, token?: string) {
  return waitFor(
    async () => {
      const task = await getModern(target, taskId, token);
      return ["completed", "failed", "cancelled"].includes(String(task.status)) ? task : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `task ${taskId.slice(0, 8)} to end` },
  );
}

function wakesOf(task: Json): number {
  return Number(((task._meta as Json)[META_TASK_DETAIL] as Json).wakes);
}

/** A subscriptions/listen stream watching `taskIds`; returns the reader. */
async function listen(target: Gateway, taskIds: string[]) {
  const response = await fetch(`${target.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": MODERN_VERSION,
      "Mcp-Method": "subscriptions/listen",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: "listen",
      method: "subscriptions/listen",
      params: {
        notifications: { taskIds },
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
          "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS_EXTENSION]: {} } },
        },
      },
    }),
  });
  expect(response.status).toBe(200);
  return sseOf(response);
}

// ---------------------------------------------------------------------------
// v1 SDK clients (2025-11-25).

async function v1Client(
  target: Gateway,
  transport: "websocket" | "http",
  onElicit?: () => Json,
): Promise<Client> {
  const client = new Client(CLIENT_INFO, {
    capabilities: { tasks: { list: {}, cancel: {} }, ...(onElicit ? { elicitation: {} } : {}) },
  });
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, async () => onElicit() as never);
  const wire =
    transport === "websocket"
      ? new WebSocketClientTransport(new URL(`${target.wsUrl}/ws`))
      : new StreamableHTTPClientTransport(new URL(`${target.url}/mcp`));
  await withTimeout(client.connect(wire), REQUEST_TIMEOUT_MS, "the v1 client to connect");
  await client.listTools();
  return client;
}

/** Starts a task-augmented tools/call and returns the task id (no polling). */
async function startV1(client: Client, name: string, args: Json, ttl = 600_000): Promise<string> {
  const created = await client.request(
    { method: "tools/call", params: { name, arguments: args, task: { ttl } } },
    CreateTaskResultSchema,
  );
  expect(created.task.status).toBe("working");
  return created.task.taskId;
}

async function drain(client: Client, name: string, args: Json) {
  const messages: { type: string; status?: string; result?: unknown; error?: unknown }[] = [];
  const stream = client.experimental.tasks.callToolStream(
    { name, arguments: args },
    CallToolResultSchema,
    { timeout: REQUEST_TIMEOUT_MS },
  );
  for await (const message of stream) {
    messages.push({
      type: message.type,
      ...("task" in message ? { status: message.task.status } : {}),
      ...("result" in message ? { result: message.result } : {}),
      ...("error" in message ? { error: message.error } : {}),
    });
  }
  return messages;
}

describe.each(["websocket", "http"] as const)(
  "v1 SDK client, experimental tasks, over %s",
  (transport) => {
    it("creates a task, polls it to completion and fetches the result (callToolStream)", async () => {
      const client = await v1Client(gateway, transport);
      try {
        const messages = await drain(client, "sleep", { ms: 1_200 });
        expect(messages[0]).toMatchObject({ type: "taskCreated", status: "working" });
        expect(messages.at(-2)).toMatchObject({ type: "taskStatus", status: "completed" });
        expect(messages.at(-1)).toMatchObject({
          type: "result",
          result: { content: [{ type: "text", text: "slept 1200 ms" }] },
        });
      } finally {
        await client.close();
      }
    });

    it("lists, cancels and reads back a running task, and refuses to cancel it twice", async () => {
      const client = await v1Client(gateway, transport);
      try {
        const taskId = await startV1(client, "wait", { seconds: 120, stepSeconds: 60 });
        expect((await client.experimental.tasks.getTask(taskId)).status).toBe("working");
        const { tasks } = await client.experimental.tasks.listTasks();
        expect(tasks.find((task) => task.taskId === taskId)?.status).toBe("working");
        const cancelled = await client.experimental.tasks.cancelTask(taskId);
        expect(cancelled.status).toBe("cancelled");
        expect((await client.experimental.tasks.getTask(taskId)).status).toBe("cancelled");
        await expect(client.experimental.tasks.cancelTask(taskId)).rejects.toMatchObject({
          code: INVALID_PARAMS,
        });
      } finally {
        await client.close();
      }
    });

    it("answers approve's elicitation, tagged with its task, and gets the verdict", async () => {
      const client = await v1Client(gateway, transport, () => ({
        action: "accept",
        content: { approved: true },
      }));
      try {
        const messages = await drain(client, "approve", { action: "publish the release" });
        expect(messages.at(-1)).toMatchObject({
          type: "result",
          result: { structuredContent: { approved: true, action: "publish the release" } },
        });
      } finally {
        await client.close();
      }
    });
  },
);

describe("2026-07-28: the v2 SDK client and raw tasks requests", () => {
  it("discovers the extension with the v2 client, then creates, polls, cancels and fetches raw", async () => {
    const client = new V2Client(CLIENT_INFO, {
      capabilities: {},
      versionNegotiation: { mode: { pin: MODERN_VERSION } },
    });
    await withTimeout(
      client.connect(new V2Transport(new URL(`${gateway.url}/mcp`))),
      REQUEST_TIMEOUT_MS,
      "the v2 client to connect",
    );
    try {
      expect(client.getServerCapabilities()?.extensions).toEqual({ [TASKS_EXTENSION]: {} });
      // Without the extension declared, the v2 client's own tools/call runs sleep synchronously.
      const plain = await client.callTool({ name: "sleep", arguments: { ms: 0 } });
      expect(plain.content).toEqual([{ type: "text", text: "slept 0 ms" }]);
    } finally {
      await client.close();
    }
    const quick = await createModern(gateway, "sleep", { ms: 500 });
    const done = await settled(gateway, quick, REQUEST_TIMEOUT_MS);
    expect(done).toMatchObject({
      status: "completed",
      result: { content: [{ text: "slept 500 ms" }] },
    });
    const long = await createModern(gateway, "wait", { seconds: 600, stepSeconds: 60 });
    expect((await modernResult(gateway, "tasks/cancel", { taskId: long })).resultType).toBe(
      "complete",
    );
    expect((await getModern(gateway, long)).status).toBe("cancelled");
  });
});

describe.concurrent("durability", () => {
  it("serves a task's result from a new connection after the client left and the objects were evicted", async () => {
    const first = await v1Client(gateway, "websocket");
    const taskId = await startV1(first, "sleep", { ms: 2_000 });
    await first.close();
    await sleep(2_000 + IDLE_FOR_EVICTION_MS);
    const later = await v1Client(gateway, "http");
    try {
      const task = await later.experimental.tasks.getTask(taskId);
      expect(task.status).toBe("completed");
      // The task object was constructed again to answer: it had been evicted.
      expect(wakesOf(task as Json)).toBeGreaterThanOrEqual(2);
      const result = await later.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
      expect(result.content).toEqual([{ type: "text", text: "slept 2000 ms" }]);
      expect(result._meta?.[META_RELATED_TASK]).toEqual({ taskId });
    } finally {
      await later.close();
    }
  }, 60_000);

  it("reports progress at every 10 s step of a 60 s wait, with nobody polling", async () => {
    const taskId = await createModern(gateway, "wait", { seconds: 60, stepSeconds: 10 });
    const stream = await listen(gateway, [taskId]);
    try {
      const seen = await stream.messages({
        until: (m) =>
          m.method === "notifications/tasks" && (m.params as Json).status === "completed",
        timeoutMs: 90_000,
      });
      const progress = seen
        .filter((m) => m.method === "notifications/tasks")
        .map((m) => (((m.params as Json)._meta as Json)[META_TASK_DETAIL] as Json).progress as Json)
        .map((p) => p?.progress);
      expect(progress).toEqual(
        expect.arrayContaining(
          [0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000].map((ms) =>
            expect.toSatisfy((value: number) => Math.abs(value - ms) < 2_000),
          ),
        ),
      );
    } finally {
      await stream.cancel();
    }
  }, 120_000);

  it("evicts the task's object between steps: its wake count rises at each 12 s step", async () => {
    const taskId = await createModern(gateway, "wait", { seconds: 36, stepSeconds: 12 });
    const stream = await listen(gateway, [taskId]);
    try {
      const seen = await stream.messages({
        until: (m) =>
          m.method === "notifications/tasks" && (m.params as Json).status === "completed",
        timeoutMs: 90_000,
      });
      const wakes = seen
        .filter((m) => m.method === "notifications/tasks")
        .map((m) => wakesOf(m.params as Json));
      // The state sent on subscribing, then one notification per step: every step is a new wake.
      const steps = wakes.slice(1);
      expect(steps.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < steps.length; i += 1) {
        expect(steps[i], `wakes ${wakes.join(",")}`).toBeGreaterThan(steps[i - 1] ?? 0);
      }
    } finally {
      await stream.cancel();
    }
  }, 120_000);

  it("finishes an approve answered with tasks/update after its object was evicted", async () => {
    const taskId = await createModern(gateway, "approve", { action: "wire the money" });
    const asked = await waitFor(
      async () => {
        const task = await getModern(gateway, taskId);
        return task.status === "input_required" ? task : undefined;
      },
      { timeoutMs: REQUEST_TIMEOUT_MS, what: "approve to ask" },
    );
    await sleep(IDLE_FOR_EVICTION_MS);
    const [key] = Object.keys(asked.inputRequests as Json);
    await modernResult(gateway, "tasks/update", {
      taskId,
      inputResponses: { [String(key)]: { action: "accept", content: { approved: false } } },
    });
    const done = await settled(gateway, taskId, REQUEST_TIMEOUT_MS);
    expect(done).toMatchObject({
      status: "completed",
      result: { structuredContent: { approved: false } },
    });
    expect(wakesOf(done)).toBeGreaterThan(wakesOf(asked));
  }, 60_000);

  it("finishes an approve whose elicitation is answered over a hibernated socket after both objects were evicted", async () => {
    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws`);
    try {
      await socket.call("initialize", {
        protocolVersion: LATEST_SESSION_ERA_VERSION,
        capabilities: { elicitation: {}, tasks: {} },
        clientInfo: CLIENT_INFO,
      });
      socket.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      const created = await socket.call("tools/call", {
        name: "approve",
        arguments: { action: "restart prod" },
        task: {},
      });
      const taskId = String((created.task as Json).taskId);
      const ask = await waitFor(
        () => socket.received.find((m) => m.method === "elicitation/create" && m.id != null),
        { timeoutMs: REQUEST_TIMEOUT_MS, what: "the task's elicitation" },
      );
      socket.send({ jsonrpc: "2.0", id: "result-1", method: "tasks/result", params: { taskId } });
      await sleep(IDLE_FOR_EVICTION_MS);
      socket.send({
        jsonrpc: "2.0",
        id: ask.id,
        result: { action: "accept", content: { approved: true } },
      });
      const reply: WireMessage = await waitFor(
        () => socket.received.find((m) => m.id === "result-1"),
        { timeoutMs: REQUEST_TIMEOUT_MS, what: "the waiting tasks/result" },
      );
      expect(reply.result).toMatchObject({
        structuredContent: { approved: true },
        _meta: { [META_RELATED_TASK]: { taskId } },
      });
    } finally {
      await socket.close();
    }
  }, 60_000);
});

describe("a gateway killed during a wait", () => {
  it("continues the task after SIGKILL of the whole process group and a restart on the same state", async () => {
    const state = await mkdtemp(join(tmpdir(), "dormouse-e2e-tasks-crash-"));
    let first: Gateway | undefined;
    let second: Gateway | undefined;
    try {
      first = await startGateway({ persistTo: state, keepState: true });
      const taskId = await createModern(first, "wait", { seconds: 20, stepSeconds: 5 });
      await waitFor(
        async () => {
          const task = await getModern(first as Gateway, taskId);
          const progress = ((task._meta as Json)[META_TASK_DETAIL] as Json).progress as Json;
          return Number(progress?.progress) >= 5_000 ? task : undefined;
        },
        { timeoutMs: REQUEST_TIMEOUT_MS, what: "the wait's second step" },
      );
      await first.crash();
      second = await startGateway({ persistTo: state, keepState: true });
      const done = await settled(second, taskId, 60_000);
      // Either outcome is allowed; "working forever" is not. Here the steps are resumable.
      expect(done.status).toBe("completed");
      expect(done.statusMessage).toBe("waited 20 s");
      expect(wakesOf(done)).toBeGreaterThanOrEqual(2);
    } finally {
      await first?.stop();
      await second?.stop();
      await rm(state, { recursive: true, force: true });
    }
  }, 180_000);
});

describe("security, two principals", () => {
  it("answers another principal's task exactly like an unknown one, to the byte", async () => {
    const taskId = await createModern(
      secured,
      "wait",
      { seconds: 600, stepSeconds: 60 },
      TOKENS.alice,
    );
    const unknown = `${"ab".repeat(32)}.${"cd".repeat(16)}`;
    for (const method of ["tasks/get", "tasks/cancel", "tasks/update"]) {
      const params = { taskId, inputResponses: { approval: { action: "accept" } } };
      const foreign = await modern(secured, method, params, { token: TOKENS.bob, id: 7 });
      const missing = await modern(
        secured,
        method,
        { ...params, taskId: unknown },
        { token: TOKENS.bob, id: 7 },
      );
      expect(foreign.status, method).toBe(400);
      expect([foreign.status, foreign.text], method).toEqual([missing.status, missing.text]);
      expect((foreign.body.error as Json).code, method).toBe(INVALID_PARAMS);
    }
    expect((await getModern(secured, taskId, TOKENS.alice)).status).toBe("working");
    await modernResult(secured, "tasks/cancel", { taskId }, TOKENS.alice);
  });

  it("never lets bob's listen stream watch alice's task", async () => {
    const taskId = await createModern(secured, "sleep", { ms: 0 }, TOKENS.alice);
    const response = await fetch(`${secured.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN_VERSION,
        "Mcp-Method": "subscriptions/listen",
        Authorization: `Bearer ${TOKENS.bob}`,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "subscriptions/listen",
        params: {
          notifications: { taskIds: [taskId] },
          _meta: {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS_EXTENSION]: {} } },
          },
        },
      }),
    });
    const stream = sseOf(response);
    try {
      const [ack] = await stream.messages({
        until: (m) => m.method === "notifications/subscriptions/acknowledged",
      });
      expect(((ack?.params ?? {}) as Json).notifications).toEqual({ taskIds: [] });
      await sleep(500);
      expect(stream.items.some((item) => item.kind === "event" && item.data.includes(taskId))).toBe(
        false,
      );
    } finally {
      await stream.cancel();
    }
  });

  it("mints unguessable ids: 128 random bits after the object id, never repeated", async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, () => createModern(secured, "sleep", { ms: 0 }, TOKENS.bob)),
    );
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{32}$/);
    const secrets = ids.map((id) => id.split(".")[1] ?? "");
    // 20 secrets x 128 bits: about as many ones as zeros if they are random.
    const ones = secrets
      .join("")
      .split("")
      .reduce((n, hex) => n + bitCount(Number.parseInt(hex, 16)), 0);
    expect(ones / (20 * 128)).toBeGreaterThan(0.4);
    expect(ones / (20 * 128)).toBeLessThan(0.6);
  });

  it("answers malformed ids, wrong answers and a finished task's cancel clearly, changing nothing", async () => {
    const malformed = await modern(
      secured,
      "tasks/get",
      { taskId: "../../etc/passwd" },
      { token: TOKENS.alice },
    );
    expect((malformed.body.error as Json).message).toMatch(/^Invalid taskId/);
    const taskId = await createModern(secured, "approve", { action: "delete" }, TOKENS.alice);
    const asked = await waitFor(
      async () => {
        const task = await getModern(secured, taskId, TOKENS.alice);
        return task.status === "input_required" ? task : undefined;
      },
      { timeoutMs: REQUEST_TIMEOUT_MS, what: "approve to ask" },
    );
    const wrong = await modern(
      secured,
      "tasks/update",
      { taskId, inputResponses: { approval: { action: "yes please" } } },
      { token: TOKENS.alice },
    );
    expect((wrong.body.error as Json).code).toBe(INVALID_PARAMS);
    const extra = await modernResult(
      secured,
      "tasks/update",
      { taskId, inputResponses: { sneaky: { action: "accept" } } },
      TOKENS.alice,
    );
    expect(JSON.stringify(extra._meta)).toContain("no such input request");
    const unchanged = await getModern(secured, taskId, TOKENS.alice);
    expect(unchanged).toMatchObject({
      status: "input_required",
      lastUpdatedAt: asked.lastUpdatedAt,
    });
    await modernResult(secured, "tasks/cancel", { taskId }, TOKENS.alice);
    const again = await modernResult(secured, "tasks/cancel", { taskId }, TOKENS.alice);
    expect(JSON.stringify(again._meta)).toContain("already cancelled");
    expect((await getModern(secured, taskId, TOKENS.alice)).status).toBe("cancelled");
  });
});

function bitCount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v >>= 1) count += v & 1;
  return count;
}
