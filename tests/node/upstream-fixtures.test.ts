/**
 * Proves the upstream fixtures the federation tests stand on, talking to them
 * directly with the v1 SDK client (no gateway): our stateful upstream in each
 * mode, and server-everything over Streamable HTTP. If these fail, a failing
 * federation test says nothing about the gateway.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  type ClientCapabilities,
  ElicitRequestSchema,
  type ElicitResult,
  LoggingMessageNotificationSchema,
  type Progress,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstText } from "../helpers/rpc-socket";
import { startEverything, startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const REQUEST_TIMEOUT_MS = 10_000;
const LATEST_SESSION_ERA_VERSION = "2025-06-18";
const STATIC_TOOLS = [
  "remember",
  "recall",
  "slow",
  "stats",
  "count_down",
  "ask_name",
  "grow",
  "header",
  "t01",
  "t02",
  "t03",
  "t04",
  "t05",
];

interface ClientOptions {
  capabilities?: ClientCapabilities;
  headers?: Record<string, string>;
  /** Registered before connecting; declares the elicitation capability. */
  onElicit?: (message: string) => ElicitResult;
}

interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

const openClients: Client[] = [];

async function connectTo(url: string, options: ClientOptions = {}): Promise<Connected> {
  const capabilities = options.onElicit
    ? { ...options.capabilities, elicitation: {} }
    : (options.capabilities ?? {});
  const client = new Client({ name: "upstream-fixtures-test", version: "1.0.0" }, { capabilities });
  const { onElicit } = options;
  if (onElicit)
    client.setRequestHandler(ElicitRequestSchema, (request) => onElicit(request.params.message));
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: options.headers ?? {} },
  });
  openClients.push(client);
  await withTimeout(client.connect(transport), REQUEST_TIMEOUT_MS, `initialize at ${url}`);
  return { client, transport };
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options: { onprogress?: (progress: Progress) => void; signal?: AbortSignal } = {},
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: REQUEST_TIMEOUT_MS,
    ...options,
  })) as CallToolResult;
}

async function allToolNames(client: Client): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor }, {
      timeout: REQUEST_TIMEOUT_MS,
    });
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== undefined && pages < 20);
  return { names, pages };
}

async function stats(client: Client) {
  const result = await call(client, "stats");
  return result.structuredContent as { calls: number; cancelled: number; running: number };
}

function initializeBody() {
  return JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: LATEST_SESSION_ERA_VERSION,
      capabilities: {},
      clientInfo: { name: "raw", version: "1.0.0" },
    },
  });
}

