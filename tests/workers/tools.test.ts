/**
 * The default toolset over a session-era socket: tools, resources, prompts,
 * completion, logging, progress and cancellation.
 */
import { describe, expect, it } from "vitest";
import { INVALID_PARAMS, RESOURCE_NOT_FOUND } from "../../shared/errors";
import { PROGRESS_INTERVAL_MS } from "../../shared/limits";
import {
  type Client,
  connect,
  expectError,
  expectResult,
  isObject,
  type JsonObject,
  TEST_CLIENT,
  toolText,
} from "../helpers/workerd";

async function ready(): Promise<Client> {
  const client = await connect();
  await client.initialize();
  return client;
}

/** A session whose `approve` call (request `id`) waits for the elicitation it sent. */
async function askingApproval(id: string): Promise<{ client: Client; asked: JsonObject }> {
  const client = await connect();
  await client.initialize({ capabilities: { elicitation: {} } });
  client.sendJson({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "approve", arguments: { action: "deploy" } },
  });
  const asked = (await client.nextMessage(
    (f) => isObject(f) && f.method === "elicitation/create" && "id" in f,
    "the elicitation",
  )) as JsonObject;
  return { client, asked };
}

describe("tools/list", () => {
  it("lists exactly echo, add, counter, sleep, session_info, log, wait and approve", async () => {
    const client = await ready();
    const { tools } = await client.call("tools/list");
    const names = (tools as JsonObject[]).map((t) => t.name);
    expect(names.sort()).toEqual([
      "add",
      "approve",
      "counter",
      "echo",
      "log",
      "session_info",
      "sleep",
      "wait",
    ]);
  });

  it("advertises execution.taskSupport on sleep, approve (optional) and wait (required) only", async () => {
    const client = await ready();
    const { tools } = await client.call("tools/list");
    const support = Object.fromEntries(
      (tools as JsonObject[]).map((t) => [
        t.name,
        (t.execution as JsonObject | undefined)?.taskSupport,
      ]),
    );
    expect(support).toEqual({
      add: undefined,
      approve: "optional",
      counter: undefined,
      echo: undefined,
      log: undefined,
      session_info: undefined,
      sleep: "optional",
      wait: "required",
    });
  });

  it("gives every tool a description and an object input schema", async () => {
    const client = await ready();
    const { tools } = await client.call("tools/list");
    for (const tool of tools as JsonObject[]) {
      expect(tool.description, String(tool.name)).toEqual(expect.any(String));
      expect(tool.inputSchema, String(tool.name)).toMatchObject({ type: "object" });
    }
  });
});

describe("echo, add and counter", () => {
  it("echo returns the text it is given", async () => {
    const client = await ready();
    expect(toolText(await client.callTool("echo", { text: "hello, dormouse" }))).toBe(
      "hello, dormouse",
    );
  });

  it("add returns the sum as text", async () => {
    const client = await ready();
    expect(toolText(await client.callTool("add", { a: 2, b: 3 }))).toBe("5");
    expect(toolText(await client.callTool("add", { a: 0.5, b: -2 }))).toBe("-1.5");
  });

  it("counter adds 1 by default and `by` when given, starting from 0", async () => {
    const client = await ready();
    expect(toolText(await client.callTool("counter"))).toBe("1");
    expect(toolText(await client.callTool("counter", { by: 5 }))).toBe("6");
    expect(toolText(await client.callTool("counter"))).toBe("7");
  });

  it("counter refuses a sum past the safe integer range with a tool error, and keeps its value", async () => {
    const client = await ready();
    const max = Number.MAX_SAFE_INTEGER;
    expect(toolText(await client.callTool("counter", { by: max - 1 }))).toBe(String(max - 1));
    const over = await client.callTool("counter", { by: 2 });
    expect(over.isError).toBe(true);
    expect(toolText(over)).toMatch(/safe integer range/);
    expect(await client.counter()).toBe(max - 1);
  });

  it("counter is kept per session", async () => {
    const first = await ready();
    await first.callTool("counter", { by: 10 });
    const second = await ready();
    expect(toolText(await second.callTool("counter"))).toBe("1");
    expect(await first.counter()).toBe(10);
  });
});

