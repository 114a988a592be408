/**
 * The session-era lifecycle over the WebSocket transport: initialize and
 * version negotiation, what is allowed before it, and the phase it leaves.
 */
import { describe, expect, it } from "vitest";
import { INVALID_REQUEST } from "../../shared/errors";
import { META_SESSION_ID, SESSION_ERA_VERSIONS } from "../../shared/protocol";
import { connect, expectError, TEST_CLIENT } from "../helpers/workerd";

describe("initialize", () => {
  it.each(SESSION_ERA_VERSIONS)("echoes the requested supported version %s", async (version) => {
    const client = await connect();
    const result = await client.initialize({ protocolVersion: version });
    expect(result.protocolVersion).toBe(version);
  });

  it("answers an unsupported requested version with the latest one, 2025-11-25", async () => {
    const client = await connect();
    const result = await client.initialize({ protocolVersion: "1999-01-01" });
    expect(result.protocolVersion).toBe("2025-11-25");
  });

  it("answers with serverInfo, capabilities and the session id from the upgrade header in _meta", async () => {
    const client = await connect();
    const result = await client.initialize();
    expect(result.serverInfo).toMatchObject({ name: "dormouse", version: expect.any(String) });
    expect(result.capabilities).toMatchObject({
      tools: {},
      resources: {},
      prompts: {},
      logging: {},
      completions: {},
    });
    expect(result._meta).toEqual({ [META_SESSION_ID]: client.sessionId });
  });

  it("stores the client's info and the negotiated version for the session", async () => {
    const client = await connect();
    const clientInfo = { name: "lifecycle-probe", version: "9.9.9", title: "Probe" };
    await client.initialize({ protocolVersion: "2025-06-18", clientInfo });
    const info = await client.sessionInfo();
    expect(info.clientInfo).toEqual(clientInfo);
    expect(info.protocolVersion).toBe("2025-06-18");
    expect(info.sessionId).toBe(client.sessionId);
  });

  it("leaves the session initializing until notifications/initialized, then ready", async () => {
    const client = await connect();
    await client.call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: TEST_CLIENT,
    });
    expect((await client.sessionInfo()).phase).toBe("initializing");
    client.notify("notifications/initialized");
    expect((await client.sessionInfo()).phase).toBe("ready");
  });

  it("renegotiates on a second initialize and keeps the session's tool state", async () => {
    const client = await connect();
    await client.initialize({ protocolVersion: "2025-11-25" });
    await client.callTool("counter", { by: 3 });
    const again = await client.initialize({ protocolVersion: "2024-11-05" });
    expect(again.protocolVersion).toBe("2024-11-05");
    expect((await client.sessionInfo()).protocolVersion).toBe("2024-11-05");
    expect(await client.counter()).toBe(3);
  });
});

describe("before initialize", () => {
  it("answers ping with an empty result", async () => {
    const client = await connect();
    expect(await client.call("ping")).toEqual({});
  });

  it("answers a session-era request with -32600 naming initialize, and the session still works after", async () => {
    const client = await connect();
    const error = expectError(await client.request("tools/list"), INVALID_REQUEST, /initialize/);
    expect(error.message).toMatch(/tools\/list/);
    await client.initialize();
    const tools = await client.call("tools/list");
    expect(tools.tools).toEqual(expect.any(Array));
  });

  it("ignores notifications/initialized sent before initialize", async () => {
    const client = await connect();
    client.notify("notifications/initialized");
    expectError(await client.request("tools/list"), INVALID_REQUEST, /initialize/);
  });
});