const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** A raw tools/list POST on `sessionId`, to read the HTTP status the SDK client hides. */
async function postWithSession(url: string, sessionId: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      ...MCP_HEADERS,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": LATEST_SESSION_ERA_VERSION,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

afterAll(async () => {
  await Promise.allSettled(openClients.map((c) => withTimeout(c.close(), 5_000, "client close")));
});

describe("stateful upstream fixture", () => {
  let upstream: UpstreamProcess | undefined;
  const url = () => {
    if (!upstream) throw new Error("stateful upstream did not start");
    return upstream.url;
  };

  beforeAll(async () => {
    upstream = await startStatefulUpstream();
  });

  afterAll(async () => {
    await upstream?.stop();
  });

  it("keeps one value per session: two clients each recall their own", async () => {
    const a = await connectTo(url());
    const b = await connectTo(url());
    expect(firstText(await call(a.client, "recall"))).toBe("(nothing)");
    const remembered = await call(a.client, "remember", { value: "apple" });
    expect(firstText(remembered)).toBe("remembered apple");
    expect(remembered.structuredContent).toEqual({ sessionId: a.transport.sessionId });
    await call(b.client, "remember", { value: "banana" });

    const recalledA = await call(a.client, "recall");
    expect(firstText(recalledA)).toBe("apple");
    expect(recalledA.structuredContent).toEqual({
      value: "apple",
      sessionId: a.transport.sessionId,
    });
    expect(firstText(await call(b.client, "recall"))).toBe("banana");
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
  });

  it("forgets every session on restart: the old id gets 404, a new client works", async () => {
    const first = await startStatefulUpstream();
    let second: UpstreamProcess | undefined;
    try {
      const old = await connectTo(first.url);
      await call(old.client, "remember", { value: "before restart" });
      const oldSessionId = old.transport.sessionId;
      if (!oldSessionId) throw new Error("no session id after initialize");

      await first.stop();
      second = await startStatefulUpstream({ port: first.port });
      expect(second.url).toBe(first.url);

      const stale = await postWithSession(second.url, oldSessionId);
      expect(stale.status).toBe(404);
      expect(stale.body).toMatchObject({ jsonrpc: "2.0", error: { code: -32001 } });
      // The SDK client surfaces the HTTP status as the error code.
      await expect(call(old.client, "recall")).rejects.toMatchObject({ code: 404 });

      const fresh = await connectTo(second.url);
      expect(fresh.transport.sessionId).not.toBe(oldSessionId);
      expect(firstText(await call(fresh.client, "recall"))).toBe("(nothing)");
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  it("answers 400 to a POST with no session id that is not initialize", async () => {
    const response = await fetch(url(), {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32000 } });
  });

  it("paginates tools/list four at a time and rejects a bad cursor with -32602", async () => {
    const { client } = await connectTo(url());
    const first = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
    expect(first.tools).toHaveLength(4);
    expect(first.nextCursor).toEqual(expect.any(String));

    const { names, pages } = await allToolNames(client);
    expect(names).toEqual(STATIC_TOOLS);
    expect(pages).toBe(Math.ceil(STATIC_TOOLS.length / 4));

    await expect(
      client.listTools({ cursor: "not-a-cursor" }, { timeout: REQUEST_TIMEOUT_MS }),
    ).rejects.toMatchObject({ code: -32602 });
  });

  it("sends a progress notification and a log message per count_down step", async () => {
    const { client } = await connectTo(url());
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(notification.params);
    });
    const progress: Progress[] = [];
    const result = await call(
      client,
      "count_down",
      { steps: 3, intervalMs: 20 },
      { onprogress: (p) => progress.push(p) },
    );
    expect(firstText(result)).toBe("done 3");
    expect(progress).toEqual(
      [1, 2, 3].map((i) => ({ progress: i, total: 3, message: `step ${i}` })),
    );
    // Log notifications ride the same response stream, so all precede the result.
    expect(logs).toEqual(
      [1, 2, 3].map((i) => ({ level: "info", logger: "count_down", data: `step ${i}` })),
    );
  });

  it("asks for a name through elicitation and reports accept and decline", async () => {
    let answer: ElicitResult = { action: "accept", content: { name: "Alice" } };
    const asked: string[] = [];
    const { client } = await connectTo(url(), {
      onElicit: (message) => {
        asked.push(message);
        return answer;
      },
    });
    expect(firstText(await call(client, "ask_name"))).toBe("hello Alice");
    expect(asked).toEqual(["What is your name?"]);
    answer = { action: "decline" };
    expect(firstText(await call(client, "ask_name"))).toBe("declined");
  });

  it("refuses ask_name with a tool error when the client cannot elicit", async () => {
    const { client } = await connectTo(url());
    const result = await call(client, "ask_name");
    expect(result.isError).toBe(true);
    expect(firstText(result)).toMatch(/elicitation/);
  });

  it("grows a tool for this session only and announces tools/list_changed", async () => {
    const grower = await connectTo(url());
    const other = await connectTo(url());
    let changed = 0;
    grower.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed += 1;
    });

    expect(firstText(await call(grower.client, "grow"))).toBe("added extra_1");
    await waitFor(() => changed === 1, {
      timeoutMs: REQUEST_TIMEOUT_MS,
      what: "notifications/tools/list_changed",
    });
    expect((await allToolNames(grower.client)).names).toEqual([...STATIC_TOOLS, "extra_1"]);
    expect(firstText(await call(grower.client, "extra_1"))).toBe("extra 1");
    expect(firstText(await call(grower.client, "grow"))).toBe("added extra_2");
    expect(firstText(await call(grower.client, "extra_2"))).toBe("extra 2");

    expect((await allToolNames(other.client)).names).toEqual(STATIC_TOOLS);
    await expect(call(other.client, "extra_1")).rejects.toMatchObject({ code: -32602 });
  });

  it("stops a slow call when the client cancels it and counts the cancellation", async () => {
    const { client } = await connectTo(url());
    const before = await stats(client);
    const abort = new AbortController();
    const slow = call(client, "slow", { ms: 30_000 }, { signal: abort.signal });
    slow.catch(() => {}); // Asserted below; the abort may land before the await.
    await waitFor(async () => (await stats(client)).running > before.running, {
      timeoutMs: REQUEST_TIMEOUT_MS,
      what: "the slow call to start",
    });
    abort.abort("test cancels");
    await expect(slow).rejects.toThrow();
    const after = await waitFor(
      async () => {
        const now = await stats(client);
        return now.cancelled === before.cancelled + 1 && now;
      },
      { timeoutMs: REQUEST_TIMEOUT_MS, what: "stats.cancelled to count the cancellation" },
    );
    expect(after.running).toBe(before.running);
    expect(after.calls).toBeGreaterThan(before.calls + 1);
  });

  it("finishes an uncancelled slow call", async () => {
    const { client } = await connectTo(url());
    expect(firstText(await call(client, "slow", { ms: 50 }))).toBe("slept 50");
  });

  it("echoes an HTTP header of the tools/call request, or (absent)", async () => {
    const { client } = await connectTo(url(), { headers: { "X-Upstream-Secret": "s3cret" } });
    expect(firstText(await call(client, "header", { name: "x-upstream-secret" }))).toBe("s3cret");
    expect(firstText(await call(client, "header", { name: "X-Not-Sent" }))).toBe("(absent)");
  });

  it("serves the session's value as state://value and the greet prompt", async () => {
    const { client } = await connectTo(url());
    const { resources } = await client.listResources(undefined, { timeout: REQUEST_TIMEOUT_MS });
    expect(resources.map((r) => r.uri)).toEqual(["state://value"]);
    await call(client, "remember", { value: "pear" });
    const read = await client.readResource({ uri: "state://value" });
    expect(read.contents).toEqual([{ uri: "state://value", mimeType: "text/plain", text: "pear" }]);

    const prompt = await client.getPrompt({ name: "greet", arguments: { name: "Bob" } });
    expect(prompt.messages).toEqual([
      { role: "user", content: { type: "text", text: "Hello, Bob!" } },
    ]);
    expect(firstText(await call(client, "t03"))).toBe("t03");
  });
});

