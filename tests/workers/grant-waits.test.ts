/**
 * Calls waiting for an upstream grant in their principal's object
 * (worker/upstream-auth/grant-waiters.ts), driven over RPC as the session
 * objects drive them: at most MAX_GRANT_WAITERS at once, and a call that stops
 * waiting gives its slot back at once instead of holding it for its timeout. A
 * grant that cannot be opened any more is no grant at all.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PrincipalStorage } from "../../worker/storage/principal-storage";
import { GrantKeeper } from "../../worker/upstream-auth/grant-keeper";
import { GrantVault } from "../../worker/upstream-auth/grant-vault";
import { MAX_GRANT_WAITERS } from "../../worker/upstream-auth/grant-waiters";
import { Sealer } from "../../worker/upstream-auth/sealing";
import { delay } from "../helpers/workerd";

const LONG_MS = 60_000;

function principalObject() {
  return env.PRINCIPALS.get(env.PRINCIPALS.idFromName(`grant-waits-${crypto.randomUUID()}`));
}

/** What `wait` has settled to within `ms`, or "pending". */
function settledWithin<T>(wait: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([wait, delay(ms).then(() => "pending" as const)]);
}

describe("waiting for an upstream grant", () => {
  it("tells one wait more than MAX_GRANT_WAITERS 'timeout' at once", async () => {
    const stub = principalObject();
    const ids = Array.from({ length: MAX_GRANT_WAITERS }, () => crypto.randomUUID());
    const waits = ids.map((id) => stub.awaitGrant("up", LONG_MS, id));
    expect(await stub.awaitGrant("up", LONG_MS, crypto.randomUUID())).toBe("timeout");
    for (const id of ids) await stub.cancelGrantWait(id);
    expect(await Promise.all(waits)).toEqual(ids.map(() => "timeout"));
  });

  it("gives a cancelled wait's slot back at once", async () => {
    const stub = principalObject();
    const ids = Array.from({ length: MAX_GRANT_WAITERS }, () => crypto.randomUUID());
    const waits = ids.map((id) => stub.awaitGrant("up", LONG_MS, id));
    for (const id of ids) await stub.cancelGrantWait(id);
    expect(await Promise.all(waits)).toEqual(ids.map(() => "timeout"));
    // Every slot is free again: a new wait waits (it would be told "timeout" at once if not).
    const next = crypto.randomUUID();
    const wait = stub.awaitGrant("up", LONG_MS, next);
    expect(await settledWithin(wait, 200)).toBe("pending");
    await stub.cancelGrantWait(next);
    expect(await wait).toBe("timeout");
  });

  it("ignores a cancel for an id it does not know", async () => {
    const stub = principalObject();
    const id = crypto.randomUUID();
    const wait = stub.awaitGrant("up", LONG_MS, id);
    await stub.cancelGrantWait(crypto.randomUUID());
    expect(await settledWithin(wait, 200)).toBe("pending");
    await stub.cancelGrantWait(id);
    expect(await wait).toBe("timeout");
  });
});

describe("a grant sealed under another key", () => {
  it("is dropped when read, so the principal waits for a new authorization instead of being told it has one", async () => {
    const stub = env.PRINCIPALS.get(env.PRINCIPALS.idFromName(`unreadable-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (_instance, state) => {
      const storage = new PrincipalStorage(state.storage);
      const keeper = new GrantKeeper({
        storage,
        sealer: new Sealer("a-key-that-did-not-seal-this-grant-0123456789abcdef"),
        env: {
          ...env,
          UPSTREAM_TOKEN_KEY: "a-key-that-did-not-seal-this-grant-0123456789abcdef",
          PUBLIC_URL: "http://127.0.0.1:8787",
          UPSTREAMS: JSON.stringify([
            { name: "sec", url: "http://127.0.0.1:9/mcp", prefix: "sec", auth: { type: "oauth" } },
          ]),
        } as Env,
        scheduleAlarm: async () => {},
        register: async () => {
          throw new Error("no registration in this test");
        },
      });
      // What a grant sealed before UPSTREAM_TOKEN_KEY changed reads as now.
      storage.saveGrant("sec", "v1.bm90LWEtZ3JhbnQ.c2VhbGVkLWVsc2V3aGVyZQ", null, Date.now());
      expect(await keeper.accessToken("someone", "sec")).toEqual({ kind: "none" });
      expect(storage.grant("sec")).toBeNull();
      expect(await keeper.awaitGrant("sec", 100)).toBe("timeout");
    });
  });
});

describe("a grant for an upstream whose URL changed", () => {
  const KEY = "a-key-of-this-test-0123456789abcdef-0123456789abcdef";

  /** A keeper whose UPSTREAMS names `sec` at `url`, holding a grant made for http://127.0.0.1:9/mcp. */
  async function keeperWithGrant(state: DurableObjectState, url: string) {
    const storage = new PrincipalStorage(state.storage);
    const sealer = new Sealer(KEY);
    const keeper = new GrantKeeper({
      storage,
      sealer,
      env: {
        ...env,
        UPSTREAM_TOKEN_KEY: KEY,
        PUBLIC_URL: "http://127.0.0.1:8787",
        UPSTREAMS: JSON.stringify([{ name: "sec", url, prefix: "sec", auth: { type: "oauth" } }]),
      } as Env,
      scheduleAlarm: async () => {},
      register: async () => {
        throw new Error("no registration in this test");
      },
    });
    const granted = await new GrantVault(storage, sealer).save("alice", {
      plan: {
        upstream: "sec",
        issuer: "http://127.0.0.1:10",
        authorizationEndpoint: "http://127.0.0.1:10/authorize",
        tokenEndpoint: "http://127.0.0.1:10/token",
        clientId: "c1",
        authMethod: "none",
        resource: "http://127.0.0.1:9/mcp",
        issResponse: false,
        redirectUri: "http://127.0.0.1:8787/oauth/callback",
      },
      tokens: { accessToken: "token-for-the-first-server", expiresAt: Date.now() + 3_600_000 },
      grantedAt: Date.now(),
    });
    expect(granted).toBe(true);
    return { keeper, storage };
  }

  it("is handed out while the upstream's URL is the resource it was granted for", async () => {
    const stub = env.PRINCIPALS.get(env.PRINCIPALS.idFromName(`same-url-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (_instance, state) => {
      const { keeper } = await keeperWithGrant(state, "http://127.0.0.1:9/mcp");
      expect(await keeper.accessToken("alice", "sec")).toEqual({
        kind: "token",
        token: "token-for-the-first-server",
      });
    });
  });

  it("is dropped, never sent, once UPSTREAMS points the name at another server", async () => {
    const stub = env.PRINCIPALS.get(env.PRINCIPALS.idFromName(`moved-${crypto.randomUUID()}`));
    await runInDurableObject(stub, async (_instance, state) => {
      const { keeper, storage } = await keeperWithGrant(state, "http://127.0.0.2:9/mcp");
      expect(await keeper.accessToken("alice", "sec")).toEqual({ kind: "none" });
      expect(storage.grant("sec")).toBeNull();
    });
  });
});
