/**
 * SessionStorage (worker/storage.ts), driven directly inside a fresh session
 * object with runInDurableObject: each test gets its own object id.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OUTBOX_MAX_ROWS } from "../../shared/limits";
import { WS_STREAM } from "../../worker/storage/outbox-table";
import { DEFAULT_LOG_LEVEL, SessionStorage } from "../../worker/storage/session-storage";

const SESSION_TABLES = ["session", "tool_state"];

/** Runs `body` with a SessionStorage over a brand-new object's storage. */
function withFreshStorage<R>(
  body: (storage: SessionStorage, state: DurableObjectState, sessionId: string) => R | Promise<R>,
): Promise<R> {
  const id = env.SESSIONS.newUniqueId();
  return runInDurableObject(env.SESSIONS.get(id), (_instance, state) =>
    body(new SessionStorage(state.storage), state, id.toString()),
  );
}

function tableNames(state: DurableObjectState): string[] {
  return state.storage.sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .toArray()
    .map((row) => row.name);
}

describe("exists", () => {
  it("is false on a fresh object and creates no table", async () => {
    await withFreshStorage((storage, state) => {
      expect(storage.exists()).toBe(false);
      expect(storage.read()).toBeNull();
      expect(tableNames(state).filter((name) => SESSION_TABLES.includes(name))).toEqual([]);
    });
  });

  it("is true once the session is created, also for a second SessionStorage", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      expect(storage.exists()).toBe(true);
      expect(new SessionStorage(state.storage).exists()).toBe(true);
    });
  });
});

describe("create and read", () => {
  it("round-trips a new session record with its defaults", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      const created = storage.create(sessionId, 1_700_000_000_000, "anonymous");
      const expected = {
        sessionId,
        createdAt: 1_700_000_000_000,
        phase: "new",
        protocolVersion: null,
        clientInfo: null,
        clientCapabilities: null,
        logLevel: DEFAULT_LOG_LEVEL,
        wakes: 1,
        attachGen: 0,
        lastActiveAt: 1_700_000_000_000,
        principal: "anonymous",
      };
      expect(created).toEqual(expected);
      expect(storage.read()).toEqual(expected);
    });
  });

  it("is idempotent: a second create keeps the first record", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.saveLogLevel("error");
      const again = storage.create(sessionId, 2_000, "anonymous");
      expect(again.createdAt).toBe(1_000);
      expect(again.logLevel).toBe("error");
    });
  });
});

describe("counters", () => {
  it("countWake adds one wake per call", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.countWake();
      storage.countWake();
      expect(storage.read()?.wakes).toBe(3);
    });
  });

  it("countWake on an object without a session creates nothing", async () => {
    await withFreshStorage((storage, state) => {
      storage.countWake();
      expect(storage.exists()).toBe(false);
      expect(tableNames(state).filter((name) => SESSION_TABLES.includes(name))).toEqual([]);
    });
  });

  it("nextAttachGeneration increments, returns the new generation and records activity", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      expect(storage.nextAttachGeneration(2_000)).toBe(1);
      expect(storage.nextAttachGeneration(3_000)).toBe(2);
      expect(storage.read()).toMatchObject({ attachGen: 2, lastActiveAt: 3_000 });
    });
  });
});