describe("stateful upstream failure modes", () => {
  it("garbage: answers initialize with a body that is not JSON, so connect rejects", async () => {
    const upstream = await startStatefulUpstream({ mode: "garbage" });
    try {
      await expect(connectTo(upstream.url)).rejects.toThrow();
      const response = await fetch(upstream.url, {
        method: "POST",
        headers: MCP_HEADERS,
        body: initializeBody(),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.text()).toBe("this is not json {{{");
    } finally {
      await upstream.stop();
    }
  });

  it("hang: leaves a POST unanswered", async () => {
    const upstream = await startStatefulUpstream({ mode: "hang" });
    const abort = new AbortController();
    try {
      const pending = fetch(upstream.url, {
        method: "POST",
        headers: MCP_HEADERS,
        body: initializeBody(),
        signal: abort.signal,
      });
      pending.catch(() => {}); // Asserted below.
      const outcome = await Promise.race([
        pending.then(
          () => "answered",
          () => "failed",
        ),
        sleep(500).then(() => "pending"),
      ]);
      expect(outcome).toBe("pending");
      abort.abort();
      await expect(pending).rejects.toThrow();
    } finally {
      abort.abort();
      await upstream.stop();
    }
  });
});

describe("server-everything fixture", () => {
  let everything: UpstreamProcess | undefined;
  const url = () => {
    if (!everything) throw new Error("server-everything did not start");
    return everything.url;
  };

  beforeAll(async () => {
    everything = await startEverything();
  });

  afterAll(async () => {
    await everything?.stop();
  });

  it("lists its tools, the elicitation one only for a client that can elicit", async () => {
    const eliciting = await connectTo(url(), { capabilities: { elicitation: {} } });
    const { tools } = await eliciting.client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "echo",
        "get-sum",
        "trigger-long-running-operation",
        "trigger-elicitation-request",
      ]),
    );

    const plain = await connectTo(url());
    const plainNames = (await plain.client.listTools()).tools.map((t) => t.name);
    expect(plainNames).toContain("echo");
    expect(plainNames).not.toContain("trigger-elicitation-request");
  });

  it("adds with get-sum", async () => {
    const { client } = await connectTo(url());
    expect(firstText(await call(client, "get-sum", { a: 2, b: 3 }))).toBe(
      "The sum of 2 and 3 is 5.",
    );
  });

  it("reports progress per step of trigger-long-running-operation", async () => {
    const { client } = await connectTo(url());
    const progress: Progress[] = [];
    const result = await call(
      client,
      "trigger-long-running-operation",
      { duration: 1, steps: 2 },
      { onprogress: (p) => progress.push(p) },
    );
    expect(firstText(result)).toMatch(/completed/);
    expect(progress).toEqual([
      { progress: 1, total: 2 },
      { progress: 2, total: 2 },
    ]);
  });

  it("asks for a form through trigger-elicitation-request and echoes the answer", async () => {
    const asked: string[] = [];
    const { client } = await connectTo(url(), {
      onElicit: (message) => {
        asked.push(message);
        return { action: "accept", content: { name: "Alice", check: true } };
      },
    });
    const result = await call(client, "trigger-elicitation-request");
    expect(asked).toHaveLength(1);
    const texts = (result.content as { type: string; text?: string }[]).map((c) => c.text);
    expect(texts.join("\n")).toMatch(/- Name: Alice/);
  });

  it("runs without the test runner's environment, which get-env would reveal", async () => {
    const { client } = await connectTo(url());
    const env = JSON.parse(firstText(await call(client, "get-env"))) as Record<string, string>;
    expect(env.PORT).toBe(String(everything?.port));
    expect(process.env.VITEST).toBeDefined();
    expect(env.VITEST).toBeUndefined();
  });

  it("answers 400, not 404, to an unknown session id", async () => {
    const stale = await postWithSession(url(), "00000000-0000-0000-0000-000000000000");
    expect(stale.status).toBe(400);
  });
});
