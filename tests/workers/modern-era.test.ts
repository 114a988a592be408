/**
 * The 2026-07-28 era over the socket: no initialize; each request carries its
 * protocol version and client info in params._meta and is served statelessly.
 */
import { describe, expect, it } from "vitest";
import { INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND } from "../../shared/errors";
import {
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
} from "../../shared/protocol";
import {
  connect,
  expectError,
  type JsonObject,
  MODERN_VERSION,
  modernMeta,
  TEST_CLIENT,
  toolText,
} from "../helpers/workerd";

describe("server/discover", () => {
  it("returns supportedVersions containing 2026-07-28 and resultType complete, without initialize", async () => {
    const client = await connect();
    const result = await client.call("server/discover", {}, modernMeta());
    expect(result.supportedVersions).toContain(MODERN_VERSION);
    expect(result.resultType).toBe("complete");
    expect(result.capabilities).toMatchObject({ tools: {} });
  });

  it("is answered before initialize without the envelope too, as a session-era result", async () => {
    const client = await connect();
    const result = await client.call("server/discover");
    expect(result.supportedVersions).toContain(MODERN_VERSION);
    expect(result).not.toHaveProperty("resultType");
  });
});

describe("requests with the modern envelope", () => {
  it("serve tools/call echo without initialize, with resultType complete and the server's info", async () => {
    const client = await connect();
    const result = await client.callTool("echo", { text: "stateless" }, modernMeta());
    expect(toolText(result)).toBe("stateless");
    expect(result.resultType).toBe("complete");
    expect(result._meta).toMatchObject({ [META_SERVER_INFO]: { name: "dormouse" } });
  });

  it("mark tools/list uncacheable with ttlMs 0 and a private cache scope", async () => {
    const client = await connect();
    const result = await client.call("tools/list", {}, modernMeta());
    expect(result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    expect((result.tools as JsonObject[]).length).toBe(8);
  });

  it("describe the request's own version and client info in session_info", async () => {
    const client = await connect();
    const clientInfo = { name: "modern-probe", version: "2.0.0" };
    const result = await client.callTool(
      "session_info",
      {},
      modernMeta({ [META_CLIENT_INFO]: clientInfo }),
    );
    expect(JSON.parse(toolText(result))).toMatchObject({
      era: MODERN_VERSION,
      protocolVersion: MODERN_VERSION,
      clientInfo,
      phase: "new",
    });
  });

  it("filter log messages below the level carried in _meta", async () => {
    const client = await connect();
    const meta = modernMeta({ [META_LOG_LEVEL]: "error" });
    const below = await client.callTool("log", { level: "warning", message: "x" }, meta);
    expect(toolText(below)).toMatch(/^filtered/);
    const at = await client.callTool("log", { level: "error", message: "y" }, meta);
    expect(toolText(at)).toBe("sent at error");
    const note = await client.nextNotification("notifications/message");
    expect(note.params).toMatchObject({ level: "error", data: "y" });
  });

  it("do not initialize the session: a session-era request afterwards still needs initialize", async () => {
    const client = await connect();
    await client.callTool("echo", { text: "a" }, modernMeta());
    expectError(await client.request("tools/list"), INVALID_REQUEST, /initialize/);
  });

  it("answer -32602 with data.supported to a version the server does not support", async () => {
    const client = await connect();
    const error = expectError(
      await client.request(
        "tools/call",
        { name: "echo", arguments: { text: "a" } },
        { [META_PROTOCOL_VERSION]: "2099-01-01", [META_CLIENT_INFO]: TEST_CLIENT },
      ),
      INVALID_PARAMS,
      /2099-01-01/,
    );
    expect(error.data).toMatchObject({
      supported: expect.arrayContaining([MODERN_VERSION]),
      requested: "2099-01-01",
    });
  });

  it("answer -32602 to an envelope whose client info is malformed", async () => {
    const client = await connect();
    expectError(
      await client.request("tools/list", {}, modernMeta({ [META_CLIENT_INFO]: { name: 42 } })),
      INVALID_PARAMS,
      /envelope/,
    );
  });

  it.each(["ping", "logging/setLevel", "initialize"])(
    "answer -32601 to %s, which 2026-07-28 removed",
    async (method) => {
      const client = await connect();
      expectError(await client.request(method, {}, modernMeta()), METHOD_NOT_FOUND, method);
    },
  );

  it("treat a session-era version in _meta as the session era, which needs initialize", async () => {
    const client = await connect();
    expectError(
      await client.request("tools/list", {}, { [META_PROTOCOL_VERSION]: "2025-11-25" }),
      INVALID_REQUEST,
      /initialize/,
    );
  });
});
