/**
 * A principal's session slots around a session's creation
 * (worker/http/session-forwarding.ts withSessionSlot), against the real
 * principal object. The creation's failure is a function that throws or
 * answers 500: an object that cannot be reached or throws while creating is a
 * fault these tests cannot cause for real.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseTokenHashes } from "../../worker/auth/tokens";
import { withSessionSlot } from "../../worker/http/session-forwarding";
import { initializeHttp } from "../helpers/http";
import { sessionStub, userTables } from "../helpers/workerd";

const LIMIT = 2;

function principal(): string {
  return `slots-${crypto.randomUUID()}`;
}

function count(name: string): Promise<number> {
  return env.PRINCIPALS.get(env.PRINCIPALS.idFromName(name)).count();
}

describe("a session's slot", () => {
  it("stays held for a session whose creation succeeded", async () => {
    const name = principal();
    const created = await withSessionSlot(
      env.PRINCIPALS,
      name,
      "s1",
      LIMIT,
      async () => new Response("ok"),
    );
    expect(created.status).toBe(200);
    expect(await count(name)).toBe(1);
  });

  it("is freed when the creation throws, and the error goes on", async () => {
    const name = principal();
    await expect(
      withSessionSlot(env.PRINCIPALS, name, "s1", LIMIT, async () => {
        throw new Error("object unreachable");
      }),
    ).rejects.toThrow(/object unreachable/);
    expect(await count(name)).toBe(0);
  });

  it("is freed when the creation answers 5xx, and kept for a 4xx the object answered itself", async () => {
    const name = principal();
    const failed = await withSessionSlot(
      env.PRINCIPALS,
      name,
      "s1",
      LIMIT,
      async () => new Response("Internal error\n", { status: 500 }),
    );
    expect(failed.status).toBe(500);
    expect(await count(name)).toBe(0);
    // A 4xx comes from the object, which releases what it does not keep (a failed initialize).
    await withSessionSlot(env.PRINCIPALS, name, "s2", LIMIT, async () => new Response("ok"));
    expect(await count(name)).toBe(1);
  });

  it("is refused with 429 at the limit, without creating anything", async () => {
    const name = principal();
    for (const id of ["s1", "s2"]) {
      await withSessionSlot(env.PRINCIPALS, name, id, LIMIT, async () => new Response("ok"));
    }
    let called = false;
    const refused = await withSessionSlot(env.PRINCIPALS, name, "s3", LIMIT, async () => {
      called = true;
      return new Response("ok");
    });
    expect(refused.status).toBe(429);
    expect(await refused.text()).toMatch(/already holds 2 live sessions/);
    expect(called).toBe(false);
    expect(await count(name)).toBe(LIMIT);
  });
});

describe("AUTH_TOKEN_HASHES principal names", () => {
  const hash = "a".repeat(64);

  it("refuses the name of unauthenticated callers, whose sessions hold no slot", () => {
    // A token principal called "anonymous" would take slots its sessions never give back.
    expect(() => parseTokenHashes(`anonymous:${hash}`)).toThrow(/"anonymous" is reserved/);
    expect(() => parseTokenHashes(`alice:${hash},ANONYMOUS:${hash}`)).toThrow(/reserved/);
  });

  it("accepts other names", () => {
    expect(parseTokenHashes(`alice:${hash},anonymous-bot:${hash}`)?.entries).toHaveLength(2);
  });
});

describe("a session whose end a crash cut short", () => {
  it("releases its slot when its alarm finishes the deletion", async () => {
    // The state a crash leaves between ending (phase "ended" committed) and the
    // release at the principal's object: built here, then a fresh object lifetime.
    const name = principal();
    const sessionId = await initializeHttp();
    const stub = sessionStub(sessionId);
    expect(
      await env.PRINCIPALS.get(env.PRINCIPALS.idFromName(name)).reserve(sessionId, LIMIT),
    ).toBe(true);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE session SET principal = ?, phase = 'ended'", name);
    });
    await evictDurableObject(stub);
    expect(await count(name)).toBe(1);
    for (let run = 0; run < 10; run++) {
      if (!(await runDurableObjectAlarm(stub))) break;
    }
    const tables = await runInDurableObject(stub, (_instance, state) => userTables(state));
    expect(tables).toEqual([]);
    expect(await count(name)).toBe(0);
  });
});
