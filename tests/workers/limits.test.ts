/**
 * Limits, each hit on purpose (shared/limits.ts, default config: auth off,
 * 50 messages/s with a burst of 100, 24 h idle TTL): JSON nesting depth,
 * requests in flight, message rate, and the idle TTL whose alarm deletes a
 * session's storage completely, in bounded steps. After every limit that the
 * protocol lets a session survive, the session is shown to still work.
 *
 * The TTL is driven without waiting a day: the test moves `last_active_at`
 * into the past through SQL and runs the object's alarm with
 * `runDurableObjectAlarm`.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INVALID_REQUEST, RATE_LIMITED, TOO_MANY_IN_FLIGHT } from "../../shared/errors";
import {
  CLOSE_SESSION_ENDED,
  DEFAULT_SESSION_IDLE_TTL_MS,
  MAX_IN_FLIGHT_PER_SESSION,
  MAX_JSON_DEPTH,
  RATE_BURST_MESSAGES,
  RATE_MESSAGES_PER_SECOND,
} from "../../shared/limits";
import { DEFERRED_WRITE_MS } from "../../worker/session/replay";
import { SessionStorage } from "../../worker/storage/session-storage";
import {
  counterHttp,
  deleteSession,
  initializeHttp,
  openStream,
  sessionPost,
} from "../helpers/http";
import { waitFor } from "../helpers/wait";
import {
  type Client,
  connect,
  delay,
  expectError,
  type JsonObject,
  type RpcResponse,
  sessionStub,
  toolText,
  upgrade,
  userTables,
  WAIT_MS,
} from "../helpers/workerd";

/** An object or array nested `levels` deep around `leaf`. */
function nested(levels: number, shape: "object" | "array", leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = shape === "array" ? [value] : { n: value };
  return value;
}

/** A ping whose whole frame nests exactly `depth` levels (the frame itself is level 1). */
function pingAtDepth(id: string, depth: number, shape: "object" | "array"): JsonObject {
  // frame (1) -> params (2) -> `deep` holding the rest.
  return { jsonrpc: "2.0", id, method: "ping", params: { deep: nested(depth - 2, shape) } };
}

async function initialized(): Promise<Client> {
  const client = await connect();
  await client.initialize();
  return client;
}

describe("JSON nesting depth", () => {
  it.each(["object", "array"] as const)(
    `answers a request nested exactly ${MAX_JSON_DEPTH} levels deep (%s nesting)`,
    async (shape) => {
      const client = await initialized();
      client.sendJson(pingAtDepth("deep-ok", MAX_JSON_DEPTH, shape));
      expect((await client.nextResponse("deep-ok")).result).toEqual({});
    },
  );

  it.each(["object", "array"] as const)(
    `answers -32600 echoing the id to a request nested ${MAX_JSON_DEPTH + 1} levels (%s nesting) and keeps the session`,
    async (shape) => {
      const client = await initialized();
      await client.callTool("counter", { by: 2 });
      client.sendJson(pingAtDepth("too-deep", MAX_JSON_DEPTH + 1, shape));
      expectError(await client.nextResponse("too-deep"), INVALID_REQUEST, /nesting deeper/);
      expect(client.closed).toBeNull();
      expect(await client.counter()).toBe(2);
    },
  );

  it(`answers HTTP 400 with -32600 to a POST nested ${MAX_JSON_DEPTH + 1} levels, and 200 at ${MAX_JSON_DEPTH}`, async () => {
    const client = await initialized();
    const tooDeep = await sessionPost(
      client.sessionId,
      pingAtDepth("http-deep", MAX_JSON_DEPTH + 1, "object"),
    );
    expect(tooDeep.status).toBe(400);
    const body = (await tooDeep.json()) as RpcResponse;
    expect(body.id).toBe("http-deep");
    expectError(body, INVALID_REQUEST, /nesting deeper/);
    const ok = await sessionPost(client.sessionId, pingAtDepth("http-ok", MAX_JSON_DEPTH, "array"));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id: "http-ok", result: {} });
  });
});