describe("session fields", () => {
  it("saveHandshake stores phase, version, client info and capabilities", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.saveHandshake({
        phase: "initializing",
        protocolVersion: "2025-06-18",
        clientInfo: { name: "c", version: "1" },
        clientCapabilities: { roots: { listChanged: true } },
      });
      expect(storage.read()).toMatchObject({
        phase: "initializing",
        protocolVersion: "2025-06-18",
        clientInfo: { name: "c", version: "1" },
        clientCapabilities: { roots: { listChanged: true } },
      });
    });
  });

  it("saveHandshake stores client capabilities over the size cap as {}", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.saveHandshake({
        phase: "initializing",
        protocolVersion: "2025-11-25",
        clientInfo: { name: "c", version: "1" },
        clientCapabilities: { experimental: { blob: "z".repeat(10_000) } },
      });
      expect(storage.read()?.clientCapabilities).toEqual({});
    });
  });

  it("saveLogLevel and savePhase each change only their field", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.saveLogLevel("critical");
      storage.savePhase("initializing");
      storage.savePhase("ready");
      expect(storage.read()).toMatchObject({
        phase: "ready",
        logLevel: "critical",
        protocolVersion: null,
      });
    });
  });

  it("holds the ready phase and the wake count for the deferred write, never over an ended session", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      let scheduled = 0;
      storage.deferWritesTo(() => {
        scheduled += 1;
      });
      const row = () =>
        state.storage.sql
          .exec<{ phase: string; wakes: number }>("SELECT phase, wakes FROM session")
          .one();
      storage.create(sessionId, 1_000, "anonymous");
      storage.savePhase("initializing");
      storage.countWake();
      storage.savePhase("ready");
      expect(scheduled).toBe(2);
      // Read through the storage, what is held counts; the row does not have it yet.
      expect(storage.read()).toMatchObject({ phase: "ready", wakes: 2 });
      expect(row()).toEqual({ phase: "initializing", wakes: 1 });
      storage.flushDeferred();
      expect(row()).toEqual({ phase: "ready", wakes: 2 });
      // A ready held while the session ends is not written over `ended`.
      storage.savePhase("initializing");
      storage.savePhase("ready");
      storage.savePhase("ended");
      storage.flushDeferred();
      expect(row().phase).toBe("ended");
      // Nor over a renegotiation that came after it.
      const other = new SessionStorage(state.storage);
      other.deferWritesTo(() => {});
      other.savePhase("ready");
      other.saveHandshake({
        phase: "initializing",
        protocolVersion: "2025-11-25",
        clientInfo: { name: "c", version: "1" },
        clientCapabilities: {},
      });
      other.flushDeferred();
      expect(row().phase).toBe("initializing");
    });
  });

  it("does not count the construction that creates the session as a wake", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.deferWritesTo(() => {});
      storage.countWake();
      storage.create(sessionId, 1_000, "anonymous");
      storage.flushDeferred();
      expect(storage.read()?.wakes).toBe(1);
    });
  });
});

describe("createSoon: a session whose row waits for its first write", () => {
  const HANDSHAKE = {
    phase: "initializing" as const,
    protocolVersion: "2025-11-25",
    clientInfo: { name: "c", version: "1" },
    clientCapabilities: {},
  };
  const row = (state: DurableObjectState) =>
    state.storage.sql
      .exec<{
        session_id: string;
        phase: string;
        wakes: number;
        attach_gen: number;
        principal: string;
      }>("SELECT session_id, phase, wakes, attach_gen, principal FROM session")
      .toArray();

  it("holds the row and the alarm set meanwhile in memory, answering read() and exists(), until the deferred write", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      let scheduled = 0;
      storage.deferWritesTo(() => {
        scheduled += 1;
      });
      storage.countWake();
      const created = storage.createSoon(sessionId, 1_000, "anonymous", 1);
      storage.scheduleAlarm(5_000_000_000_000);
      expect(scheduled).toBeGreaterThanOrEqual(1);
      expect(tableNames(state)).not.toContain("session");
      expect(await state.storage.getAlarm()).toBeNull();
      expect(storage.exists()).toBe(true);
      expect(storage.read()).toEqual(created);
      expect(created).toMatchObject({ sessionId, phase: "new", wakes: 1, attachGen: 1 });

      storage.flushDeferred();
      expect(row(state)).toEqual([
        { session_id: sessionId, phase: "new", wakes: 1, attach_gen: 1, principal: "anonymous" },
      ]);
      expect(await state.storage.getAlarm()).toBe(5_000_000_000_000);
      expect(new SessionStorage(state.storage).read()).toEqual(created);
    });
  });

  it("writes the row with the session's first write: the handshake goes in the same turn", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      storage.deferWritesTo(() => {});
      storage.createSoon(sessionId, 1_000, "anonymous", 1);
      storage.scheduleAlarm(5_000_000_000_000);
      storage.saveHandshake(HANDSHAKE);
      expect(row(state)).toMatchObject([{ phase: "initializing", wakes: 1 }]);
      expect(await state.storage.getAlarm()).toBe(5_000_000_000_000);
      expect(storage.read()).toMatchObject({
        protocolVersion: "2025-11-25",
        clientInfo: HANDSHAKE.clientInfo,
      });
    });
  });

  it("writes the row before any other table is created", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      storage.deferWritesTo(() => {});
      storage.createSoon(sessionId, 1_000, "anonymous", 1);
      storage.outbox.keep(WS_STREAM, [{ seq: 1, text: '{"n":1}', delivered: true }]);
      expect(row(state)).toHaveLength(1);
      expect(tableNames(state)).toEqual(
        expect.arrayContaining(["session", "outbox", "outbox_stream"]),
      );
      storage.setToolState("default", "counter", 2);
      expect(new SessionStorage(state.storage).getToolState("default", "counter")).toBe(2);
    });
  });

  it("leaves nothing when the session is destroyed before its row was written", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      storage.deferWritesTo(() => {});
      storage.createSoon(sessionId, 1_000, "anonymous", 1);
      storage.scheduleAlarm(5_000_000_000_000);
      await storage.destroy();
      storage.flushDeferred();
      expect(storage.exists()).toBe(false);
      expect(tableNames(state)).not.toContain("session");
      expect(await state.storage.getAlarm()).toBeNull();
    });
  });
});

