/**
 * The resumable WebSocket binding, inside workerd: a request keeps running when
 * its socket goes, what the session sends is numbered and kept, and a
 * re-attach with `received=<n>` gets exactly what it missed, in order, before
 * anything new; what is no longer held is named, never skipped silently.
 * Through a real TCP connection cut (no close frame) and a gateway restart:
 * tests/e2e/resumable-websocket.test.ts.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OUTBOX_MAX_ROWS } from "../../shared/limits";
import { NOTICE_MESSAGES_LOST, NOTICE_RESUMED } from "../../shared/protocol";
import {
  DEFERRED_WRITE_MS,
  SocketReplay,
  WS_NUMBERS_RESERVED_AHEAD,
  WS_NUMBERS_RESERVED_MAX,
} from "../../worker/session/replay";
import { WS_STREAM } from "../../worker/storage/outbox-table";
import { SessionStorage } from "../../worker/storage/session-storage";
import { waitFor } from "../helpers/wait";
import {
  connect,
  delay,
  type Frame,
  isObject,
  type JsonObject,
  sessionStub,
  toolText,
  upgrade,
  WAIT_MS,
} from "../helpers/workerd";

/**
 * A new session's storage and its WebSocket replay, as the session object
 * builds them, in the object `state` of `id`, with a socket attached.
 */
function newReplay(state: DurableObjectState, id: DurableObjectId, flushSoon = () => {}) {
  const storage = new SessionStorage(state.storage);
  storage.create(id.toString(), Date.now(), "anonymous");
  const replay = new SocketReplay({
    outbox: storage.outbox,
    enabled: true,
    flushSoon,
    afterHibernation: false,
    createdHere: () => true,
    attached: () => true,
  });
  return { storage, replay };
}

function isNotice(method: string) {
  return (frame: Frame) => isObject(frame) && frame.method === method;
}

/** The frames of a socket after its upgrade up to and including the resumed notice. */
async function replayOf(client: Awaited<ReturnType<typeof connect>>): Promise<JsonObject[]> {
  await client.nextMessage(isNotice(NOTICE_RESUMED), "the resumed notice");
  const frames = client.received.filter(isObject);
  const end = frames.findIndex(isNotice(NOTICE_RESUMED));
  return frames.slice(0, end + 1);
}

describe("a request whose socket goes away", () => {
  it("keeps running, and its reply reaches the next socket with received=<n>", async () => {
    const first = await connect();
    await first.initialize();
    await first.callTool("counter", { by: 1 });
    const received = first.numbered();
    first.sendJson({
      jsonrpc: "2.0",
      id: "slow",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 300 } },
    });
    await delay(50);
    first.socket.close(1000, "laptop lid closed");
    await delay(600);
    const second = await connect(first.sessionId, received);
    const replay = await replayOf(second);
    expect(replay[0]).toMatchObject({ id: "slow", result: {} });
    expect(toolText((replay[0] as { result: JsonObject }).result)).toBe("slept 300 ms");
    expect(replay[1]).toMatchObject({
      method: NOTICE_RESUMED,
      params: { received, replayed: 1, lost: 0, sent: received + 1, inFlight: [] },
    });
    // Then the session goes on: the counter saw exactly one increment.
    expect(toolText(await second.callTool("counter", { by: 1 }))).toBe("2");
  });

  it("lists a request still running at the re-attach as in flight, then delivers its reply", async () => {
    const first = await connect();
    await first.initialize();
    const received = first.numbered();
    first.sendJson({
      jsonrpc: "2.0",
      id: 41,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 600 } },
    });
    await delay(50);
    first.socket.close(1000, "gone");
    const second = await connect(first.sessionId, received);
    const replay = await replayOf(second);
    expect(replay.at(-1)).toMatchObject({ method: NOTICE_RESUMED, params: { inFlight: [41] } });
    const reply = await second.nextResponse(41, 5_000);
    expect(toolText(reply.result ?? {})).toBe("slept 600 ms");
  });

  it("without received, replays only what was produced while no socket was attached", async () => {
    const first = await connect();
    await first.initialize();
    first.sendJson({
      jsonrpc: "2.0",
      id: "while-away",
      method: "tools/call",
      params: { name: "echo", arguments: { text: "queued" } },
    });
    await first.nextResponse("while-away");
    first.sendJson({
      jsonrpc: "2.0",
      id: "after-close",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 200 } },
    });
    await delay(20);
    first.socket.close(1000, "gone");
    await delay(400);
    const second = await connect(first.sessionId);
    const replay = await replayOf(second);
    expect(replay.map((f) => f.id ?? f.method)).toEqual(["after-close", NOTICE_RESUMED]);
  });
});

