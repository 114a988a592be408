/**
 * The client side of the resumable WebSocket binding, in plain Node: the
 * count of numbered messages, the bookkeeping of requests in flight, the
 * backoff, the keepalive, and the transport's reactions to each way a
 * connection ends, driven through a scripted socket factory (the real
 * gateway, proxy cuts and restarts are in tests/e2e/resumable-websocket.test.ts).
 */
import type { Transport as V2Transport } from "@modelcontextprotocol/client";
import type { Transport as V1Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffDelayMs } from "../../client/backoff";
import { Keepalive } from "../../client/keepalive";
import { Outstanding } from "../../client/outstanding";
import { ReceivedCount } from "../../client/received-count";
import {
  type JsonRpcMessage,
  type ResumableWebSocketOptions,
  ResumableWebSocketTransport,
  type TransportEvent,
} from "../../client/resumable-websocket";
import type { SocketEnd, SocketEvents, SocketFactory } from "../../client/socket";
import { Unconfirmed } from "../../client/unconfirmed";
import { verdictOf } from "../../client/verdict";
import { REQUEST_LOST } from "../../shared/errors";
import { CLOSE_SESSION_ENDED, CLOSE_SUPERSEDED } from "../../shared/limits";
import { NOTICE_MESSAGES_LOST, NOTICE_RESUMED } from "../../shared/protocol-constants";

const lost = (first: number, last: number) =>
  JSON.stringify({
    jsonrpc: "2.0",
    method: NOTICE_MESSAGES_LOST,
    params: { first, last, count: last - first + 1 },
  });
const resumed = (sent: number, inFlight: unknown[] = [], received: number | null = 0) =>
  JSON.stringify({
    jsonrpc: "2.0",
    method: NOTICE_RESUMED,
    params: { received, replayed: 0, lost: 0, sent, inFlight },
  });
const result = (id: number | string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id, result: { ...extra } });

describe("ReceivedCount", () => {
  it("counts every message but pong and the two unnumbered notices", () => {
    const count = new ReceivedCount();
    expect(count.observe(result(1)).kind).toBe("numbered");
    expect(count.observe("pong").kind).toBe("keepalive");
    expect(count.observe('{"jsonrpc":"2.0","method":"notifications/progress"}').kind).toBe(
      "numbered",
    );
    expect(count.observe(resumed(2)).kind).toBe("resumed");
    expect(count.value).toBe(2);
  });

  it("moves the count to `last` on messages_lost, never backwards", () => {
    const count = new ReceivedCount(3);
    expect(count.observe(lost(4, 9))).toMatchObject({ kind: "lost", notice: { last: 9 } });
    expect(count.value).toBe(9);
    count.observe(lost(2, 5));
    expect(count.value).toBe(9);
  });

  it("counts a frame that is not JSON (the session numbered it) and hands over no message", () => {
    const count = new ReceivedCount();
    expect(count.observe("{oops")).toEqual({ kind: "numbered", message: undefined });
    expect(count.value).toBe(1);
  });

  it("takes the resumed notice's `sent` as the count, flagging a disagreement", () => {
    const count = new ReceivedCount(5);
    expect(count.observe(resumed(5))).toMatchObject({ resync: false });
    expect(count.observe(resumed(8))).toMatchObject({ resync: true });
    expect(count.value).toBe(8);
  });

  it("counts a notice with a Dormouse method name but malformed params as an ordinary message", () => {
    const count = new ReceivedCount();
    const odd = JSON.stringify({ jsonrpc: "2.0", method: NOTICE_RESUMED, params: { sent: "x" } });
    expect(count.observe(odd).kind).toBe("numbered");
    expect(count.value).toBe(1);
  });
});

describe("Outstanding", () => {
  it("names as lost only requests of earlier connections that are neither answered nor running", () => {
    const outstanding = new Outstanding();
    outstanding.sent(1, 1);
    outstanding.sent("two", 1);
    outstanding.sent(3, 1);
    outstanding.sent(4, 2);
    outstanding.settled(1);
    expect(outstanding.lost(["two"], 2)).toEqual([3]);
    expect(outstanding.size).toBe(2);
  });

  it("tells the number 7 from the string '7'", () => {
    const outstanding = new Outstanding();
    outstanding.sent(7, 1);
    expect(outstanding.lost(["7"], 2)).toEqual([7]);
  });

  it("forgets the oldest entry beyond its bound", () => {
    const outstanding = new Outstanding(2);
    outstanding.sent(1, 1);
    outstanding.sent(2, 1);
    outstanding.sent(3, 1);
    expect(outstanding.lost([], 2)).toEqual([2, 3]);
  });
});