describe("tool state", () => {
  it("returns undefined for a key never set, also before the session exists", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      expect(storage.getToolState("default", "counter")).toBeUndefined();
      storage.create(sessionId, 1_000, "anonymous");
      expect(storage.getToolState("default", "counter")).toBeUndefined();
    });
  });

  it("round-trips JSON values per toolset and key, overwriting on set", async () => {
    await withFreshStorage((storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.setToolState("default", "counter", 1);
      storage.setToolState("default", "counter", 2);
      storage.setToolState("extras", "counter", { nested: ["a", 1] });
      expect(storage.getToolState("default", "counter")).toBe(2);
      expect(storage.getToolState("extras", "counter")).toEqual({ nested: ["a", 1] });
    });
  });
});

describe("destroy", () => {
  it("removes everything: exists() is false and no session table is left", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.setToolState("default", "counter", 5);
      await storage.destroy();
      expect(storage.exists()).toBe(false);
      expect(storage.read()).toBeNull();
      expect(storage.getToolState("default", "counter")).toBeUndefined();
      expect(new SessionStorage(state.storage).exists()).toBe(false);
      expect(tableNames(state).filter((name) => SESSION_TABLES.includes(name))).toEqual([]);
    });
  });

  it("creates no table for a write that comes after it (work that was still finishing): that write fails", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      await storage.destroy();
      expect(() => storage.setToolState("default", "counter", 5)).toThrow(/no session is stored/);
      expect(() =>
        storage.outbox.keep(WS_STREAM, [{ seq: 1, text: "{}", delivered: false }]),
      ).toThrow(/no session is stored/);
      expect(tableNames(state).filter((name) => !name.startsWith("_cf"))).toEqual([]);
    });
  });

  it("lets a session be created again afterwards, from scratch", async () => {
    await withFreshStorage(async (storage, _state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.setToolState("default", "counter", 5);
      await storage.destroy();
      expect(storage.create(sessionId, 2_000, "anonymous")).toMatchObject({
        createdAt: 2_000,
        wakes: 1,
      });
      expect(storage.getToolState("default", "counter")).toBeUndefined();
    });
  });
});

