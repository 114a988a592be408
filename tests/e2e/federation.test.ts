/**
 * End to end for federation (issue #4): a real `wrangler dev` gateway in front
 * of real upstream processes on localhost: @modelcontextprotocol/server-everything
 * (Streamable HTTP) and the project's stateful upstream (a value per upstream
 * session). Clients are the v1 SDK over WebSocket (an independent client) and
 * raw 2026-07-28 HTTP requests.
 *
 * The faulty gateway federates upstreams that are down (nothing listens), hang
 * (never answer) and answer garbage, beside a healthy one.
 */

import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js";
import {
  type CallToolResult,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  type Progress,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UPSTREAM_INVALID, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE } from "../../shared/errors";
import {
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
} from "../../shared/protocol";
import { type DeadPort, deadPort, type Gateway, startGateway } from "../helpers/process";
import { firstText, RpcSocket } from "../helpers/rpc-socket";
import { sseOf } from "../helpers/sse";
import { startEverything, startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const TIMEOUT_MS = 20_000;
/** wrangler dev evicts an idle object after about 10 s. */
const IDLE_FOR_EVICTION_MS = 12_500;
const SECRET_VALUE = "s3cret-upstream-key-value";
const UNAVAILABLE_META = "dormouse/unavailableUpstreams";
const FAULTY_DEADLINE_MS = 4_000;

let stateful: UpstreamProcess | undefined;
let everything: UpstreamProcess | undefined;
let hanging: UpstreamProcess | undefined;
let garbage: UpstreamProcess | undefined;
/** Answers 401 to any request without X-Upstream-Key: SECRET_VALUE. */
let locked: UpstreamProcess | undefined;
/** Where the "down" upstream points: held, nothing answers. */
let down: DeadPort | undefined;
let healthy: Gateway | undefined;
let faulty: Gateway | undefined;
/** Authenticated (two principals), for isolation of stateless upstream sessions. */
let guarded: Gateway | undefined;
const tokens = { alice: randomBytes(24).toString("hex"), bob: randomBytes(24).toString("hex") };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

beforeAll(async () => {
  const upstreams = await Promise.allSettled([
    startStatefulUpstream(),
    startEverything(),
    startStatefulUpstream({ mode: "hang" }),
    startStatefulUpstream({ mode: "garbage" }),
    startStatefulUpstream({ requireHeader: `x-upstream-key=${SECRET_VALUE}` }),
  ]);
  [stateful, everything, hanging, garbage, locked] = upstreams.map((s) =>
    s.status === "fulfilled" ? s.value : undefined,
  );
  const failed = upstreams.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  if (!stateful || !everything || !hanging || !garbage || !locked)
    throw new Error("an upstream did not start");
  down = await deadPort();
  const downPort = down.port;
  const gateways = await Promise.allSettled([
    startGateway({
      vars: {
        UPSTREAM_KEY: SECRET_VALUE,
        UPSTREAMS: JSON.stringify([
          {
            name: "state",
            url: stateful.url,
            prefix: "state",
            headers: { "X-Upstream-Key": "UPSTREAM_KEY" },
          },
          { name: "everything", url: everything.url, prefix: "everything" },
          {
            name: "keyed",
            url: locked.url,
            prefix: "keyed",
            headers: { "X-Upstream-Key": "UPSTREAM_KEY" },
          },
          {
            name: "tight",
            url: stateful.url,
            prefix: "tight",
            timeoutMs: 700,
            allowTools: ["slow", "recall"],
          },
        ]),
      },
    }),
    startGateway({
      vars: {
        // Short, to show that a person answering an upstream's elicitation is not cut off by it.
        REQUEST_DEADLINE_MS: String(FAULTY_DEADLINE_MS),
        UPSTREAMS: JSON.stringify([
          { name: "state", url: stateful.url, prefix: "state" },
          {
            name: "down",
            url: `http://127.0.0.1:${downPort}/mcp`,
            prefix: "down",
            timeoutMs: 2_000,
          },
          { name: "hang", url: hanging.url, prefix: "hang", timeoutMs: 1_000 },
          { name: "garbage", url: garbage.url, prefix: "garbage" },
          { name: "locked", url: locked.url, prefix: "locked" },
        ]),
      },
    }),
    startGateway({
      vars: {
        AUTH_TOKEN_HASHES: Object.entries(tokens)
          .map(([who, token]) => `${who}:${sha256(token)}`)
          .join(","),
        UPSTREAMS: JSON.stringify([{ name: "state", url: stateful.url, prefix: "state" }]),
      },
    }),
  ]);
  if (gateways[0].status === "fulfilled") healthy = gateways[0].value;
  if (gateways[1].status === "fulfilled") faulty = gateways[1].value;
  if (gateways[2].status === "fulfilled") guarded = gateways[2].value;
  const gatewayFailed = gateways.find((s) => s.status === "rejected");
  if (gatewayFailed) throw gatewayFailed.reason;
}, 120_000);

afterAll(async () => {
  await Promise.all([
    healthy?.stop(),
    faulty?.stop(),
    guarded?.stop(),
    stateful?.stop(),
    everything?.stop(),
    hanging?.stop(),
    garbage?.stop(),
    locked?.stop(),
    down?.close(),
  ]);
}, 60_000);

function gatewayOf(gateway: Gateway | undefined): Gateway {
  if (!gateway) throw new Error("gateway did not start");
  return gateway;
}

/** A v1 SDK client over WebSocket that answers elicitations with `name`. */
async function connect(
  gateway: Gateway | undefined,
  options: { name?: string; session?: string; answerAfterMs?: number } = {},
): Promise<Client> {
  const client = new Client(
    { name: "dormouse-e2e-federation", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => {
    if (options.answerAfterMs) await sleep(options.answerAfterMs);
    return { action: "accept", content: { name: options.name ?? "Ada" } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: "assistant",
    model: "e2e-model",
    content: { type: "text", text: `sampled ${request.params.messages.length} message(s)` },
  }));
  const query = options.session ? `?session=${options.session}` : "";
  const transport = new WebSocketClientTransport(new URL(`${gatewayOf(gateway).wsUrl}/ws${query}`));
  await withTimeout(client.connect(transport), TIMEOUT_MS, "initialize");
  return client;
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: Progress) => void,
) {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: TIMEOUT_MS,
    ...(onprogress ? { onprogress } : {}),
  })) as CallToolResult;
}