describe("Unconfirmed", () => {
  const entry = (text: string, cancelsKey?: string) => ({ text, cancelsKey });

  it("gives back what was written on earlier connections once, and cancels only of requests still running", () => {
    const kept = new Unconfirmed<ReturnType<typeof entry>>();
    const answer = entry('{"id":"a"}');
    const cancelRunning = entry("{}", "7");
    const cancelDone = entry("{}", "8");
    kept.wrote(1, answer);
    kept.wrote(1, cancelRunning);
    kept.wrote(1, cancelDone);
    const current = entry('{"id":"b"}');
    kept.wrote(2, current);
    expect(kept.again([7], 2)).toEqual([answer, cancelRunning]);
    expect(kept.size).toBe(1);
    expect(kept.again([7], 2)).toEqual([]);
  });

  it("forgets what a keepalive pong confirmed read, and only on the connection it was written on", () => {
    const kept = new Unconfirmed<ReturnType<typeof entry>>();
    const before = entry("before");
    const after = entry("after");
    kept.wrote(1, before);
    kept.pinged();
    kept.wrote(1, after);
    kept.ponged(1);
    expect(kept.again([], 2)).toEqual([after]);
    // A pong on a later connection confirms nothing written on an earlier one.
    const old = entry("old");
    kept.wrote(2, old);
    kept.pinged();
    kept.connected();
    kept.ponged(3);
    expect(kept.again([], 3)).toEqual([old]);
  });

  it("keeps at most its bound of messages and characters, the newest", () => {
    const kept = new Unconfirmed<ReturnType<typeof entry>>(3, 10);
    const written = ["aaaa", "bbbb", "cc", "d", "e"].map((text) => entry(text));
    for (const e of written) kept.wrote(1, e);
    expect(kept.again([], 2).map((e) => e.text)).toEqual(["cc", "d", "e"]);
    const big = entry("x".repeat(11));
    kept.wrote(2, big);
    expect(kept.size).toBe(0);
  });
});

describe("backoffDelayMs", () => {
  const options = { initialDelayMs: 100, maxDelayMs: 1_000 };

  it("doubles each attempt between half and all of the step, up to the cap", () => {
    expect(backoffDelayMs(0, options, () => 0)).toBe(50);
    expect(backoffDelayMs(0, options, () => 1)).toBe(100);
    expect(backoffDelayMs(2, options, () => 0.5)).toBe(300);
    expect(backoffDelayMs(50, options, () => 1)).toBe(1_000);
    expect(backoffDelayMs(50, options, () => 0)).toBe(500);
  });
});

describe("Keepalive", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("pings every interval and declares the connection dead after an interval with nothing heard", () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    let dead = 0;
    const keepalive = new Keepalive(
      1_000,
      (text) => sent.push(text),
      () => dead++,
    );
    keepalive.start();
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual(["ping"]);
    keepalive.heard();
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual(["ping", "ping"]);
    expect(dead).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(dead).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(dead).toBe(1);
  });
});

describe("verdictOf", () => {
  const node = { showsStatus: true, usedReceived: true };
  it.each([
    ["an open socket closed 4004", { code: 4004, opened: true }, node, "gone"],
    ["an open socket closed 4001", { code: 4001, opened: true }, node, "gone"],
    ["an open socket closed 1006 (no close frame)", { code: 1006, opened: true }, node, "retry"],
    ["an open socket closed 1001 (going away)", { code: 1001, opened: true }, node, "retry"],
    ["an open socket closed 4009 (outbound limit)", { code: 4009, opened: true }, node, "retry"],
    ["an upgrade refused 404", { code: 1006, opened: false, status: 404 }, node, "gone"],
    ["an upgrade refused 401", { code: 1006, opened: false, status: 401 }, node, "gone"],
    ["an upgrade refused 503", { code: 1006, opened: false, status: 503 }, node, "retry"],
    [
      "an upgrade refused 400 after received",
      { code: 1006, opened: false, status: 400 },
      node,
      "retry_without_received",
    ],
    [
      "an upgrade refused 400 without received",
      { code: 1006, opened: false, status: 400 },
      { showsStatus: true, usedReceived: false },
      "retry",
    ],
    ["a refused TCP connection", { code: 1006, opened: false }, node, "retry"],
    [
      "a failed upgrade in a browser (no status shown)",
      { code: 1006, opened: false },
      { showsStatus: false, usedReceived: true },
      "probe",
    ],
  ])("%s: %s", (_label, end, context, kind) => {
    expect(verdictOf({ reason: "", ...end }, context).kind).toBe(kind);
  });
});