describe("what a re-attach cannot have", () => {
  it(`names the messages no longer held (beyond the newest ${OUTBOX_MAX_ROWS}) in a messages_lost notice`, async () => {
    const first = await connect();
    await first.initialize();
    for (let i = 0; i < OUTBOX_MAX_ROWS + 60; i++) {
      first.sendJson({
        jsonrpc: "2.0",
        id: i + 100,
        method: "tools/call",
        params: { name: "echo", arguments: { text: String(i) } },
      });
      // Stay under the per-session message rate.
      if (i % 40 === 39) await first.nextResponse(i + 100);
      if (i % 40 === 39) await delay(900);
    }
    await first.nextResponse(OUTBOX_MAX_ROWS + 159);
    const sent = first.numbered();
    first.socket.close(1000, "gone");
    const second = await connect(first.sessionId, 0);
    const replay = await replayOf(second);
    const held = replay.length - 2;
    // The store keeps the newest 256 messages at least, trimming in batches of 32.
    expect(held).toBeGreaterThanOrEqual(OUTBOX_MAX_ROWS);
    expect(held).toBeLessThanOrEqual(OUTBOX_MAX_ROWS + 32);
    expect(replay[0]).toMatchObject({
      method: NOTICE_MESSAGES_LOST,
      params: { first: 1, last: sent - held, count: sent - held },
    });
    expect(replay.at(-1)).toMatchObject({
      method: NOTICE_RESUMED,
      params: { received: 0, replayed: held, lost: sent - held, sent },
    });
    expect(second.numbered()).toBe(sent);
  });

  it("names a reply too large for a stored row (in UTF-8 bytes, not characters) as lost, and replays what came after it", async () => {
    const first = await connect();
    await first.initialize();
    const before = first.numbered();
    // 700,000 characters but 2.1 MB of UTF-8: over what a SQLite row holds (2 MB).
    const wide = "中".repeat(700_000);
    const big = await first.callTool("echo", { text: wide });
    expect(toolText(big).length).toBe(wide.length);
    expect(toolText(await first.callTool("echo", { text: "after" }))).toBe("after");
    const sent = first.numbered();
    first.socket.close(1000, "gone");
    const second = await connect(first.sessionId, before);
    const replay = await replayOf(second);
    expect(replay[0]).toMatchObject({
      method: NOTICE_MESSAGES_LOST,
      params: { first: before + 1, last: before + 1, count: 1 },
    });
    expect(toolText(replay[1]?.result as JsonObject)).toBe("after");
    expect(replay.at(-1)).toMatchObject({
      method: NOTICE_RESUMED,
      params: { received: before, replayed: 1, lost: 1, sent },
    });
    expect(toolText(await second.callTool("echo", { text: "and on" }))).toBe("and on");
  });

  it("refuses received larger than what was sent with 400, and the attached socket stays", async () => {
    const first = await connect();
    await first.initialize();
    const sent = first.numbered();
    const response = await upgrade(`/ws?session=${first.sessionId}&received=${sent + 5}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(
      new RegExp(`received=${sent + 5} is more than the ${sent}`),
    );
    await delay(50);
    expect(first.closed).toBeNull();
    expect(toolText(await first.callTool("echo", { text: "still here" }))).toBe("still here");
  });

  it.each([
    ["a negative number", "-1"],
    ["a fraction", "1.5"],
    ["a word", "many"],
    ["a number past 2^53", "90071992547409930"],
    ["an empty value", ""],
  ])("refuses received that is %s with 400 before any upgrade", async (_label, value) => {
    const first = await connect();
    await first.initialize();
    const response = await upgrade(`/ws?session=${first.sessionId}&received=${value}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/received must be a non-negative integer/);
    expect(first.closed).toBeNull();
  });

  it("refuses received on a new session (it only applies to a re-attach)", async () => {
    const response = await upgrade("/ws?received=3");
    expect(response.status).toBe(400);
  });
});

