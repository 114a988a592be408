/**
 * Hibernation, tested by actually evicting the session object between two
 * messages (`evictDurableObject(stub, { webSockets: "hibernate" })`) and then
 * proving the session still answers on the same socket with its state intact.
 * Attachments that cannot be trusted are rebuilt from SQLite.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { INVALID_REQUEST } from "../../shared/errors";
import { CLOSE_SESSION_ENDED, KEEPALIVE_REQUEST, KEEPALIVE_RESPONSE } from "../../shared/limits";
import {
  ATTACHMENT_VERSION,
  type Attachment,
  decodeAttachment,
} from "../../worker/storage/attachment";
import { SessionStorage } from "../../worker/storage/session-storage";
import { type Client, connect, expectError, sessionStub, toolText } from "../helpers/workerd";

const CLIENT_INFO = { name: "sleepy-client", version: "1.2.3" };

/** A session that has negotiated 2025-06-18, set its log level to warning and counted to 4. */
async function sessionWithState(): Promise<Client> {
  const client = await connect();
  await client.initialize({ protocolVersion: "2025-06-18", clientInfo: CLIENT_INFO });
  await client.call("logging/setLevel", { level: "warning" });
  await client.callTool("counter", { by: 4 });
  return client;
}

function hibernate(client: Client): Promise<void> {
  return evictDurableObject(sessionStub(client.sessionId), { webSockets: "hibernate" });
}

/** Overwrites the attachment of every socket the session object holds. */
function overwriteAttachments(client: Client, value: unknown): Promise<void> {
  return runInDurableObject(sessionStub(client.sessionId), (_instance, state) => {
    for (const ws of state.getWebSockets()) ws.serializeAttachment(value);
  });
}

function readAttachments(client: Client): Promise<(Attachment | null)[]> {
  return runInDurableObject(sessionStub(client.sessionId), (_instance, state) =>
    state
      .getWebSockets()
      .map((ws) => decodeAttachment(ws.deserializeAttachment(), client.sessionId)),
  );
}

/** Version, client info, log level (and its effect), phase and counter are what they were. */
async function expectStateIntact(client: Client): Promise<void> {
  const info = await client.sessionInfo();
  expect(info).toMatchObject({
    sessionId: client.sessionId,
    protocolVersion: "2025-06-18",
    clientInfo: CLIENT_INFO,
    logLevel: "warning",
    phase: "ready",
  });
  expect(toolText(await client.callTool("log", { level: "info", message: "x" }))).toMatch(
    /^filtered/,
  );
  expect(await client.counter()).toBe(4);
}

describe("eviction between two messages", () => {
  it("answers on the same socket with version, client info, log level, phase and counter intact", async () => {
    const client = await sessionWithState();
    await hibernate(client);
    await expectStateIntact(client);
    expect(client.closed).toBeNull();
    expect(toolText(await client.callTool("counter"))).toBe("5");
  });

  it("counts at least one more wake in session_info across an eviction", async () => {
    const client = await sessionWithState();
    const before = (await client.sessionInfo()).wakes;
    await hibernate(client);
    const after = (await client.sessionInfo()).wakes;
    expect(after).toBeGreaterThanOrEqual(before + 1);
    await hibernate(client);
    expect((await client.sessionInfo()).wakes).toBeGreaterThanOrEqual(after + 1);
  });

  it("keeps a session that was never initialized before initialize", async () => {
    const client = await connect();
    await client.call("ping");
    await hibernate(client);
    expectError(await client.request("tools/list"), INVALID_REQUEST, /initialize/);
    await client.initialize();
    expect((await client.sessionInfo()).phase).toBe("ready");
  });

  it("completes a handshake whose notifications/initialized arrives after an eviction", async () => {
    const client = await connect();
    await client.call("initialize", {
      protocolVersion: "2025-03-26",
      capabilities: {},
      clientInfo: CLIENT_INFO,
    });
    await hibernate(client);
    client.notify("notifications/initialized");
    expect(await client.sessionInfo()).toMatchObject({
      phase: "ready",
      protocolVersion: "2025-03-26",
    });
  });

  it("answers the keepalive while hibernated without waking the object", async () => {
    const client = await sessionWithState();
    const before = (await client.sessionInfo()).wakes;
    await hibernate(client);
    client.sendRaw(KEEPALIVE_REQUEST);
    expect(await client.nextMessage()).toBe(KEEPALIVE_RESPONSE);
    // The session_info call is the only thing that wakes the object.
    expect((await client.sessionInfo()).wakes).toBe(before + 1);
  });

  it("still serves a re-attach after an eviction", async () => {
    const client = await sessionWithState();
    await hibernate(client);
    client.close();
    const again = await connect(client.sessionId);
    await expectStateIntact(again);
  });
});

describe("attachments that cannot be trusted", () => {
  it("keeps working when the attachment is corrupted while the object is awake", async () => {
    const client = await sessionWithState();
    await overwriteAttachments(client, { garbage: true });
    await expectStateIntact(client);
  });

  it("rebuilds a corrupt attachment from storage on the next wake, with state intact", async () => {
    const client = await sessionWithState();
    await overwriteAttachments(client, { garbage: true });
    await hibernate(client);
    await expectStateIntact(client);
    const [attachment] = await readAttachments(client);
    expect(attachment).toMatchObject({
      v: ATTACHMENT_VERSION,
      sid: client.sessionId,
      phase: "ready",
      pv: "2025-06-18",
      ll: "warning",
    });
  });

  it("rebuilds from storage an attachment that names another session", async () => {
    const client = await sessionWithState();
    const [current] = await readAttachments(client);
    // A well-formed attachment that claims the wrong phase and level for another session.
    await overwriteAttachments(client, {
      ...current,
      sid: "f".repeat(64),
      phase: "new",
      ll: "debug",
    });
    await hibernate(client);
    await expectStateIntact(client);
  });

  it("rebuilds from storage an attachment from an unknown version", async () => {
    const client = await sessionWithState();
    const [current] = await readAttachments(client);
    await overwriteAttachments(client, { ...current, v: ATTACHMENT_VERSION + 1, ll: "debug" });
    await hibernate(client);
    await expectStateIntact(client);
  });

  it("closes the socket with 4004 when the attachment is unusable and the session is gone", async () => {
    const client = await sessionWithState();
    await runInDurableObject(sessionStub(client.sessionId), async (_instance, state) => {
      await new SessionStorage(state.storage).destroy();
      for (const ws of state.getWebSockets()) ws.serializeAttachment(null);
    });
    await hibernate(client);
    client.sendJson({ jsonrpc: "2.0", id: 1, method: "ping" });
    const closed = await client.waitForClose();
    expect(closed.code).toBe(CLOSE_SESSION_ENDED);
  });
});