describe("session_info", () => {
  it("describes the session: id, version, client info, log level, phase and wakes", async () => {
    const client = await ready();
    const info = await client.sessionInfo();
    expect(info).toMatchObject({
      sessionId: client.sessionId,
      era: "session",
      protocolVersion: "2025-11-25",
      clientInfo: TEST_CLIENT,
      logLevel: "info",
      phase: "ready",
      attachGeneration: 1,
    });
    expect(info.wakes).toBeGreaterThanOrEqual(1);
    expect(Date.parse(info.createdAt)).not.toBeNaN();
  });
});

describe("log and logging/setLevel", () => {
  it("sends a message at or above the default level info and filters one below it", async () => {
    const client = await ready();
    expect(toolText(await client.callTool("log", { level: "debug", message: "quiet" }))).toMatch(
      /^filtered/,
    );
    expect(toolText(await client.callTool("log", { level: "info", message: "heard" }))).toBe(
      "sent at info",
    );
    const note = await client.nextNotification("notifications/message");
    expect(note.params).toEqual({ level: "info", data: "heard", logger: "dormouse.log-tool" });
    await client.expectNoMessage(
      (f) => isObject(f) && isObject(f.params) && f.params.data === "quiet",
      50,
      "notification for the filtered message",
    );
  });

  it("filters below the level set with logging/setLevel and sends at or above it", async () => {
    const client = await ready();
    expect(await client.call("logging/setLevel", { level: "warning" })).toEqual({});
    expect(toolText(await client.callTool("log", { level: "info", message: "below" }))).toMatch(
      /^filtered: info is below/,
    );
    expect(toolText(await client.callTool("log", { level: "warning", message: "at" }))).toBe(
      "sent at warning",
    );
    expect(toolText(await client.callTool("log", { level: "error", message: "above" }))).toBe(
      "sent at error",
    );
    const messages = [
      await client.nextNotification("notifications/message"),
      await client.nextNotification("notifications/message"),
    ];
    expect(messages.map((m) => (m.params as JsonObject).data)).toEqual(["at", "above"]);
    expect(
      client.received.some((f) => isObject(f) && isObject(f.params) && f.params.data === "below"),
    ).toBe(false);
    expect((await client.sessionInfo()).logLevel).toBe("warning");
  });

  it("answers -32602 to logging/setLevel with a level that is not an RFC 5424 name", async () => {
    const client = await ready();
    expectError(
      await client.request("logging/setLevel", { level: "verbose" }),
      INVALID_PARAMS,
      /level/,
    );
    expect((await client.sessionInfo()).logLevel).toBe("info");
  });
});