describe("a socket sent more than the store holds between two writes", () => {
  it("writes only what the store keeps: at most OUTBOX_MAX_ROWS rows per flush", async () => {
    const id = env.SESSIONS.newUniqueId();
    const written = await runInDurableObject(env.SESSIONS.get(id), (_instance, state) => {
      const { storage, replay } = newReplay(state, id);
      const batches: number[] = [];
      const keep = storage.outbox.keep.bind(storage.outbox);
      storage.outbox.keep = (stream, messages) => {
        batches.push(messages.length);
        keep(stream, messages);
      };
      // Twice the bound: the ring holds them all (it drops only past twice the bound).
      for (let i = 1; i <= 2 * OUTBOX_MAX_ROWS; i++) replay.record(JSON.stringify({ n: i }), true);
      replay.flush();
      const newest = storage.outbox.after(WS_STREAM, 0).map((m) => m.seq);
      return { batches, newest };
    });
    expect(written.batches).toEqual([OUTBOX_MAX_ROWS]);
    expect(written.newest).toEqual(
      Array.from({ length: OUTBOX_MAX_ROWS }, (_, i) => OUTBOX_MAX_ROWS + 1 + i),
    );
  });

  it("keeps the newest messages (older ones dropped unwritten) and names the rest as lost", async () => {
    const id = env.SESSIONS.newUniqueId();
    const outcome = await runInDurableObject(env.SESSIONS.get(id), (_instance, state) => {
      let scheduled = 0;
      const { replay } = newReplay(state, id, () => {
        scheduled += 1;
      });
      const total = 3 * OUTBOX_MAX_ROWS + 7;
      for (let i = 1; i <= total; i++) replay.record(JSON.stringify({ n: i }), true);
      // Reservations of numbers are written as they go (creating the table); the messages are not.
      const rowsBeforeFlush = state.storage.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox")
        .one().n;
      const frames = replay.frames(0, []).map((text) => JSON.parse(text) as JsonObject);
      return { total, scheduled, rowsBeforeFlush, frames, sent: replay.sent() };
    });
    // No message reached SQLite before the flush (one deferred write was asked for).
    expect(outcome.scheduled).toBe(1);
    expect(outcome.rowsBeforeFlush).toBe(0);
    const { frames, total } = outcome;
    const kept = frames.filter((f) => typeof f.n === "number").map((f) => f.n as number);
    expect(kept.length).toBeGreaterThanOrEqual(OUTBOX_MAX_ROWS);
    expect(kept.length).toBeLessThanOrEqual(2 * OUTBOX_MAX_ROWS);
    // The newest, in order, ending with the last one sent.
    expect(kept).toEqual(
      Array.from({ length: kept.length }, (_, i) => total - kept.length + 1 + i),
    );
    expect(frames[0]).toMatchObject({
      method: NOTICE_MESSAGES_LOST,
      params: { first: 1, last: total - kept.length },
    });
    expect(frames.at(-1)).toMatchObject({
      method: NOTICE_RESUMED,
      params: { received: 0, replayed: kept.length, lost: total - kept.length, sent: total },
    });
  });
});

