/**
 * The WebSocket transport's session contract: re-attaching with ?session=,
 * one socket per session (a newer one takes over), and the keepalive pair the
 * runtime answers without waking the object.
 */
import { describe, expect, it } from "vitest";
import { CLOSE_SUPERSEDED, KEEPALIVE_REQUEST, KEEPALIVE_RESPONSE } from "../../shared/limits";
import { connect, toolText } from "../helpers/workerd";

describe("re-attach with ?session=", () => {
  it("resumes the same session state without a new initialize", async () => {
    const first = await connect();
    await first.initialize({ protocolVersion: "2025-06-18" });
    await first.callTool("counter", { by: 4 });
    first.close();

    const again = await connect(first.sessionId);
    expect(again.sessionId).toBe(first.sessionId);
    expect(toolText(await again.callTool("counter"))).toBe("5");
    const info = await again.sessionInfo();
    expect(info).toMatchObject({ protocolVersion: "2025-06-18", phase: "ready" });
  });

  it("counts one more attach generation per socket", async () => {
    const first = await connect();
    await first.initialize();
    expect((await first.sessionInfo()).attachGeneration).toBe(1);
    first.close();
    const again = await connect(first.sessionId);
    expect((await again.sessionInfo()).attachGeneration).toBe(2);
  });

  it("re-attaches a session that never ran initialize, still before initialize", async () => {
    const first = await connect();
    await first.call("ping");
    first.close();
    const again = await connect(first.sessionId);
    await again.initialize();
    expect((await again.sessionInfo()).phase).toBe("ready");
  });
});

describe("takeover", () => {
  it("closes the older socket with 4001 and a reason mentioning superseded when a newer one attaches", async () => {
    const old = await connect();
    await old.initialize();
    await old.callTool("counter", { by: 2 });

    const fresh = await connect(old.sessionId);
    const closed = await old.waitForClose();
    expect(closed.code).toBe(CLOSE_SUPERSEDED);
    expect(closed.reason).toMatch(/superseded/);
    expect(toolText(await fresh.callTool("counter"))).toBe("3");
  });

  it("sends replies only to the newer socket after a takeover", async () => {
    const old = await connect();
    await old.initialize();
    const fresh = await connect(old.sessionId);
    await old.waitForClose();
    const seenByOld = old.received.length;
    expect(toolText(await fresh.callTool("echo", { text: "mine" }))).toBe("mine");
    expect(old.received.length).toBe(seenByOld);
  });
});

describe("takeover with a request in flight", () => {
  // JSON-RPC ids are scoped to one connection: a client that reconnects starts
  // its ids again, so work left over from the old socket must neither reject
  // nor answer the new socket's ids.
  it("answers the newer socket's request even when it reuses the id of one in flight on the older socket", async () => {
    const old = await connect();
    await old.initialize();
    old.sendJson({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 600 }, _meta: { progressToken: "old" } },
    });
    await old.nextNotification("notifications/progress");

    const fresh = await connect(old.sessionId);
    await old.waitForClose();
    const reply = await fresh.request("ping");
    expect(reply.id).toBe(1);
    expect(reply).toEqual({ jsonrpc: "2.0", id: 1, result: {} });
  });

  it("delivers the older socket's in-flight result to the newer socket: the work survives its socket", async () => {
    const old = await connect();
    await old.initialize();
    old.sendJson({
      jsonrpc: "2.0",
      id: "old-sleep",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 600 }, _meta: { progressToken: "old" } },
    });
    await old.nextNotification("notifications/progress");

    const fresh = await connect(old.sessionId);
    const reply = await fresh.nextResponse("old-sleep", 5_000);
    expect(toolText(reply.result ?? {})).toBe("slept 600 ms");
  });
});

describe("keepalive", () => {
  it(`answers the text frame "${KEEPALIVE_REQUEST}" with "${KEEPALIVE_RESPONSE}"`, async () => {
    const client = await connect();
    client.sendRaw(KEEPALIVE_REQUEST);
    expect(await client.nextMessage()).toBe(KEEPALIVE_RESPONSE);
    expect(await client.call("ping")).toEqual({});
  });

  it("answers the keepalive in the middle of a session without disturbing its state", async () => {
    const client = await connect();
    await client.initialize();
    await client.callTool("counter", { by: 7 });
    client.sendRaw(KEEPALIVE_REQUEST);
    expect(await client.nextMessage()).toBe(KEEPALIVE_RESPONSE);
    expect(await client.counter()).toBe(7);
  });
});