describe("requests in flight", () => {
  function sleepRequest(id: string, ms: number): JsonObject {
    return {
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms } },
    };
  }

  it(`answers -32006 to request ${MAX_IN_FLIGHT_PER_SESSION + 1} while ${MAX_IN_FLIGHT_PER_SESSION} run, answers the others, then accepts more`, async () => {
    const client = await initialized();
    const ids = Array.from({ length: MAX_IN_FLIGHT_PER_SESSION + 1 }, (_, i) => `s${i + 1}`);
    for (const id of ids) client.sendJson(sleepRequest(id, 1_000));
    const refused = await client.nextResponse(`s${MAX_IN_FLIGHT_PER_SESSION + 1}`);
    expectError(refused, TOO_MANY_IN_FLIGHT, /in flight/);
    const answered = await Promise.all(
      ids.slice(0, MAX_IN_FLIGHT_PER_SESSION).map((id) => client.nextResponse(id, WAIT_MS * 2)),
    );
    for (const reply of answered) expect(toolText(reply.result ?? {})).toBe("slept 1000 ms");
    expect(client.closed).toBeNull();
    expect(toolText(await client.callTool("sleep", { ms: 10 }))).toBe("slept 10 ms");
  });

  it("frees a slot as soon as an in-flight request is cancelled", async () => {
    const client = await initialized();
    const ids = Array.from({ length: MAX_IN_FLIGHT_PER_SESSION }, (_, i) => `long${i}`);
    for (const id of ids) client.sendJson(sleepRequest(id, 30_000));
    // The session is full: one more is refused.
    client.sendJson(sleepRequest("extra", 10));
    expectError(await client.nextResponse("extra"), TOO_MANY_IN_FLIGHT);
    client.notify("notifications/cancelled", { requestId: "long0", reason: "test" });
    // Cancellation is asynchronous; a bounded number of attempts must get through.
    let reply: RpcResponse | undefined;
    for (let attempt = 0; attempt < 20 && !reply?.result; attempt++) {
      reply = await client.request("ping");
      if (reply.error) await delay(25);
    }
    expect(reply?.result).toEqual({});
    for (const id of ids.slice(1)) client.notify("notifications/cancelled", { requestId: id });
  });
});

describe("message rate", () => {
  it(`answers -32005 with data.retryAfterMs past a burst of ${RATE_BURST_MESSAGES}, answers every request once, and serves again after the wait`, async () => {
    const client = await initialized();
    await client.callTool("counter", { by: 5 });
    // Well past the burst, so some are refused even when a loaded machine processes them slowly.
    const count = RATE_BURST_MESSAGES + 100;
    for (let i = 0; i < count; i++)
      client.sendJson({ jsonrpc: "2.0", id: `r${i}`, method: "ping" });
    const replies = await Promise.all(
      Array.from({ length: count }, (_, i) => client.nextResponse(`r${i}`)),
    );
    const limited = replies.filter((reply) => reply.error);
    expect(limited.length).toBeGreaterThan(0);
    expect(replies.length - limited.length).toBeGreaterThan(RATE_BURST_MESSAGES - 10);
    let longestWaitMs = 0;
    for (const reply of limited) {
      const error = expectError(reply, RATE_LIMITED, /Rate limited/);
      const retryAfterMs = (error.data as { retryAfterMs: unknown }).retryAfterMs;
      expect(Number.isInteger(retryAfterMs)).toBe(true);
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(Math.ceil(1000 / RATE_MESSAGES_PER_SECOND));
      longestWaitMs = Math.max(longestWaitMs, retryAfterMs as number);
    }
    // No reply was sent twice.
    const ids = client.received
      .filter((f) => typeof f === "object" && "id" in f)
      .map((f) => (f as JsonObject).id);
    expect(new Set(ids).size).toBe(ids.length);
    await delay(longestWaitMs + 50);
    expect(client.closed).toBeNull();
    expect(await client.counter()).toBe(5);
  });
});

// ---------------------------------------------------------------------------

/** Everything left of a session object's storage. */
function storageLeft(sessionId: string) {
  return runInDurableObject(sessionStub(sessionId), async (_instance, state) => ({
    tables: userTables(state),
    keys: (await state.storage.list()).size,
    alarm: await state.storage.getAlarm(),
  }));
}