describe("numbering across object lifetimes", () => {
  it("reserves numbers ahead in growing batches while they go fast: a busy socket writes rarely", async () => {
    const id = env.SESSIONS.newUniqueId();
    const reservations = await runInDurableObject(env.SESSIONS.get(id), (_instance, state) => {
      const { storage, replay } = newReplay(state, id);
      const reserved: number[] = [];
      const reserve = storage.outbox.reserveWs.bind(storage.outbox);
      storage.outbox.reserveWs = (through, now) => {
        reserved.push(through);
        reserve(through, now);
      };
      for (let i = 1; i <= 20_000; i++) replay.record(JSON.stringify({ n: i }), true);
      return reserved;
    });
    // The first 64 are reserved by the session's existence (its first replies write nothing);
    // then 64 more, twice as many each time up to WS_NUMBERS_RESERVED_MAX: 10 writes in all.
    expect(reservations).toEqual([128, 256, 512, 1024, 2048, 4096, 8192, 12288, 16384, 20480]);
    expect(WS_NUMBERS_RESERVED_MAX).toBe(4_096);
  });

  function lostAndResumed(replay: JsonObject[]) {
    return replay.map((frame) => ({ method: frame.method, params: frame.params }));
  }

  it("after an end that wrote nothing of what it had sent (a crash), never gives a number again: the gap is named", async () => {
    const first = await connect();
    await first.initialize();
    await first.callTool("counter", { by: 1 });
    await first.callTool("counter", { by: 1 });
    const received = first.numbered();
    // Within DEFERRED_WRITE_MS: the replies are in memory only, and the sockets die with it.
    await evictDurableObject(sessionStub(first.sessionId), { webSockets: "close" });
    const second = await connect(first.sessionId, received);
    const replay = await replayOf(second);
    // The reservation made with the first message covers numbers 1 to WS_NUMBERS_RESERVED_AHEAD.
    const lost = WS_NUMBERS_RESERVED_AHEAD - received;
    expect(lostAndResumed(replay)).toEqual([
      {
        method: NOTICE_MESSAGES_LOST,
        params: { first: received + 1, last: WS_NUMBERS_RESERVED_AHEAD, count: lost },
      },
      {
        method: NOTICE_RESUMED,
        params: {
          received,
          replayed: 0,
          lost,
          sent: WS_NUMBERS_RESERVED_AHEAD,
          inFlight: [],
        },
      },
    ]);
    // What the session sends next has a number no message had before, and its state is intact.
    expect(toolText(await second.callTool("counter", { by: 1 }))).toBe("3");
  });

  it("after a clean close and an eviction, goes on from the last number without a gap", async () => {
    const first = await connect();
    await first.initialize();
    await first.callTool("counter", { by: 1 });
    const received = first.numbered();
    first.socket.close(1000, "done for now");
    await waitFor(() => first.closed !== null || undefined, {
      timeoutMs: WAIT_MS,
      what: "the close",
    });
    await delay(100);
    await evictDurableObject(sessionStub(first.sessionId));
    const second = await connect(first.sessionId, received);
    expect(lostAndResumed(await replayOf(second))).toEqual([
      {
        method: NOTICE_RESUMED,
        params: { received, replayed: 0, lost: 0, sent: received, inFlight: [] },
      },
    ]);
  });

  it("after a hibernation, the socket that slept counts on without a gap", async () => {
    const first = await connect();
    await first.initialize();
    await first.callTool("counter", { by: 1 });
    // As in production: the object is not evicted while its ring waits for the deferred write.
    await delay(DEFERRED_WRITE_MS + 300);
    await evictDurableObject(sessionStub(first.sessionId), { webSockets: "hibernate" });
    await first.callTool("counter", { by: 1 });
    const received = first.numbered();
    first.socket.close(1000, "done for now");
    await delay(100);
    const second = await connect(first.sessionId, received);
    expect(lostAndResumed(await replayOf(second))).toEqual([
      {
        method: NOTICE_RESUMED,
        params: { received, replayed: 0, lost: 0, sent: received, inFlight: [] },
      },
    ]);
  });
});