async function toolNames(client: Client): Promise<string[]> {
  const { tools } = await client.listTools(undefined, { timeout: TIMEOUT_MS });
  return tools.map((t) => t.name);
}

/** A client connected straight to an upstream, for comparison. */
async function direct(upstream: UpstreamProcess | undefined): Promise<Client> {
  if (!upstream) throw new Error("upstream did not start");
  const client = new Client(
    { name: "dormouse-e2e-direct", version: "1.0.0" },
    { capabilities: { elicitation: {} } },
  );
  await withTimeout(
    client.connect(new StreamableHTTPClientTransport(new URL(upstream.url))),
    TIMEOUT_MS,
    "direct initialize",
  );
  return client;
}

describe("federation over WebSocket", () => {
  it("merges built-in and upstream tools, namespaced, with descriptions and schemas unchanged", async () => {
    const client = await connect(healthy);
    const upstream = await direct(everything);
    try {
      const { tools } = await client.listTools(undefined, { timeout: TIMEOUT_MS });
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["echo", "add", "counter"]));
      expect(names).toEqual(
        expect.arrayContaining([
          "state__remember",
          "state__recall",
          "state__ask_name",
          // The stateful upstream pages its list by 4: the last page must be there too.
          "state__t05",
          "everything__echo",
          "everything__get-sum",
          "everything__trigger-long-running-operation",
          "everything__trigger-elicitation-request",
          "tight__slow",
          "tight__recall",
        ]),
      );
      // allowTools: only slow and recall come through "tight".
      expect(names.filter((n) => n.startsWith("tight__")).sort()).toEqual([
        "tight__recall",
        "tight__slow",
      ]);
      const directTools = (await upstream.listTools(undefined, { timeout: TIMEOUT_MS })).tools;
      for (const tool of directTools) {
        const relayed = tools.find((t) => t.name === `everything__${tool.name}`);
        expect(relayed, tool.name).toBeDefined();
        expect(relayed?.description).toBe(tool.description);
        expect(relayed?.inputSchema).toEqual(tool.inputSchema);
      }
    } finally {
      await Promise.all([client.close(), upstream.close()]);
    }
  });

  it("calls a tool on each upstream", async () => {
    const client = await connect(healthy);
    try {
      const sum = await call(client, "everything__get-sum", { a: 2, b: 40 });
      expect(firstText(sum as Record<string, unknown>)).toContain("42");
      await call(client, "state__remember", { value: "relayed" });
      expect(firstText((await call(client, "state__recall")) as Record<string, unknown>)).toBe(
        "relayed",
      );
      // Built-ins are untouched.
      expect(
        firstText((await call(client, "add", { a: 1, b: 2 })) as Record<string, unknown>),
      ).toBe("3");
    } finally {
      await client.close();
    }
  });

  it("relays progress from a long upstream call and its log messages", async () => {
    const client = await connect(healthy);
    const progress: Progress[] = [];
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params);
    });
    try {
      const result = await call(
        client,
        "everything__trigger-long-running-operation",
        { duration: 2, steps: 4 },
        (p) => progress.push(p),
      );
      expect(firstText(result as Record<string, unknown>)).toContain(
        "Long running operation completed",
      );
      expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4]);
      expect(progress.every((p) => p.total === 4)).toBe(true);
      await call(client, "state__count_down", { steps: 3, intervalMs: 50 }, (p) =>
        progress.push(p),
      );
      expect(logs).toHaveLength(3);
      expect(logs[0]).toMatchObject({ level: "info", logger: "state/count_down", data: "step 1" });
    } finally {
      await client.close();
    }
  });

  it("bounds the notifications relayed from a flooding upstream call, and the session keeps working", async () => {
    const client = await connect(healthy);
    let progress = 0;
    let logs = 0;
    client.setNotificationHandler(LoggingMessageNotificationSchema, () => {
      logs++;
    });
    try {
      const started = Date.now();
      // 3,000 steps with no pause: 6,000 notifications as fast as the upstream can write them.
      const result = await call(
        client,
        "state__count_down",
        { steps: 3_000, intervalMs: 0 },
        () => {
          progress++;
        },
      );
      const seconds = (Date.now() - started) / 1000;
      expect(firstText(result as Record<string, unknown>)).toBe("done 3000");
      const relayed = progress + logs;
      // At most the burst plus the refill over the call's duration (200 + 100/s).
      expect(relayed).toBeGreaterThanOrEqual(200);
      expect(relayed).toBeLessThanOrEqual(200 + Math.ceil(seconds * 100) + 10);
      expect(relayed).toBeLessThan(6_000);
      expect(
        firstText((await call(client, "echo", { text: "fine" })) as Record<string, unknown>),
      ).toBe("fine");
    } finally {
      await client.close();
    }
  });

  it("relays an upstream elicitation to the client and its answer back", async () => {
    const client = await connect(healthy, { name: "Grace" });
    try {
      const own = await call(client, "state__ask_name");
      expect(firstText(own as Record<string, unknown>)).toBe("hello Grace");
      const theirs = await call(client, "everything__trigger-elicitation-request");
      expect(JSON.stringify(theirs.content)).toContain("Grace");
    } finally {
      await client.close();
    }
  });

  it("relays an upstream sampling request to the client and its answer back", async () => {
    const client = await connect(healthy);
    try {
      const result = await call(client, "everything__trigger-sampling-request", { prompt: "hi" });
      const text = firstText(result as Record<string, unknown>);
      expect(text).toContain("LLM sampling result");
      expect(text).toContain("sampled 1 message(s)");
      expect(text).toContain("e2e-model");
    } finally {
      await client.close();
    }
  });

  it("merges upstream resources and prompts under the prefix and routes reads and gets", async () => {
    const client = await connect(healthy);
    try {
      await call(client, "state__remember", { value: "as a resource" });
      const { resources } = await client.listResources(undefined, { timeout: TIMEOUT_MS });
      const uris = resources.map((r) => r.uri);
      expect(uris).toContain("dormouse://session");
      expect(uris).toContain("upstream://state/state://value");
      const read = await client.readResource(
        { uri: "upstream://state/state://value" },
        { timeout: TIMEOUT_MS },
      );
      expect(read.contents[0]).toMatchObject({
        uri: "upstream://state/state://value",
        text: "as a resource",
      });
      // Templates too: a URI the client expands from one is routed like any other.
      const { resourceTemplates } = await client.listResourceTemplates(undefined, {
        timeout: TIMEOUT_MS,
      });
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(
        "upstream://everything/demo://resource/dynamic/text/{resourceId}",
      );
      const dynamic = await client.readResource(
        { uri: "upstream://everything/demo://resource/dynamic/text/7" },
        { timeout: TIMEOUT_MS },
      );
      expect(dynamic.contents[0]?.uri).toBe("upstream://everything/demo://resource/dynamic/text/7");
      expect(JSON.stringify(dynamic.contents[0])).toContain("7");
      const { prompts } = await client.listPrompts(undefined, { timeout: TIMEOUT_MS });
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(["greet", "state__greet"]));
      const prompt = await client.getPrompt(
        { name: "state__greet", arguments: { name: "Ada" } },
        { timeout: TIMEOUT_MS },
      );
      expect(prompt.messages[0]?.content).toMatchObject({ type: "text", text: "Hello, Ada!" });
      await expect(
        client.subscribeResource(
          { uri: "upstream://state/state://value" },
          { timeout: TIMEOUT_MS },
        ),
      ).rejects.toThrow(/Subscriptions to upstream resources are not supported/);
    } finally {
      await client.close();
    }
  });

  it("relays completion/complete for an upstream prompt", async () => {
    const client = await connect(healthy);
    try {
      const result = await client.complete(
        {
          ref: { type: "ref/prompt", name: "everything__completable-prompt" },
          argument: { name: "department", value: "S" },
        },
        { timeout: TIMEOUT_MS },
      );
      expect(result.completion.values.sort()).toEqual(["Sales", "Support"]);
    } finally {
      await client.close();
    }
  });

  it("forwards an upstream list_changed and lists the new tool", async () => {
    const client = await connect(healthy);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    try {
      expect(await toolNames(client)).not.toContain("state__extra_1");
      await call(client, "state__grow");
      await waitFor(() => changed > 0 || undefined, {
        timeoutMs: TIMEOUT_MS,
        what: "list_changed",
      });
      expect(await toolNames(client)).toContain("state__extra_1");
      expect(firstText((await call(client, "state__extra_1")) as Record<string, unknown>)).toBe(
        "extra 1",
      );
    } finally {
      await client.close();
    }
  });

  it("forwards a client's cancellation upstream", async () => {
    const client = await connect(healthy);
    try {
      const before = (await call(client, "state__stats")).structuredContent as {
        cancelled: number;
      };
      const controller = new AbortController();
      const slow = client.callTool({ name: "state__slow", arguments: { ms: 15_000 } }, undefined, {
        signal: controller.signal,
        timeout: TIMEOUT_MS,
      });
      slow.catch(() => {});
      await sleep(300);
      controller.abort("changed my mind");
      await expect(slow).rejects.toThrow();
      await waitFor(
        async () => {
          const stats = (await call(client, "state__stats")).structuredContent as {
            cancelled: number;
          };
          return stats.cancelled > before.cancelled || undefined;
        },
        { timeoutMs: TIMEOUT_MS, intervalMs: 100, what: "the upstream to see the cancellation" },
      );
    } finally {
      await client.close();
    }
  });

  it("opens an upstream session once for calls waiting together, and one caller's cancel ends only its own wait", async () => {
    const upstream = stateful;
    if (!upstream) throw new Error("upstream did not start");
    const client = await connect(healthy);
    // The upstream stops answering: this new session's first calls wait on one initialize.
    process.kill(upstream.pid, "SIGSTOP");
    let resumed = false;
    try {
      const controller = new AbortController();
      const first = client.callTool({ name: "state__recall", arguments: {} }, undefined, {
        signal: controller.signal,
        timeout: TIMEOUT_MS,
      });
      first.catch(() => {});
      await sleep(300);
      const second = client.callTool({ name: "state__recall", arguments: {} }, undefined, {
        timeout: TIMEOUT_MS,
      });
      await sleep(300);
      controller.abort("changed my mind");
      await expect(first).rejects.toThrow();
      await sleep(300);
      process.kill(upstream.pid, "SIGCONT");
      resumed = true;
      const answered = (await second) as CallToolResult;
      expect(answered.isError).not.toBe(true);
    } finally {
      if (!resumed) process.kill(upstream.pid, "SIGCONT");
      await client.close();
    }
  });

  it("keeps one upstream session per gateway session", async () => {
    const [a, b] = await Promise.all([connect(healthy), connect(healthy)]);
    try {
      await call(a, "state__remember", { value: "alpha" });
      await call(b, "state__remember", { value: "beta" });
      expect(firstText((await call(a, "state__recall")) as Record<string, unknown>)).toBe("alpha");
      expect(firstText((await call(b, "state__recall")) as Record<string, unknown>)).toBe("beta");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("times out a slow upstream call with a clear error, and the session keeps working", async () => {
    const client = await connect(healthy);
    try {
      const started = Date.now();
      const error = await call(client, "tight__slow", { ms: 5_000 }).then(
        () => null,
        (e: { code?: number; message: string }) => e,
      );
      expect(error?.code).toBe(UPSTREAM_TIMEOUT);
      expect(error?.message).toContain('Upstream "tight" timed out after 700 ms');
      expect(Date.now() - started).toBeLessThan(4_500);
      expect(
        firstText((await call(client, "echo", { text: "still here" })) as Record<string, unknown>),
      ).toBe("still here");
      // A tool outside allowTools is not offered.
      await expect(call(client, "tight__remember", { value: "x" })).rejects.toThrow(/Unknown tool/);
    } finally {
      await client.close();
    }
  });

  it("sends configured secret headers upstream", async () => {
    const client = await connect(healthy);
    try {
      const result = await call(client, "state__header", { name: "x-upstream-key" });
      expect(firstText(result as Record<string, unknown>)).toBe(SECRET_VALUE);
      // An upstream that demands the key serves the gateway that sends it.
      await call(client, "keyed__remember", { value: "behind a key" });
      expect(firstText((await call(client, "keyed__recall")) as Record<string, unknown>)).toBe(
        "behind a key",
      );
    } finally {
      await client.close();
    }
  });
});

describe("upstream sessions survive the gateway and the upstream", () => {
  it("reuses the same upstream session after the gateway's object is evicted", async () => {
    const gateway = gatewayOf(healthy);
    const socket = await RpcSocket.open(`${gateway.wsUrl}/ws`);
    try {
      await socket.call("initialize", {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "evict", version: "1" },
      });
      socket.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      await socket.call("tools/call", { name: "state__remember", arguments: { value: "kept" } });
      const first = await socket.call("tools/call", { name: "state__recall", arguments: {} });
      const upstreamSession = (first.structuredContent as { sessionId: string }).sessionId;
      const wakesBefore = await wakes(socket);
      await sleep(IDLE_FOR_EVICTION_MS);
      const after = await socket.call("tools/call", { name: "state__recall", arguments: {} });
      expect(await wakes(socket)).toBeGreaterThan(wakesBefore);
      expect(firstText(after)).toBe("kept");
      expect((after.structuredContent as { sessionId: string }).sessionId).toBe(upstreamSession);
    } finally {
      await socket.close();
    }
  }, 60_000);

  it("opens new upstream sessions when a re-initialising client declares other capabilities", async () => {
    const socket = await RpcSocket.open(`${gatewayOf(healthy).wsUrl}/ws`);
    const initialize = (capabilities: Record<string, unknown>) =>
      socket.call("initialize", {
        protocolVersion: "2025-11-25",
        capabilities,
        clientInfo: { name: "caps", version: "1" },
      });
    const listed = async () =>
      ((await socket.call("tools/list", {})).tools as { name: string }[]).map((t) => t.name);
    const upstreamSession = async () =>
      (
        (await socket.call("tools/call", { name: "state__recall", arguments: {} }))
          .structuredContent as {
          sessionId: string;
        }
      ).sessionId;
    try {
      await initialize({});
      // server-everything offers its elicitation tool only to clients that can answer one.
      expect(await listed()).not.toContain("everything__trigger-elicitation-request");
      const before = await upstreamSession();
      await initialize({ elicitation: {} });
      expect(await listed()).toContain("everything__trigger-elicitation-request");
      const after = await upstreamSession();
      expect(after).not.toBe(before);
      // Same capabilities again: the same upstream session.
      await initialize({ elicitation: {} });
      expect(await upstreamSession()).toBe(after);
    } finally {
      await socket.close();
    }
  });

  it("re-initialises transparently after the upstream restarts", async () => {
    const gateway = gatewayOf(healthy);
    const client = await connect(gateway);
    try {
      await call(client, "state__remember", { value: "before restart" });
      const before = (await call(client, "state__recall")).structuredContent as {
        sessionId: string;
      };
      // A call in flight when the upstream dies fails with its own error, at once.
      const inFlight = call(client, "state__slow", { ms: 15_000 }).then(
        () => null,
        (e: { code?: number; message: string }) => e,
      );
      await waitFor(
        async () => {
          const direct_ = await direct(stateful);
          try {
            const stats = (await call(direct_, "stats")).structuredContent as { running: number };
            return stats.running > 0 || undefined;
          } finally {
            await (
              direct_.transport as StreamableHTTPClientTransport | undefined
            )?.terminateSession();
            await direct_.close();
          }
        },
        { timeoutMs: TIMEOUT_MS, intervalMs: 50, what: "the slow call to start upstream" },
      );
      const port = stateful?.port;
      await stateful?.stop();
      const broken = await inFlight;
      expect(broken?.code).toBe(UPSTREAM_UNAVAILABLE);
      expect(broken?.message).toMatch(/Upstream "state" (broke the connection|closed its stream)/);
      stateful = await startStatefulUpstream({ port });
      const after = await call(client, "state__recall");
      // A new upstream session: the value is gone, the call still succeeds.
      expect(firstText(after as Record<string, unknown>)).toBe("(nothing)");
      expect((after.structuredContent as { sessionId: string }).sessionId).not.toBe(
        before.sessionId,
      );
      await call(client, "state__remember", { value: "after restart" });
      expect(firstText((await call(client, "state__recall")) as Record<string, unknown>)).toBe(
        "after restart",
      );
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe("the request deadline and a person answering", () => {
  it("does not count the client's thinking time against REQUEST_DEADLINE_MS, but still bounds the gateway's work", async () => {
    const client = await connect(faulty, {
      name: "Patient",
      answerAfterMs: FAULTY_DEADLINE_MS + 2_000,
    });
    try {
      const answered = await call(client, "state__ask_name");
      expect(firstText(answered as Record<string, unknown>)).toBe("hello Patient");
      // Work itself is still cut at the deadline.
      const error = await call(client, "state__slow", { ms: FAULTY_DEADLINE_MS + 3_000 }).then(
        () => null,
        (e: { code?: number }) => e,
      );
      expect(error?.code).toBe(-32001);
    } finally {
      await client.close();
    }
  }, 30_000);
});

describe("an upstream that never acknowledges the client's answer", () => {
  it("fails the call by the upstream's own timeout (-32031, naming it), not at the request deadline", async () => {
    const upstream = await startStatefulUpstream({ mode: "stall-replies" });
    let gateway: Gateway | undefined;
    try {
      gateway = await startGateway({
        vars: {
          REQUEST_DEADLINE_MS: String(TIMEOUT_MS + 10_000),
          UPSTREAMS: JSON.stringify([
            { name: "stall", url: upstream.url, prefix: "stall", timeoutMs: 1_000 },
          ]),
        },
      });
      const client = await connect(gateway, { name: "Quick" });
      try {
        // The upstream asks for a name; the client answers at once; the gateway's POST of
        // that answer is never acknowledged.
        const error = await call(client, "stall__ask_name").then(
          () => null,
          (e: { code?: number; message: string }) => e,
        );
        expect(error?.code).toBe(UPSTREAM_TIMEOUT);
        expect(error?.message).toContain('Upstream "stall" timed out');
      } finally {
        await client.close();
      }
    } finally {
      await gateway?.stop();
      await upstream.stop();
    }
  }, 60_000);
});

describe("failing upstreams", () => {
  it("lists what works and names the unavailable upstreams in _meta", async () => {
    const client = await connect(faulty);
    try {
      const started = Date.now();
      const result = await client.listTools(undefined, { timeout: TIMEOUT_MS });
      expect(Date.now() - started).toBeLessThan(8_000);
      const names = result.tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(["echo", "state__recall"]));
      expect(names.some((n) => /^(down|hang|garbage|locked)__/.test(n))).toBe(false);
      const unavailable = (result._meta as Record<string, unknown>)[UNAVAILABLE_META] as {
        upstream: string;
        reason: string;
      }[];
      expect(unavailable.map((u) => u.upstream).sort()).toEqual([
        "down",
        "garbage",
        "hang",
        "locked",
      ]);
      expect(unavailable.find((u) => u.upstream === "locked")?.reason).toBe(
        "refused the gateway's credentials (HTTP 401)",
      );
      expect(unavailable.find((u) => u.upstream === "down")?.reason).toBe("could not be reached");
      expect(unavailable.find((u) => u.upstream === "hang")?.reason).toBe(
        "timed out after 1000 ms",
      );
      expect(unavailable.find((u) => u.upstream === "garbage")?.reason).toMatch(/not JSON/);
      // Within RETRY_AFTER_MS, lists skip the failed upstreams instead of waiting for them again.
      const again = await client.listTools(undefined, { timeout: TIMEOUT_MS });
      const skipped = (again._meta as Record<string, unknown>)[UNAVAILABLE_META] as {
        upstream: string;
        reason: string;
      }[];
      expect(skipped.find((u) => u.upstream === "hang")?.reason).toMatch(
        /^timed out after 1000 ms \(failed \d+ s ago; tried again in \d+ s\)$/,
      );
      expect(again.tools.map((t) => t.name)).toContain("state__recall");
    } finally {
      await client.close();
    }
  });

  it("fails calls to each broken upstream with its own error, naming the upstream but not its address", async () => {
    const client = await connect(faulty);
    try {
      const cases = [
        {
          tool: "down__anything",
          code: UPSTREAM_UNAVAILABLE,
          text: 'Upstream "down" could not be reached',
        },
        {
          tool: "hang__anything",
          code: UPSTREAM_TIMEOUT,
          text: 'Upstream "hang" timed out after 1000 ms',
        },
        { tool: "garbage__anything", code: UPSTREAM_INVALID, text: 'Upstream "garbage"' },
        {
          tool: "locked__recall",
          code: UPSTREAM_UNAVAILABLE,
          text: `Upstream "locked" refused the gateway's credentials (HTTP 401)`,
        },
      ];
      for (const expected of cases) {
        const error = await call(client, expected.tool).then(
          () => null,
          (e: { code?: number; message: string; data?: unknown }) => e,
        );
        expect(error?.code, expected.tool).toBe(expected.code);
        expect(error?.message).toContain(expected.text);
        expect(error?.message).not.toMatch(/127\.0\.0\.1|localhost|http:/);
        // The healthy upstream and the built-ins are unaffected.
        expect(
          firstText((await call(client, "echo", { text: "ok" })) as Record<string, unknown>),
        ).toBe("ok");
        await call(client, "state__recall");
      }
    } finally {
      await client.close();
    }
  });
});

describe("federation for 2026-07-28 clients (stateless HTTP)", () => {
  const envelope = (capabilities: Record<string, unknown> = {}) => ({
    [META_PROTOCOL_VERSION]: "2026-07-28",
    [META_CLIENT_INFO]: { name: "dormouse-e2e-modern", version: "1" },
    [META_CLIENT_CAPABILITIES]: capabilities,
  });

  async function modern(
    method: string,
    params: Record<string, unknown>,
    capabilities = {},
    target: { gateway?: Gateway; token?: string } = {},
  ) {
    const gateway = gatewayOf(target.gateway ?? healthy);
    const name = typeof params.name === "string" ? params.name : undefined;
    const response = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
        ...(name ? { "Mcp-Name": name } : {}),
        ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}),
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method,
        params: { ...params, _meta: envelope(capabilities) },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const json = response.headers.get("Content-Type")?.startsWith("text/event-stream")
      ? JSON.parse(
          text
            .split("\n")
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5))
            .pop() ?? "{}",
        )
      : JSON.parse(text);
    if (!json.result) throw new Error(JSON.stringify(json));
    return json.result as Record<string, unknown>;
  }

  it("lists and calls upstream tools without a session", async () => {
    const list = await modern("tools/list", {});
    const names = (list.tools as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["echo", "state__recall", "everything__get-sum"]));
    const sum = await modern("tools/call", {
      name: "everything__get-sum",
      arguments: { a: 1, b: 2 },
    });
    expect(sum.resultType).toBe("complete");
    expect(firstText(sum)).toContain("3");
  });

  it("bridges an upstream elicitation through input_required and a retry", async () => {
    const caps = { elicitation: {} };
    const first = await modern("tools/call", { name: "state__ask_name", arguments: {} }, caps);
    expect(first.resultType).toBe("input_required");
    const requests = first.inputRequests as Record<string, { method: string }>;
    const [key] = Object.keys(requests);
    expect(key).toBeDefined();
    expect(requests[key as string]?.method).toBe("elicitation/create");
    const second = await modern(
      "tools/call",
      {
        name: "state__ask_name",
        arguments: {},
        inputResponses: { [key as string]: { action: "accept", content: { name: "Lin" } } },
        requestState: first.requestState,
      },
      caps,
    );
    expect(second.resultType).toBe("complete");
    expect(firstText(second)).toBe("hello Lin");
  });

  it("announces an upstream's list change, seen in a session's call, on 2026-07-28 listen streams", async () => {
    const gateway = gatewayOf(healthy);
    const listen = await fetch(`${gateway.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "subscriptions/listen",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "listen-1",
        method: "subscriptions/listen",
        params: { notifications: { toolsListChanged: true }, _meta: envelope() },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS * 2),
    });
    expect(listen.status).toBe(200);
    const stream = sseOf(listen);
    try {
      await stream.messages({
        until: (m) => m.method === "notifications/subscriptions/acknowledged",
        timeoutMs: TIMEOUT_MS,
      });
      const client = await connect(healthy);
      try {
        await call(client, "state__grow");
      } finally {
        await client.close();
      }
      const [changed] = await stream.messages({
        until: (m) => m.method === "notifications/tools/list_changed",
        timeoutMs: TIMEOUT_MS,
      });
      expect(changed?.params).toMatchObject({
        _meta: { "io.modelcontextprotocol/subscriptionId": "listen-1" },
      });
    } finally {
      await stream.cancel();
    }
  });

  it("never lets one principal reach another principal's upstream session", async () => {
    const alice = { gateway: guarded, token: tokens.alice };
    const bob = { gateway: guarded, token: tokens.bob };
    const call = (name: string, args: Record<string, unknown>, who: typeof alice) =>
      modern("tools/call", { name, arguments: args }, {}, who);
    await call("state__remember", { value: "alice's secret" }, alice);
    // Alice's requests share one pooled upstream session; Bob's never see it.
    expect(firstText(await call("state__recall", {}, alice))).toBe("alice's secret");
    expect(firstText(await call("state__recall", {}, bob))).toBe("(nothing)");
  });
});

describe("federation over session-era Streamable HTTP", () => {
  const headers = (sessionId?: string) => ({
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    ...(sessionId ? { "Mcp-Session-Id": sessionId, "MCP-Protocol-Version": "2025-11-25" } : {}),
  });

  async function postMessage(message: object, sessionId?: string): Promise<Response> {
    return fetch(`${gatewayOf(healthy).url}/mcp`, {
      method: "POST",
      headers: headers(sessionId),
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  }

  async function upstreamSessions(): Promise<number> {
    const client = await direct(stateful);
    try {
      const result = await call(client, "stats");
      // Minus the direct client's own session.
      return (result.structuredContent as { sessions: number }).sessions - 1;
    } finally {
      await (client.transport as StreamableHTTPClientTransport | undefined)?.terminateSession();
      await client.close();
    }
  }

  /** initialize and notifications/initialized over POST; the new session's id. */
  async function openSession(capabilities: Record<string, unknown> = {}): Promise<string> {
    const init = await postMessage({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities,
        clientInfo: { name: "dormouse-e2e-http", version: "1" },
      },
    });
    expect(init.status).toBe(200);
    const sessionId = init.headers.get("Mcp-Session-Id") ?? "";
    await init.text();
    expect(
      (await postMessage({ jsonrpc: "2.0", method: "notifications/initialized" }, sessionId))
        .status,
    ).toBe(202);
    return sessionId;
  }

  function toolCall(id: number, name: string, args: Record<string, unknown> = {}) {
    return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
  }

  it("refuses the session's requests from the moment its DELETE begins, while its upstream sessions are still being ended", async () => {
    const upstream = locked;
    if (!upstream) throw new Error("upstream did not start");
    const sessionId = await openSession();
    // An upstream session of this gateway session, on an upstream that then stops
    // answering: ending it waits for its DELETE's bound (seconds).
    const opened = await postMessage(toolCall(2, "keyed__recall"), sessionId);
    expect(opened.status).toBe(200);
    await opened.text();
    process.kill(upstream.pid, "SIGSTOP");
    try {
      let deleteAnswered = false;
      const deleting = fetch(`${gatewayOf(healthy).url}/mcp`, {
        method: "DELETE",
        headers: headers(sessionId),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }).then((response) => {
        deleteAnswered = true;
        return response;
      });
      deleting.catch(() => {});
      // Long enough for the DELETE to reach the session, far shorter than its wait upstream.
      await sleep(300);
      const during = await postMessage(toolCall(3, "echo", { text: "still here?" }), sessionId);
      await during.text();
      expect(deleteAnswered).toBe(false);
      expect(during.status).toBe(404);
      expect((await deleting).status).toBe(204);
    } finally {
      process.kill(upstream.pid, "SIGCONT");
    }
  });

  it("relays an upstream elicitation on the call's SSE stream and ends upstream sessions with the session", async () => {
    const sessionId = await openSession({ elicitation: {} });
    const sessionsBefore = await upstreamSessions();

    const reply = await postMessage(toolCall(2, "state__ask_name"), sessionId);
    expect(reply.headers.get("Content-Type")).toMatch(/text\/event-stream/);
    const stream = sseOf(reply);
    const [asked] = await stream.messages({
      until: (m) => m.method === "elicitation/create",
      timeoutMs: TIMEOUT_MS,
    });
    expect(asked?.id).toMatch(/^dormouse-up-/);
    const answered = await postMessage(
      { jsonrpc: "2.0", id: asked?.id, result: { action: "accept", content: { name: "Hopper" } } },
      sessionId,
    );
    expect(answered.status).toBe(202);
    const messages = await stream.messages({ until: (m) => m.id === 2, timeoutMs: TIMEOUT_MS });
    const result = messages.at(-1)?.result as Record<string, unknown>;
    expect(firstText(result)).toBe("hello Hopper");
    expect(await upstreamSessions()).toBe(sessionsBefore + 1);

    // Ending the gateway session ends the upstream session it opened.
    const deleted = await fetch(`${gatewayOf(healthy).url}/mcp`, {
      method: "DELETE",
      headers: headers(sessionId),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    expect(deleted.status).toBe(204);
    await waitFor(async () => ((await upstreamSessions()) === sessionsBefore ? true : undefined), {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 100,
      what: "the upstream session to be deleted",
    });
  });
});

async function wakes(socket: RpcSocket): Promise<number> {
  const info = await socket.call("tools/call", { name: "session_info", arguments: {} });
  return (JSON.parse(firstText(info)) as { wakes: number }).wakes;
}

describe("a bad UPSTREAMS", () => {
  it("is logged with the field and reason when the Worker starts, and every endpoint refuses with 503", async () => {
    const gateway = await startGateway({
      readyStatus: 503,
      vars: {
        UPSTREAMS: JSON.stringify([{ name: "broken", url: "ftp://127.0.0.1/mcp", prefix: "b" }]),
      },
    });
    try {
      const health = await fetch(`${gateway.url}/healthz`, {
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      expect(health.status).toBe(503);
      // /healthz is public: the reason is not in its body.
      expect(await health.json()).toEqual({ status: "misconfigured", service: "dormouse" });
      const post = await fetch(`${gateway.url}/mcp`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "x", version: "1" },
          },
        }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      expect(post.status).toBe(503);
      expect(await post.text()).toMatch(/misconfigured/);
      await waitFor(() => (gateway.logTail().includes("config_invalid") ? true : undefined), {
        timeoutMs: TIMEOUT_MS,
        what: "the config_invalid log line",
      });
      expect(gateway.logTail()).toContain("UPSTREAMS[0].url (broken): an http(s) URL");
    } finally {
      await gateway.stop();
    }
  }, 60_000);
});