describe("sleep", () => {
  it("reports increasing progress to a progress token, then returns its result", async () => {
    const client = await ready();
    const ms = 2 * PROGRESS_INTERVAL_MS + 100;
    const result = await client.request(
      "tools/call",
      { name: "sleep", arguments: { ms } },
      { progressToken: "tok-1" },
    );
    expect(toolText(expectResult(result))).toBe(`slept ${ms} ms`);
    const progress = client.received
      .filter((f) => isObject(f) && f.method === "notifications/progress")
      .map((f) => (f as JsonObject).params as JsonObject);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p) => p.progressToken === "tok-1" && p.total === ms)).toBe(true);
    const values = progress.map((p) => p.progress as number);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
    expect(values.at(-1)).toBe(ms);
    const resultIndex = client.received.findIndex(
      (f) => isObject(f) && "result" in f && f.id === result.id,
    );
    const lastProgressIndex = client.received.findLastIndex(
      (f) => isObject(f) && f.method === "notifications/progress",
    );
    expect(lastProgressIndex).toBeLessThan(resultIndex);
  });

  it("sends no progress when the request carries no progress token", async () => {
    const client = await ready();
    await client.callTool("sleep", { ms: PROGRESS_INTERVAL_MS + 50 });
    expect(client.received.some((f) => isObject(f) && f.method === "notifications/progress")).toBe(
      false,
    );
  });

  it("sends no result once cancelled with notifications/cancelled, and the session keeps answering", async () => {
    const client = await ready();
    await client.callTool("counter", { by: 2 });
    client.sendJson({
      jsonrpc: "2.0",
      id: "sleep-1",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 1_000 }, _meta: { progressToken: "tok-c" } },
    });
    await client.nextNotification("notifications/progress");
    client.notify("notifications/cancelled", { requestId: "sleep-1", reason: "test cancels" });
    await client.expectNoMessage(
      (f) => isObject(f) && f.id === "sleep-1",
      1_500,
      "response to the cancelled request sleep-1",
    );
    expect(await client.counter()).toBe(2);
    expect(await client.call("ping")).toEqual({});
  });

  it("withdraws the elicitation a cancelled call was waiting on (notifications/cancelled to the client)", async () => {
    const { client, asked } = await askingApproval("ask-1");
    client.notify("notifications/cancelled", { requestId: "ask-1", reason: "user pressed stop" });
    const withdrawn = await client.nextNotification("notifications/cancelled");
    expect(withdrawn.params).toEqual({ requestId: asked.id, reason: "user pressed stop" });
    // An answer given anyway changes nothing, and no reply comes for the cancelled call.
    client.sendJson({
      jsonrpc: "2.0",
      id: asked.id,
      result: { action: "accept", content: { approved: true } },
    });
    await client.expectNoMessage(
      (f) => isObject(f) && f.id === "ask-1",
      300,
      "a reply to the cancelled call",
    );
    expect(await client.call("ping")).toEqual({});
  });

  it("approves nothing on an answer that does not fit approve's form, and says so as an error", async () => {
    const { client, asked } = await askingApproval("ask-2");
    client.sendJson({
      jsonrpc: "2.0",
      id: asked.id,
      result: { action: "accept", content: { approved: "yes please" } },
    });
    const result = expectResult(await client.nextResponse("ask-2"));
    expect(result).toMatchObject({ isError: true, structuredContent: { approved: false } });
    expect(toolText(result)).toMatch(/did not fit the form/);
  });

  it("ignores a cancellation for an id that is not in flight", async () => {
    const client = await ready();
    client.notify("notifications/cancelled", { requestId: "never-sent" });
    expect(toolText(await client.callTool("echo", { text: "still here" }))).toBe("still here");
  });
});

describe("resources", () => {
  it("lists dormouse://about and dormouse://session", async () => {
    const client = await ready();
    const { resources } = await client.call("resources/list");
    expect((resources as JsonObject[]).map((r) => r.uri).sort()).toEqual([
      "dormouse://about",
      "dormouse://session",
    ]);
  });

  it("reads dormouse://about as text", async () => {
    const client = await ready();
    const { contents } = await client.call("resources/read", { uri: "dormouse://about" });
    expect(contents).toEqual([
      { uri: "dormouse://about", mimeType: "text/plain", text: expect.stringMatching(/Dormouse/) },
    ]);
  });

  it("reads dormouse://session as this session's JSON", async () => {
    const client = await ready();
    const { contents } = await client.call("resources/read", { uri: "dormouse://session" });
    const [first] = contents as JsonObject[];
    expect(JSON.parse(String(first?.text))).toMatchObject({ sessionId: client.sessionId });
  });

  it("answers -32002 naming the uri to a resource that does not exist", async () => {
    const client = await ready();
    const error = expectError(
      await client.request("resources/read", { uri: "dormouse://nope" }),
      RESOURCE_NOT_FOUND,
      /dormouse:\/\/nope/,
    );
    expect(error.data).toEqual({ uri: "dormouse://nope" });
  });

  it("answers -32002 to a subscription to a resource that does not exist, and keeps none", async () => {
    const client = await ready();
    expectError(
      await client.request("resources/subscribe", { uri: "dormouse://nope" }),
      RESOURCE_NOT_FOUND,
      /dormouse:\/\/nope/,
    );
    expect((await client.sessionInfo()).subscriptions).toEqual([]);
  });

  it("tells a subscriber of dormouse://session that it changed (log level), before the reply", async () => {
    const client = await ready();
    await client.call("resources/subscribe", { uri: "dormouse://session" });
    const subscribed = await client.nextNotification("notifications/resources/updated");
    expect(subscribed.params).toEqual({ uri: "dormouse://session" });
    const before = client.received.length;
    await client.call("logging/setLevel", { level: "warning" });
    const frames = client.received.slice(before).filter(isObject);
    expect(frames.map((f) => f.method ?? "reply")).toEqual([
      "notifications/resources/updated",
      "reply",
    ]);
    const { contents } = await client.call("resources/read", { uri: "dormouse://session" });
    const [first] = contents as JsonObject[];
    expect(JSON.parse(String(first?.text))).toMatchObject({ logLevel: "warning" });
    // Unsubscribed: no more news (an update would come before the setLevel reply).
    await client.call("resources/unsubscribe", { uri: "dormouse://session" });
    const unsubscribed = client.received.length;
    await client.call("logging/setLevel", { level: "info" });
    const after = client.received.slice(unsubscribed).filter(isObject);
    expect(after.map((f) => f.method ?? "reply")).toEqual(["reply"]);
  });

  it("lists no resource templates", async () => {
    const client = await ready();
    expect(await client.call("resources/templates/list")).toEqual({ resourceTemplates: [] });
  });
});