/** A socket factory whose connections the test opens, feeds and ends by hand. */
class ScriptedSockets implements SocketFactory {
  readonly showsStatus = true;
  readonly opened: {
    url: string;
    events: SocketEvents;
    sent: string[];
    unsent: (() => void)[];
    closed: boolean;
  }[] = [];

  open(url: string, _token: string | undefined, events: SocketEvents) {
    const connection = {
      url,
      events,
      sent: [] as string[],
      unsent: [] as (() => void)[],
      closed: false,
    };
    this.opened.push(connection);
    return {
      sessionId: "s1",
      send: (text: string, unsent?: () => void) => {
        connection.sent.push(text);
        if (unsent) connection.unsent.push(unsent);
      },
      close: () => {
        connection.closed = true;
      },
      terminate: () => {
        connection.closed = true;
      },
    };
  }

  get last() {
    const connection = this.opened.at(-1);
    if (!connection) throw new Error("no connection opened");
    return connection;
  }

  end(end: Partial<SocketEnd>): void {
    this.last.events.end({ code: 1006, reason: "", opened: true, ...end });
  }
}

function setUp(options: Partial<ResumableWebSocketOptions> = {}) {
  const sockets = new ScriptedSockets();
  const events: TransportEvent[] = [];
  const transport = new ResumableWebSocketTransport({
    url: "ws://gateway.test/ws",
    socket: sockets,
    keepaliveIntervalMs: 0,
    backoff: { initialDelayMs: 10, maxDelayMs: 10 },
    random: () => 0,
    onEvent: (event) => events.push(event),
    ...options,
  });
  const received: JsonRpcMessage[] = [];
  let closed = 0;
  transport.onmessage = (message) => received.push(message);
  transport.onclose = () => closed++;
  return { sockets, transport, events, received, closed: () => closed };
}

async function started(setup: ReturnType<typeof setUp>): Promise<void> {
  const start = setup.transport.start();
  setup.sockets.last.events.open();
  await start;
}