describe("what a new session's storage knows without asking SQLite", () => {
  const messages = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      seq: from + i,
      text: `{"n":${from + i}}`,
      delivered: true,
    }));

  it("creates lazy tables after the session row, and reads them back in a second SessionStorage", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.setToolState("default", "counter", 3);
      storage.outbox.keep(WS_STREAM, messages(1, 3));
      expect(tableNames(state)).toEqual(
        expect.arrayContaining(["session", "tool_state", "outbox", "outbox_stream"]),
      );
      const woken = new SessionStorage(state.storage);
      expect(woken.getToolState("default", "counter")).toBe(3);
      expect(woken.outbox.head(WS_STREAM)?.lastSeq).toBe(3);
      expect(woken.outbox.after(WS_STREAM, 1).map((m) => m.seq)).toEqual([2, 3]);
    });
  });

  it("answers a new session's first questions (calls waiting for input or for a task) without a statement", async () => {
    await withFreshStorage((_storage, state, sessionId) => {
      let statements = 0;
      const bound = <T extends object>(target: T, key: PropertyKey) => {
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      };
      const sql = new Proxy(state.storage.sql, {
        get: (target, key) =>
          key === "exec"
            ? (...args: Parameters<SqlStorage["exec"]>) => {
                statements += 1;
                return target.exec(...args);
              }
            : bound(target, key),
      });
      const counted = new Proxy(state.storage, {
        get: (target, key) => (key === "sql" ? sql : bound(target, key)),
      });
      const storage = new SessionStorage(counted);
      // As in a session object: the row waits for the first write (the runtime's timer).
      storage.deferWritesTo(() => {});
      storage.createSoon(sessionId, 1_000, "anonymous", 1);
      expect(storage.pending.callKeys()).toEqual([]);
      expect(storage.taskWaiters.waiterKeys()).toEqual([]);
      expect(statements).toBe(0);
    });
  });

  it("counts a new outbox from zero: its bound holds from the first batch on", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.outbox.keep(WS_STREAM, messages(1, 10));
      storage.outbox.keep(WS_STREAM, messages(11, OUTBOX_MAX_ROWS + 40));
      const rows = state.storage.sql
        .exec<{ n: number; first: number; last: number }>(
          "SELECT COUNT(*) AS n, MIN(seq) AS first, MAX(seq) AS last FROM outbox",
        )
        .one();
      expect(rows.n).toBe(OUTBOX_MAX_ROWS);
      expect(rows.last).toBe(OUTBOX_MAX_ROWS + 50);
      expect(rows.first).toBe(51);
      expect(storage.outbox.head(WS_STREAM)?.lastSeq).toBe(OUTBOX_MAX_ROWS + 50);
    });
  });

  it("keeps the newest event of a reply stream still running through a trim, and a finished stream's last number", async () => {
    await withFreshStorage((storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      const running = "00000000000000aa";
      const finished = "00000000000000bb";
      storage.outbox.openStream(running, "1", 1_000);
      storage.outbox.openStream(finished, "2", 1_001);
      storage.outbox.append(running, '{"e":1}', false);
      storage.outbox.append(running, '{"e":2}', false);
      storage.outbox.append(finished, '{"e":1}', false);
      storage.outbox.append(finished, '{"id":2,"result":{}}', false, true);
      // The WebSocket sequence pushes both streams' events out of the store.
      storage.outbox.keep(WS_STREAM, messages(1, OUTBOX_MAX_ROWS + 40));
      const woken = new SessionStorage(state.storage);
      expect(woken.outbox.head(running)).toMatchObject({ lastSeq: 2, final: false });
      expect(woken.outbox.after(running, 1).map((m) => m.seq)).toEqual([2]);
      expect(woken.outbox.head(finished)).toMatchObject({ lastSeq: 2, final: true });
    });
  });

  it("knows the tables again after a session is destroyed and created anew", async () => {
    await withFreshStorage(async (storage, state, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.outbox.keep(WS_STREAM, messages(1, 2));
      await storage.destroy();
      storage.create(sessionId, 2_000, "anonymous");
      expect(storage.outbox.head(WS_STREAM)?.lastSeq).toBe(0);
      storage.outbox.keep(WS_STREAM, messages(1, 1));
      expect(storage.outbox.after(WS_STREAM, 0).map((m) => m.seq)).toEqual([1]);
      expect(new SessionStorage(state.storage).outbox.head(WS_STREAM)?.lastSeq).toBe(1);
    });
  });
});

describe("upstream sessions (federation)", () => {
  const state = {
    sessionId: "upstream-session-1",
    protocolVersion: "2025-11-25",
    capabilities: { tools: { listChanged: true } },
    declared: { elicitation: {} },
  };

  it("creates no table until the first upstream session is saved", async () => {
    await withFreshStorage((storage, state_) => {
      expect(storage.upstreams.loadUpstream("state")).toBeNull();
      expect(storage.upstreams.listUpstreams()).toEqual([]);
      storage.upstreams.deleteUpstream("state");
      expect(tableNames(state_)).not.toContain("upstream_session");
    });
  });

  it("round-trips, replaces and deletes rows, visible to a fresh SessionStorage (a woken object)", async () => {
    await withFreshStorage((storage, durable, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.upstreams.saveUpstream("state", state);
      storage.upstreams.saveUpstream("everything", { ...state, sessionId: null });
      const woken = new SessionStorage(durable.storage);
      expect(woken.upstreams.loadUpstream("state")).toEqual(state);
      expect(woken.upstreams.loadUpstream("everything")?.sessionId).toBeNull();
      expect(woken.upstreams.listUpstreams()).toEqual(["everything", "state"]);
      woken.upstreams.saveUpstream("state", { ...state, sessionId: "upstream-session-2" });
      expect(storage.upstreams.loadUpstream("state")?.sessionId).toBe("upstream-session-2");
      woken.upstreams.deleteUpstream("state");
      expect(storage.upstreams.listUpstreams()).toEqual(["everything"]);
    });
  });

  it("goes with the session's storage when it is destroyed", async () => {
    await withFreshStorage(async (storage, durable, sessionId) => {
      storage.create(sessionId, 1_000, "anonymous");
      storage.upstreams.saveUpstream("state", state);
      await storage.destroy();
      expect(tableNames(durable)).not.toContain("upstream_session");
      expect(storage.upstreams.loadUpstream("state")).toBeNull();
    });
  });
});