/** Moves the session's last activity to the epoch: any alarm now finds it expired. */
function ageSession(sessionId: string): Promise<void> {
  return runInDurableObject(sessionStub(sessionId), (_instance, state) => {
    state.storage.sql.exec("UPDATE session SET last_active_at = 0");
  });
}

/** Runs the alarm until the object has nothing left (bounded: a few purge steps at most). */
async function expireCompletely(sessionId: string, maxRuns = 10): Promise<number> {
  for (let run = 1; run <= maxRuns; run++) {
    await runDurableObjectAlarm(sessionStub(sessionId));
    const left = await storageLeft(sessionId);
    if (left.tables.length === 0 && left.keys === 0 && left.alarm === null) return run;
  }
  throw new Error(`session ${sessionId.slice(0, 8)} still has storage after ${maxRuns} alarm runs`);
}

/** Every way to reach the session answers 404, exactly as for an unknown id. */
async function expectUnknown(sessionId: string): Promise<void> {
  expect((await upgrade(`/ws?session=${sessionId}`)).status).toBe(404);
  const post = await sessionPost(sessionId, { jsonrpc: "2.0", id: 1, method: "ping" });
  expect(post.status).toBe(404);
  expect((await openStream(sessionId)).status).toBe(404);
  expect((await deleteSession(sessionId)).status).toBe(404);
}

describe("a session deleted with replies not yet written", () => {
  it("leaves no storage once its socket has closed and its deferred write would have run", async () => {
    const client = await initialized();
    // Replies to an attached socket wait in memory for the deferred write.
    expect(toolText(await client.callTool("echo", { text: "kept in the ring" }))).toBe(
      "kept in the ring",
    );
    expect((await deleteSession(client.sessionId)).status).toBe(204);
    await client.waitForClose();
    await delay(DEFERRED_WRITE_MS + 500);
    expect(await storageLeft(client.sessionId)).toMatchObject({ tables: [], alarm: null });
    await expectUnknown(client.sessionId);
  });
});