describe("ResumableWebSocketTransport", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fits the v1 SDK Transport and the v2 client Transport", () => {
    const { transport } = setUp();
    const v1: V1Transport = transport;
    const v2: V2Transport = transport;
    expect(v1).toBe(v2);
  });

  it("shows no session id until the first answer, so an SDK Client still initializes", async () => {
    const setup = setUp();
    await started(setup);
    expect(setup.transport.sessionId).toBeUndefined();
    await setup.transport.send({ jsonrpc: "2.0", id: 0, method: "initialize", params: {} });
    setup.sockets.last.events.message(result(0));
    expect(setup.transport.sessionId).toBe("s1");
  });

  it("re-attaches after a drop with session and received, and delivers the replay once", async () => {
    vi.useFakeTimers();
    const setup = setUp();
    await started(setup);
    await setup.transport.send({ jsonrpc: "2.0", id: 1, method: "tools/call" });
    setup.sockets.last.events.message('{"jsonrpc":"2.0","method":"notifications/progress"}');
    setup.sockets.end({ code: 1006 });
    await vi.advanceTimersByTimeAsync(10);
    expect(setup.sockets.opened).toHaveLength(2);
    expect(setup.sockets.last.url).toBe("ws://gateway.test/ws?session=s1&received=1");
    setup.sockets.last.events.open();
    setup.sockets.last.events.message(result(1));
    setup.sockets.last.events.message(resumed(2, [], 1));
    expect(setup.received.map((m) => m.id ?? m.method)).toEqual(["notifications/progress", 1]);
    expect(setup.closed()).toBe(0);
    expect(setup.transport.received).toBe(2);
  });

  it("answers REQUEST_LOST for a request the re-attached session neither answered nor runs", async () => {
    vi.useFakeTimers();
    const setup = setUp();
    await started(setup);
    await setup.transport.send({ jsonrpc: "2.0", id: 1, method: "tools/call" });
    await setup.transport.send({ jsonrpc: "2.0", id: 2, method: "tools/call" });
    setup.sockets.end({ code: 1006 });
    await vi.advanceTimersByTimeAsync(10);
    setup.sockets.last.events.open();
    setup.sockets.last.events.message(resumed(0, [2]));
    expect(setup.received).toEqual([
      expect.objectContaining({ id: 1, error: expect.objectContaining({ code: REQUEST_LOST }) }),
    ]);
  });

  it("queues what is sent while re-attaching and sends it, in order, on the new socket", async () => {
    vi.useFakeTimers();
    const setup = setUp({ maxQueuedMessages: 2 });
    await started(setup);
    setup.sockets.end({ code: 1006 });
    await setup.transport.send({ jsonrpc: "2.0", id: 5, method: "a" });
    await setup.transport.send({ jsonrpc: "2.0", method: "b" });
    await expect(setup.transport.send({ jsonrpc: "2.0", method: "c" })).rejects.toThrow(
      /2 messages already wait/,
    );
    await vi.advanceTimersByTimeAsync(10);
    setup.sockets.last.events.open();
    expect(setup.sockets.last.sent.map((t) => JSON.parse(t).method)).toEqual(["a", "b"]);
    // Sent on the new connection: not lost by this connection's resumed notice.
    setup.sockets.last.events.message(resumed(0));
    expect(setup.received).toEqual([]);
  });

  it("sends again, on the next socket, a frame the platform reports never left (not counted lost)", async () => {
    vi.useFakeTimers();
    const setup = setUp();
    await started(setup);
    await setup.transport.send({ jsonrpc: "2.0", id: 1, method: "tools/call" });
    await setup.transport.send({ jsonrpc: "2.0", id: 2, method: "tools/call" });
    const first = setup.sockets.last;
    first.unsent[1]?.();
    setup.sockets.end({ code: 1006 });
    await vi.advanceTimersByTimeAsync(10);
    setup.sockets.last.events.open();
    expect(setup.sockets.last.sent.map((t) => JSON.parse(t).id)).toEqual([2]);
    setup.sockets.last.events.message(resumed(0, []));
    // Request 1 was written and may have arrived: it is the one reported lost.
    expect(setup.received.map((m) => m.id)).toEqual([1]);
  });

  it.each([
    ["a 404 on re-attach", { opened: false, status: 404 }],
    ["close 4004 (session ended)", { code: CLOSE_SESSION_ENDED }],
    ["close 4001 (another client took over)", { code: CLOSE_SUPERSEDED }],
    ["a 401 on re-attach", { opened: false, status: 401 }],
  ])("reports onclose once the session is gone: %s", async (_label, end) => {
    vi.useFakeTimers();
    const setup = setUp();
    await started(setup);
    if ("opened" in end) {
      setup.sockets.end({ code: 1006 });
      await vi.advanceTimersByTimeAsync(10);
    }
    setup.sockets.end(end);
    await vi.advanceTimersByTimeAsync(100);
    expect(setup.closed()).toBe(1);
    expect(setup.transport.state).toBe("closed");
    await expect(setup.transport.send({ jsonrpc: "2.0", method: "x" })).rejects.toThrow();
  });

  it("ignores the 4001 its own re-attach causes on the socket it already let go of", async () => {
    vi.useFakeTimers();
    const setup = setUp({ keepaliveIntervalMs: 100 });
    await started(setup);
    const first = setup.sockets.last;
    // Black-holed: nothing comes back; the keepalive gives up and re-attaches.
    await vi.advanceTimersByTimeAsync(200);
    await vi.advanceTimersByTimeAsync(10);
    expect(setup.sockets.opened).toHaveLength(2);
    setup.sockets.last.events.open();
    first.events.end({ code: CLOSE_SUPERSEDED, reason: "superseded", opened: true });
    expect(setup.closed()).toBe(0);
    expect(setup.events.map((e) => e.type)).toContain("keepalive_timeout");
  });

  it("keeps retrying with backoff while the gateway cannot be reached", async () => {
    vi.useFakeTimers();
    const setup = setUp();
    await started(setup);
    setup.sockets.end({ code: 1006 });
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(10);
      setup.sockets.end({ opened: false, reason: "ECONNREFUSED" });
    }
    await vi.advanceTimersByTimeAsync(10);
    expect(setup.sockets.opened).toHaveLength(5);
    expect(setup.closed()).toBe(0);
    expect(setup.events.filter((e) => e.type === "retry")).toHaveLength(4);
  });

  it("re-attaches once without received when the session refuses the count (400)", async () => {
    vi.useFakeTimers();
    const setup = setUp();
    const errors: Error[] = [];
    setup.transport.onerror = (error) => errors.push(error);
    await started(setup);
    setup.sockets.end({ code: 1006 });
    await vi.advanceTimersByTimeAsync(10);
    setup.sockets.end({ opened: false, status: 400 });
    await vi.advanceTimersByTimeAsync(10);
    expect(setup.sockets.last.url).toBe("ws://gateway.test/ws?session=s1");
    expect(errors).toHaveLength(1);
  });

  it("rejects start when the first socket does not open, and retries nothing", async () => {
    const setup = setUp();
    const start = setup.transport.start();
    setup.sockets.end({ opened: false, status: 401, reason: "Unauthorized" });
    await expect(start).rejects.toThrow(/HTTP 401: Unauthorized/);
    expect(setup.sockets.opened).toHaveLength(1);
  });
});
