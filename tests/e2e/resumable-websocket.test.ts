/**
 * The resumable WebSocket binding end to end: the v1 SDK `Client` over
 * client/'s transport, against a real `wrangler dev`, through a TCP proxy the
 * test controls (tests/helpers/tcp-proxy.ts): connections reset without a
 * close frame, traffic black-holed, a gateway SIGKILLed and restarted on its
 * state. A `sleep {ms: 3000}` call spans each fault; `counter` calls before
 * and after show that no increment was lost or doubled. The v2 client
 * (`@modelcontextprotocol/client`) runs over the same transport.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as V2Client } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeTransport } from "../../client/node";
import type { TransportEvent } from "../../client/resumable-websocket";
import { INVALID_PARAMS, INVALID_REQUEST, REQUEST_LOST } from "../../shared/errors";
import { MAX_IN_FLIGHT_PER_SESSION } from "../../shared/limits";
import { WsSession } from "../../tools/load/ws-session";
import { type Gateway, startGateway } from "../helpers/process";
import { CLIENT_INFO, FAST, openResumableClient } from "../helpers/resumable-client";
import { firstText, RpcSocket, type WireMessage } from "../helpers/rpc-socket";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";
import { sleep, waitFor, withTimeout } from "../helpers/wait";

const CALL_TIMEOUT_MS = 30_000;
const WAIT_MS = 5_000;

let gateway: Gateway;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  // The conformance toolset for test_elicitation (a call that asks the client).
  gateway = await startGateway({ vars: { TOOLSETS: "default,conformance" } });
});

afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await gateway?.stop();
});

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  proxies.push(proxy);
  return proxy;
}

function resumedEvents(events: TransportEvent[]) {
  return events.filter(
    (e): e is Extract<TransportEvent, { type: "resumed" }> => e.type === "resumed",
  );
}

describe("a call spanning a network fault", () => {
  it("resolves exactly once when the connection is reset at 100 ms and the network returns at 2 s", async () => {
    const proxy = await proxyTo(gateway.port);
    const resumable = await openResumableClient(proxy.wsUrl);
    try {
      expect(await resumable.callText("counter", {})).toBe("1");
      const call = resumable.callText("sleep", { ms: 3_000 }, CALL_TIMEOUT_MS);
      await sleep(100);
      proxy.down();
      await sleep(1_900);
      proxy.up();
      expect(await withTimeout(call, CALL_TIMEOUT_MS, "the sleep call")).toBe("slept 3000 ms");
      expect(await resumable.callText("counter", {})).toBe("2");
      expect([...resumable.answers.values()].every((n) => n === 1)).toBe(true);
      expect(resumable.answers.size).toBe(3); // counter, sleep, counter
      const types = resumable.events.map((e) => e.type);
      expect(types).toContain("drop");
      expect(types).toContain("retry");
      // The sleep was still running at the re-attach: named in flight, not failed.
      const resumed = await waitFor(() => resumedEvents(resumable.events)[0], {
        timeoutMs: WAIT_MS,
        what: "the resumed notice",
      });
      expect(resumed?.notice.inFlight).toHaveLength(1);
      expect(resumed?.failed).toEqual([]);
      expect(resumable.gone()).toBeUndefined();
    } finally {
      await resumable.close();
    }
  });

  it("resolves exactly once when traffic is black-holed at 100 ms and let through at 2 s (the keepalive notices)", async () => {
    const proxy = await proxyTo(gateway.port);
    const resumable = await openResumableClient(proxy.wsUrl);
    try {
      expect(await resumable.callText("counter", {})).toBe("1");
      const call = resumable.callText("sleep", { ms: 3_000 }, CALL_TIMEOUT_MS);
      await sleep(100);
      proxy.blackhole();
      await sleep(1_900);
      proxy.up();
      expect(await withTimeout(call, CALL_TIMEOUT_MS, "the sleep call")).toBe("slept 3000 ms");
      expect(await resumable.callText("counter", {})).toBe("2");
      expect([...resumable.answers.values()].every((n) => n === 1)).toBe(true);
      expect(resumable.events.map((e) => e.type)).toContain("keepalive_timeout");
      expect(resumable.gone()).toBeUndefined();
    } finally {
      await resumable.close();
    }
  });

  it("replays what arrived while the client was away: a reply produced during the outage comes once, after it", async () => {
    const proxy = await proxyTo(gateway.port);
    const resumable = await openResumableClient(proxy.wsUrl);
    try {
      const call = resumable.callText("sleep", { ms: 500 }, CALL_TIMEOUT_MS);
      await sleep(100);
      proxy.down();
      await sleep(1_500); // The reply is produced (and kept) while nobody is attached.
      proxy.up();
      expect(await withTimeout(call, CALL_TIMEOUT_MS, "the sleep call")).toBe("slept 500 ms");
      // The resumed notice is the last frame of the replay, after the reply it replayed.
      const resumed = await waitFor(() => resumedEvents(resumable.events)[0], {
        timeoutMs: WAIT_MS,
        what: "the resumed notice after the replayed reply",
      });
      expect(resumed?.notice.replayed).toBeGreaterThanOrEqual(1);
      expect(resumed?.notice.inFlight).toEqual([]);
      expect([...resumable.answers.values()].every((n) => n === 1)).toBe(true);
    } finally {
      await resumable.close();
    }
  });

  it("reports the session gone (onclose) when another client re-attaches to it, not on its own re-attach", async () => {
    const proxy = await proxyTo(gateway.port);
    const resumable = await openResumableClient(proxy.wsUrl);
    const sessionId = resumable.transport.sessionId;
    expect(sessionId).toMatch(/^[0-9a-f]{64}$/);
    try {
      proxy.cut();
      expect(await resumable.callText("counter", {})).toBe("1");
      expect(resumable.gone()).toBeUndefined();
      const other = await openResumableClient(gateway.wsUrl, { sessionId });
      try {
        await withTimeout(
          (async () => {
            while (!resumable.gone()) await sleep(20);
          })(),
          5_000,
          "the first client to see close 4001",
        );
        expect(resumable.gone()).toMatch(/another client/);
        expect(await other.callText("counter", {})).toBe("2");
      } finally {
        await other.close();
      }
    } finally {
      await resumable.close();
    }
  });
});

describe("what the client wrote into a connection that died", () => {
  it("writes an answer to the session's elicitation again after the re-attach, so the call ends", async () => {
    const proxy = await proxyTo(gateway.port);
    const events: TransportEvent[] = [];
    const transport = nodeTransport({
      url: `${proxy.wsUrl}/ws`,
      ...FAST,
      onEvent: (event) => events.push(event),
    });
    const client = new Client(CLIENT_INFO, { capabilities: { elicitation: { form: {} } } });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked += 1;
      // The network stops forwarding just as the person answers: the answer is
      // written into a connection that will never deliver it.
      proxy.blackhole();
      return { action: "accept", content: { username: "ada", email: "ada@example.com" } };
    });
    await withTimeout(client.connect(transport), 15_000, "the client to initialize");
    try {
      const call = client.callTool(
        { name: "test_elicitation", arguments: { message: "Who are you?" } },
        undefined,
        { timeout: CALL_TIMEOUT_MS },
      );
      call.catch(() => {});
      await waitFor(() => events.some((e) => e.type === "keepalive_timeout"), {
        timeoutMs: WAIT_MS,
        what: "the keepalive to find the connection dead",
      });
      // What it held is discarded with the connection (a reset), then the network returns.
      proxy.cut();
      proxy.up();
      const result = await withTimeout(call, 15_000, "the elicitation call to end");
      expect(firstText(result as Record<string, unknown>)).toMatch(/ada/);
      expect(asked).toBe(1);
      const resumed = resumedEvents(events).at(-1);
      expect(resumed?.rewritten).toBe(1);
    } finally {
      await withTimeout(client.close(), 5_000, "the client to close").catch(() => {});
    }
  });
});

describe("the v2 client (@modelcontextprotocol/client)", () => {
  it("connects over the same transport and keeps calling across a reset", async () => {
    const proxy = await proxyTo(gateway.port);
    const client = new V2Client(CLIENT_INFO, { capabilities: {} });
    await withTimeout(
      client.connect(nodeTransport({ url: `${proxy.wsUrl}/ws`, ...FAST })),
      15_000,
      "the v2 client to connect",
    );
    try {
      const call = async () =>
        firstText(
          (await client.callTool({ name: "counter", arguments: {} })) as Record<string, unknown>,
        );
      expect(await call()).toBe("1");
      proxy.cut();
      expect(await withTimeout(call(), CALL_TIMEOUT_MS, "a call after the reset")).toBe("2");
    } finally {
      await withTimeout(client.close(), 5_000, "the v2 client to close").catch(() => {});
    }
  });
});

describe("the load tool's WebSocket session", () => {
  it("re-attaches with received=<n> after a reset, and the call in flight still gets its answer", async () => {
    const proxy = await proxyTo(gateway.port);
    const lost: string[] = [];
    const session = new WsSession(
      {
        endpoint: `${proxy.wsUrl}/ws`,
        transport: "ws",
        protocol: "mcp",
        token: undefined,
        timeoutMs: 10_000,
      },
      (error) => lost.push(error.kind),
    );
    await session.open();
    try {
      expect((await session.call("counter", {})).text).toBe("1");
      const call = session.call("sleep", { ms: 1_000 });
      await sleep(100);
      proxy.cut();
      expect((await call).text).toBe("slept 1000 ms");
      expect((await session.call("counter", {})).text).toBe("2");
      expect(session.reattached).toBe(1);
      expect(lost).toEqual([]);
    } finally {
      await session.close();
    }
  });
});

describe("a gateway SIGKILLed and restarted on its state", () => {
  const gateways: Gateway[] = [];
  let persistDir: string | undefined;

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    if (persistDir) await rm(persistDir, { recursive: true, force: true, maxRetries: 3 });
  });

  it("fails the call that died with it (REQUEST_LOST for its id) and the session goes on", async () => {
    persistDir = await mkdtemp(join(tmpdir(), "dormouse-resume-crash-"));
    const first = await startGateway({ persistTo: persistDir, keepState: true });
    gateways.push(first);
    const proxy = await proxyTo(first.port);
    const resumable = await openResumableClient(proxy.wsUrl, {
      backoff: { initialDelayMs: 50, maxDelayMs: 1_000 },
    });
    try {
      expect(await resumable.callText("counter", {})).toBe("1");
      const call = resumable.callText("sleep", { ms: 3_000 }, 120_000);
      call.catch(() => {});
      await sleep(100);
      await first.crash();
      const second = await startGateway({ persistTo: persistDir, keepState: true });
      gateways.push(second);
      proxy.retarget(second.port);
      const error = await withTimeout(
        call.then(
          () => null,
          (e: unknown) => e,
        ),
        60_000,
        "the lost call to be answered",
      );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(REQUEST_LOST);
      expect(await resumable.callText("counter", {})).toBe("2");
      expect([...resumable.answers.values()].every((n) => n === 1)).toBe(true);
      const resumed = resumedEvents(resumable.events).at(-1);
      expect(resumed?.failed).toHaveLength(1);
      expect(resumable.gone()).toBeUndefined();
    } finally {
      await resumable.close();
    }
  }, 180_000);
});

describe("calls that wait: for the client's answer, or for their task", () => {
  const ELICIT = { elicitation: { form: {} } };
  const sockets: RpcSocket[] = [];
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
  });

  async function session(capabilities: Record<string, unknown>, url = `${gateway.wsUrl}/ws`) {
    const socket = await RpcSocket.open(url);
    sockets.push(socket);
    const init = await socket.call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities,
      clientInfo: CLIENT_INFO,
    });
    socket.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const meta = init._meta as Record<string, unknown> | undefined;
    return { socket, sessionId: String(meta?.["dormouse/sessionId"]) };
  }

  const replies = (socket: RpcSocket, id: unknown) =>
    socket.received.filter((m) => m.id === id && m.method === undefined);

  async function waitingElicitation(socket: RpcSocket, id: string) {
    socket.send({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "test_elicitation", arguments: { message: "Who?" } },
    });
    return waitFor(
      () => socket.received.find((m) => m.method === "elicitation/create" && m.id !== undefined),
      { timeoutMs: WAIT_MS, what: "the elicitation request" },
    );
  }

  const accept = (asked: WireMessage, username: string) => ({
    jsonrpc: "2.0",
    id: asked.id,
    result: { action: "accept", content: { username, email: `${username}@example.com` } },
  });

  it("refuses a new request with the id of a call waiting for its answer (-32600), and the call ends with its own answer", async () => {
    const { socket } = await session(ELICIT);
    const asked = await waitingElicitation(socket, "E");
    socket.send({
      jsonrpc: "2.0",
      id: "E",
      method: "tools/call",
      params: { name: "echo", arguments: { text: "same id" } },
    });
    await waitFor(() => replies(socket, "E").length >= 1, {
      timeoutMs: WAIT_MS,
      what: "the refusal",
    });
    expect(replies(socket, "E")[0]?.error?.code).toBe(INVALID_REQUEST);
    socket.send(accept(asked, "ada"));
    await waitFor(() => replies(socket, "E").length >= 2, {
      timeoutMs: WAIT_MS,
      what: "the result",
    });
    expect(firstText(replies(socket, "E")[1]?.result ?? {})).toMatch(/ada/);
    await sleep(200);
    expect(replies(socket, "E")).toHaveLength(2);
  });

  it(`resumes a call with its answer while ${MAX_IN_FLIGHT_PER_SESSION} other requests run`, async () => {
    const { socket } = await session(ELICIT);
    const asked = await waitingElicitation(socket, "E");
    for (let i = 0; i < MAX_IN_FLIGHT_PER_SESSION; i++) {
      socket.send({
        jsonrpc: "2.0",
        id: `s${i}`,
        method: "tools/call",
        params: { name: "sleep", arguments: { ms: 3_000 } },
      });
    }
    await sleep(300);
    socket.send(accept(asked, "grace"));
    const [reply] = await waitFor(() => replies(socket, "E").length > 0 && replies(socket, "E"), {
      timeoutMs: WAIT_MS,
      what: "the resumed call's reply",
    });
    expect(reply?.error).toBeUndefined();
    expect(firstText(reply?.result ?? {})).toMatch(/grace/);
  });

  it("ends a waiting call whose answer is not a valid JSON-RPC response (-32602)", async () => {
    const { socket } = await session(ELICIT);
    const asked = await waitingElicitation(socket, "E");
    socket.send({ jsonrpc: "2.0", id: asked.id, result: "not an object" });
    const [reply] = await waitFor(() => replies(socket, "E").length > 0 && replies(socket, "E"), {
      timeoutMs: WAIT_MS,
      what: "the call's end",
    });
    expect(reply?.error?.code).toBe(INVALID_PARAMS);
    // Nothing was sent to the gateway's own request id.
    expect(replies(socket, asked.id)).toEqual([]);
  });

  it("lists a tasks/result parked on its task among the requests still running at a re-attach", async () => {
    const { socket, sessionId } = await session({ tasks: {} });
    const created = await socket.call("tools/call", {
      name: "sleep",
      arguments: { ms: 4_000 },
      task: { ttl: 60_000 },
    });
    const taskId = (created.task as { taskId: string }).taskId;
    socket.send({ jsonrpc: "2.0", id: "R", method: "tasks/result", params: { taskId } });
    await sleep(300);
    const received = socket.received.length;
    await socket.close();
    const again = await RpcSocket.open(
      `${gateway.wsUrl}/ws?session=${sessionId}&received=${received}`,
    );
    sockets.push(again);
    const resumed = await waitFor(
      () => again.received.find((m) => m.method === "notifications/dormouse/resumed"),
      { timeoutMs: WAIT_MS, what: "the resumed notice" },
    );
    expect(resumed.params?.inFlight).toContain("R");
    // The new socket knows a call waits: its id is still refused to a new request.
    again.send({
      jsonrpc: "2.0",
      id: "R",
      method: "tools/call",
      params: { name: "echo", arguments: { text: "x" } },
    });
    const [refused] = await waitFor(() => replies(again, "R").length > 0 && replies(again, "R"), {
      timeoutMs: WAIT_MS,
      what: "the refusal of a waiting call's id",
    });
    expect(refused?.error?.code).toBe(INVALID_REQUEST);
  });
});