describe("idle TTL", () => {
  it("arms the expiry alarm of a WebSocket session whose client never speaks, with its row, within the deferred write and not before the 101", async () => {
    const client = await connect();
    // The 101 waited for no commit: nothing is written yet.
    expect(await storageLeft(client.sessionId)).toMatchObject({ tables: [], alarm: null });
    // Without the alarm, a session whose client never speaks is never expired.
    const left = await waitFor(
      async () => {
        const now = await storageLeft(client.sessionId);
        return now.alarm !== null && now;
      },
      { timeoutMs: DEFERRED_WRITE_MS + WAIT_MS, what: "the deferred write of the session row" },
    );
    expect(left.alarm as number).toBeGreaterThanOrEqual(Date.now());
    expect(left.tables).toEqual(["session"]);
  });

  it("answers initialize only once the session's row, its handshake and its expiry alarm are written", async () => {
    const before = Date.now();
    const client = await initialized();
    const stored = await runInDurableObject(
      sessionStub(client.sessionId),
      async (_instance, state) => ({
        row: state.storage.sql
          .exec<{ protocol_version: string | null; client_info: string | null; principal: string }>(
            "SELECT protocol_version, client_info, principal FROM session",
          )
          .toArray(),
        alarm: await state.storage.getAlarm(),
      }),
    );
    expect(stored.row).toHaveLength(1);
    expect(stored.row[0]?.protocol_version).toBeTruthy();
    expect(stored.row[0]?.client_info).toBeTruthy();
    expect(stored.row[0]?.principal).toBe("anonymous");
    expect(stored.alarm as number).toBeGreaterThanOrEqual(before + DEFAULT_SESSION_IDLE_TTL_MS);
  });

  it("arms the alarm at last activity plus the idle TTL; the replay ring is written by a timer within 2 s, not the alarm", async () => {
    const before = Date.now();
    const client = await initialized();
    await client.callTool("counter", { by: 1 });
    const { alarm } = await storageLeft(client.sessionId);
    expect(alarm as number).toBeGreaterThanOrEqual(before + DEFAULT_SESSION_IDLE_TTL_MS);
    expect(alarm as number).toBeLessThanOrEqual(Date.now() + DEFAULT_SESSION_IDLE_TTL_MS);
    // The replies sit in memory, then reach the replay store with no alarm run.
    const keptRows = () =>
      runInDurableObject(sessionStub(client.sessionId), (_instance, state) =>
        userTables(state).includes("outbox")
          ? state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n
          : 0,
      );
    const deadline = Date.now() + 5_000;
    let rows = await keptRows();
    while (rows === 0 && Date.now() < deadline) {
      await delay(100);
      rows = await keptRows();
    }
    expect(rows).toBeGreaterThan(0);
    expect((await storageLeft(client.sessionId)).alarm).toBe(alarm);
  });

  it("only re-arms when the alarm fires before the TTL has passed; the session stays intact", async () => {
    const client = await initialized();
    await client.callTool("counter", { by: 2 });
    expect(await runDurableObjectAlarm(sessionStub(client.sessionId))).toBe(true);
    const { alarm, tables } = await storageLeft(client.sessionId);
    expect(tables).toContain("session");
    expect(alarm).toBeGreaterThan(Date.now());
    expect(await client.counter()).toBe(2);
  });

  it("deletes every table, key and alarm of a session idle past its TTL, closes its socket with 4004, and its id then gets 404 everywhere", async () => {
    const client = await initialized();
    await client.callTool("counter", { by: 3 });
    await client.call("logging/setLevel", { level: "error" });
    await client.call("resources/subscribe", { uri: "dormouse://about" });
    await ageSession(client.sessionId);
    await expireCompletely(client.sessionId);
    expect((await client.waitForClose()).code).toBe(CLOSE_SESSION_ENDED);
    expect(await storageLeft(client.sessionId)).toEqual({ tables: [], keys: 0, alarm: null });
    await expectUnknown(client.sessionId);
    // Knocking on an expired id recreates nothing.
    expect(await storageLeft(client.sessionId)).toEqual({ tables: [], keys: 0, alarm: null });
  });

  it("expires a session created over HTTP the same way", async () => {
    const sessionId = await initializeHttp();
    expect(await counterHttp(sessionId, 4)).toBe(4);
    await ageSession(sessionId);
    await expireCompletely(sessionId);
    await expectUnknown(sessionId);
  });

  it("deletes a large session in bounded steps, answering 404 while deletion is still in progress", async () => {
    const client = await initialized();
    const rows = 2_500;
    // The session's own code creates its tables (the object keeps track of which exist).
    await client.callTool("counter", { by: 1 });
    await runInDurableObject(sessionStub(client.sessionId), (_instance, state) => {
      const storage = new SessionStorage(state.storage);
      for (let i = 0; i < rows; i++) storage.setToolState("bulk", `k${i}`, 0);
    });
    await ageSession(client.sessionId);
    await runDurableObjectAlarm(sessionStub(client.sessionId));
    // Whether or not the runtime has already run the next step, the id is gone to clients.
    expect((await upgrade(`/ws?session=${client.sessionId}`)).status).toBe(404);
    const runs = await expireCompletely(client.sessionId);
    expect(runs).toBeLessThanOrEqual(5);
  });
});

describe("SessionStorage.purgeStep", () => {
  it("deletes at most its budget of rows per step, keeps the session row, and reports when done", async () => {
    const client = await initialized();
    const steps = await runInDurableObject(sessionStub(client.sessionId), (_instance, state) => {
      const storage = new SessionStorage(state.storage);
      for (let i = 0; i < 2_500; i++) storage.setToolState("bulk", `k${i}`, i);
      const count = () =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tool_state").one().n;
      const seen: { done: boolean; left: number }[] = [];
      for (let step = 0; step < 5; step++) {
        const done = storage.purgeStep(1_000);
        seen.push({ done, left: count() });
        if (done) break;
      }
      return { seen, sessionRow: storage.exists() };
    });
    expect(steps.seen.map((s) => s.left)).toEqual([1_500, 500, 0]);
    expect(steps.seen.at(-1)?.done).toBe(true);
    expect(steps.sessionRow).toBe(true);
  });
});