describe("prompts and completion", () => {
  it("lists greet with a required name and an optional style", async () => {
    const client = await ready();
    const { prompts } = await client.call("prompts/list");
    expect(prompts).toEqual([
      expect.objectContaining({
        name: "greet",
        arguments: [
          expect.objectContaining({ name: "name", required: true }),
          expect.objectContaining({ name: "style", required: false }),
        ],
      }),
    ]);
  });

  it("renders greet with its arguments", async () => {
    const client = await ready();
    const result = await client.call("prompts/get", {
      name: "greet",
      arguments: { name: "Alice", style: "pirate" },
    });
    expect(result.messages).toEqual([
      { role: "user", content: { type: "text", text: "Greet Alice in a pirate style." } },
    ]);
  });

  it("answers -32602 naming the argument when a required prompt argument is missing", async () => {
    const client = await ready();
    expectError(
      await client.request("prompts/get", { name: "greet", arguments: { style: "formal" } }),
      INVALID_PARAMS,
      /Missing required argument.*\bname\b/,
    );
  });

  it("answers -32602 to an unknown prompt", async () => {
    const client = await ready();
    expectError(
      await client.request("prompts/get", { name: "nope" }),
      INVALID_PARAMS,
      /Unknown prompt: nope/,
    );
  });

  it('completes greet\'s style from the prefix "f" to ["formal"]', async () => {
    const client = await ready();
    const result = await client.call("completion/complete", {
      ref: { type: "ref/prompt", name: "greet" },
      argument: { name: "style", value: "f" },
    });
    expect(result.completion).toEqual({ values: ["formal"], total: 1, hasMore: false });
  });

  it("completes an empty prefix to every style and an argument without candidates to none", async () => {
    const client = await ready();
    const all = await client.call("completion/complete", {
      ref: { type: "ref/prompt", name: "greet" },
      argument: { name: "style", value: "" },
    });
    expect((all.completion as JsonObject).values).toEqual(["casual", "formal", "pirate"]);
    const none = await client.call("completion/complete", {
      ref: { type: "ref/prompt", name: "greet" },
      argument: { name: "name", value: "A" },
    });
    expect((none.completion as JsonObject).values).toEqual([]);
  });

  it("completes an argument named like an inherited property (constructor, __proto__) to nothing", async () => {
    const client = await ready();
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const result = await client.call("completion/complete", {
        ref: { type: "ref/prompt", name: "greet" },
        argument: { name, value: "" },
      });
      expect(result.completion).toEqual({ values: [], total: 0, hasMore: false });
    }
  });
});
