/**
 * Bad input, line by line (ARCHITECTURE.md "Errors"): each answer has its fixed code,
 * nothing the session stored is lost, and the socket stays open unless the
 * frame itself is unacceptable (binary: 1003, oversized: 1009), in which case
 * the session can be re-attached intact.
 */
import { describe, expect, it } from "vitest";
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
} from "../../shared/errors";
import {
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_UNSUPPORTED_DATA,
  MAX_FRAME_BYTES,
  SLEEP_MAX_MS,
} from "../../shared/limits";
import {
  asResponse,
  type Client,
  connect,
  expectError,
  type Frame,
  isObject,
  type RpcResponse,
  toolText,
} from "../helpers/workerd";

const STORED = 3;

/** An initialized session whose counter holds STORED. */
async function sessionWithState(): Promise<Client> {
  const client = await connect();
  await client.initialize();
  await client.callTool("counter", { by: STORED });
  return client;
}

/** The socket is still open, still answers, and the counter still holds STORED. */
async function expectIntact(client: Client): Promise<void> {
  expect(client.closed).toBeNull();
  expect(await client.counter()).toBe(STORED);
}

function isErrorFrame(frame: Frame): boolean {
  return isObject(frame) && "error" in frame;
}

async function nextError(client: Client): Promise<RpcResponse> {
  return asResponse(await client.nextMessage(isErrorFrame, "an error response"));
}

describe("frames that are not JSON", () => {
  it.each([
    ["plain text", "not json"],
    ["truncated JSON", '{"jsonrpc":"2.0","id":1,'],
    ["an empty frame", ""],
  ])("answer -32700 with id null to %s and keep the session open", async (_label, text) => {
    const client = await sessionWithState();
    client.sendRaw(text);
    const reply = await nextError(client);
    expect(reply.id).toBeNull();
    expectError(reply, PARSE_ERROR, /Parse error/);
    await expectIntact(client);
  });
});

describe("JSON that is not JSON-RPC", () => {
  it.each([
    ["a number", "42"],
    ["a string", '"ping"'],
    ["null", "null"],
    ["an object without jsonrpc or method", '{"foo":1}'],
    ["an empty batch", "[]"],
    ["a batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'],
    ["a request whose id is a fraction", '{"jsonrpc":"2.0","id":1.5,"method":"ping"}'],
    ["a request whose id is an object", '{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}'],
    // JSON.parse turns it into ...992: answering that would name another request.
    [
      "a request whose id is past 2^53 - 1",
      '{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}',
    ],
  ])("answers -32600 with id null to %s and keeps the session open", async (_label, text) => {
    const client = await sessionWithState();
    client.sendRaw(text);
    const reply = await nextError(client);
    expect(reply.id).toBeNull();
    expectError(reply, INVALID_REQUEST, /Invalid Request/);
    await expectIntact(client);
  });

  it.each([
    ['jsonrpc "1.0"', '{"jsonrpc":"1.0","id":7,"method":"ping"}', 7, /"jsonrpc" must be "2.0"/],
    ["jsonrpc missing", '{"id":"r-7","method":"ping"}', "r-7", /"jsonrpc" must be "2.0"/],
    ["a method that is not a string", '{"jsonrpc":"2.0","id":8,"method":42}', 8, /"method"/],
    [
      "params that are an array",
      '{"jsonrpc":"2.0","id":9,"method":"ping","params":[1]}',
      9,
      /"params"/,
    ],
  ])("answers -32600 echoing the id to a request with %s", async (_label, text, id, message) => {
    const client = await sessionWithState();
    client.sendRaw(text);
    expectError(await client.nextResponse(id), INVALID_REQUEST, message);
    await expectIntact(client);
  });

  it("answers an id of 2^53 - 1 under exactly that id", async () => {
    const client = await sessionWithState();
    client.sendRaw('{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}');
    expect(await client.nextResponse(9007199254740991)).toMatchObject({ result: {} });
    await expectIntact(client);
  });

  it("ignores a response frame nobody asked for and keeps the session open", async () => {
    const client = await sessionWithState();
    client.sendJson({ jsonrpc: "2.0", id: "stray", result: {} });
    await client.expectNoMessage(
      (f) => isObject(f) && f.id === "stray",
      100,
      "reply to a stray response",
    );
    await expectIntact(client);
  });
});

describe("unknown methods", () => {
  it("answers -32601 naming the method to an unknown request", async () => {
    const client = await sessionWithState();
    expectError(await client.request("tools/frobnicate"), METHOD_NOT_FOUND, /tools\/frobnicate/);
    await expectIntact(client);
  });

  it("answers -32601 to a method inherited from Object.prototype", async () => {
    const client = await sessionWithState();
    expectError(await client.request("constructor"), METHOD_NOT_FOUND, /constructor/);
    expectError(await client.request("__proto__"), METHOD_NOT_FOUND);
    await expectIntact(client);
  });

  it("ignores an unknown notification without a reply", async () => {
    const client = await sessionWithState();
    client.notify("notifications/frobnicated", { x: 1 });
    await client.expectNoMessage(isErrorFrame, 100, "error for an unknown notification");
    await expectIntact(client);
  });
});

describe("invalid params", () => {
  /** A tool execution error (SEP-1303): a result with isError whose text names the issues. */
  function expectToolError(response: RpcResponse, text: RegExp): void {
    expect(response.error).toBeUndefined();
    const result = response.result as { isError?: boolean; content?: { text?: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content?.[0]?.text).toMatch(text);
  }

  it("answers tools/call with an argument of the wrong type with an isError result naming it", async () => {
    const client = await sessionWithState();
    expectToolError(
      await client.request("tools/call", { name: "add", arguments: { a: "two", b: 3 } }),
      /Invalid arguments for tool add: a: .*number/,
    );
    await expectIntact(client);
  });

  it("answers tools/call missing a required argument with an isError result", async () => {
    const client = await sessionWithState();
    expectToolError(
      await client.request("tools/call", { name: "echo", arguments: {} }),
      /Invalid arguments for tool echo: text/,
    );
    await expectIntact(client);
  });

  it("answers a counter step that is not an integer with an isError result and leaves the counter unchanged", async () => {
    const client = await sessionWithState();
    expectToolError(
      await client.request("tools/call", { name: "counter", arguments: { by: 1.5 } }),
      /Invalid arguments for tool counter: by/,
    );
    await expectIntact(client);
  });

  it(`answers a sleep longer than ${SLEEP_MAX_MS} ms with an isError result`, async () => {
    const client = await sessionWithState();
    expectToolError(
      await client.request("tools/call", { name: "sleep", arguments: { ms: SLEEP_MAX_MS + 1 } }),
      /Invalid arguments for tool sleep: ms/,
    );
    await expectIntact(client);
  });

  it.each(["2025-06-18", "2025-03-26"])(
    "answers invalid arguments with -32602 to a session that negotiated %s (before SEP-1303)",
    async (protocolVersion) => {
      const client = await connect();
      await client.initialize({ protocolVersion });
      expectError(
        await client.request("tools/call", { name: "add", arguments: { a: "two", b: 3 } }),
        INVALID_PARAMS,
        /Invalid arguments for tool add: a: .*number/,
      );
    },
  );

  it("answers -32602 naming the tool to tools/call for an unknown tool", async () => {
    const client = await sessionWithState();
    expectError(
      await client.request("tools/call", { name: "nope", arguments: {} }),
      INVALID_PARAMS,
      /Unknown tool: nope/,
    );
    await expectIntact(client);
  });

  it("answers -32602 naming the field to tools/call without a name", async () => {
    const client = await sessionWithState();
    expectError(
      await client.request("tools/call", { arguments: {} }),
      INVALID_PARAMS,
      /Invalid params for tools\/call: name/,
    );
    await expectIntact(client);
  });

  it("answers -32602 to tools/call whose arguments are not an object", async () => {
    const client = await sessionWithState();
    expectError(
      await client.request("tools/call", { name: "echo", arguments: ["hi"] }),
      INVALID_PARAMS,
      /Invalid (params|arguments) for (tools\/call|tool echo)/,
    );
    await expectIntact(client);
  });

  it("answers -32602 to initialize without clientInfo and keeps the negotiated session", async () => {
    const client = await sessionWithState();
    expectError(
      await client.request("initialize", { protocolVersion: "2024-11-05", capabilities: {} }),
      INVALID_PARAMS,
      /Invalid params for initialize: clientInfo/,
    );
    expect(await client.sessionInfo()).toMatchObject({
      protocolVersion: "2025-11-25",
      phase: "ready",
    });
    await expectIntact(client);
  });

  it("answers -32602 to a list request with a cursor", async () => {
    const client = await sessionWithState();
    expectError(
      await client.request("tools/list", { cursor: "page-2" }),
      INVALID_PARAMS,
      /Invalid cursor/,
    );
    await expectIntact(client);
  });
});

describe("duplicate ids", () => {
  it("answers -32600 to a request whose id is already in flight, and still answers the first", async () => {
    const client = await sessionWithState();
    const sleep = {
      jsonrpc: "2.0",
      id: "dup",
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 300 } },
    };
    client.sendJson(sleep);
    client.sendJson({ jsonrpc: "2.0", id: "dup", method: "ping" });
    expectError(await client.nextResponse("dup"), INVALID_REQUEST, /already in flight/);
    const first = await client.nextResponse("dup");
    expect(toolText(first.result ?? {})).toBe("slept 300 ms");
    await expectIntact(client);
  });

  it("accepts an id again once its request has been answered", async () => {
    const client = await sessionWithState();
    client.sendJson({ jsonrpc: "2.0", id: "again", method: "ping" });
    expect((await client.nextResponse("again")).result).toEqual({});
    client.sendJson({ jsonrpc: "2.0", id: "again", method: "ping" });
    expect((await client.nextResponse("again")).result).toEqual({});
  });
});

describe("unacceptable frames", () => {
  async function expectReattachable(sessionId: string): Promise<void> {
    const again = await connect(sessionId);
    await expectIntact(again);
    expect((await again.sessionInfo()).phase).toBe("ready");
  }

  it("closes the socket with 1003 on a binary frame; the session re-attaches intact", async () => {
    const client = await sessionWithState();
    client.sendRaw(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"ping"}'));
    const closed = await client.waitForClose();
    expect(closed.code).toBe(CLOSE_UNSUPPORTED_DATA);
    expect(closed.reason).toMatch(/binary/);
    await expectReattachable(client.sessionId);
  });

  it(`closes the socket with 1009 on a text frame over ${MAX_FRAME_BYTES} bytes; the session re-attaches intact`, async () => {
    const client = await sessionWithState();
    client.sendRaw("x".repeat(MAX_FRAME_BYTES + 1));
    const closed = await client.waitForClose();
    expect(closed.code).toBe(CLOSE_MESSAGE_TOO_BIG);
    await expectReattachable(client.sessionId);
  });

  it("counts the limit in UTF-8 bytes, not characters", async () => {
    const client = await sessionWithState();
    // Two bytes per character: under the limit in characters, over it in bytes.
    client.sendRaw("é".repeat(MAX_FRAME_BYTES / 2 + 1));
    expect((await client.waitForClose()).code).toBe(CLOSE_MESSAGE_TOO_BIG);
    await expectReattachable(client.sessionId);
  });

  it(`answers a request of exactly ${MAX_FRAME_BYTES} bytes`, async () => {
    const client = await sessionWithState();
    const request = (text: string) => ({
      jsonrpc: "2.0",
      id: "big",
      method: "tools/call",
      params: { name: "echo", arguments: { text } },
    });
    const padding = MAX_FRAME_BYTES - JSON.stringify(request("")).length;
    const frame = JSON.stringify(request("y".repeat(padding)));
    expect(frame.length).toBe(MAX_FRAME_BYTES);
    client.sendRaw(frame);
    const reply = await client.nextResponse("big");
    expect(toolText(reply.result ?? {})).toHaveLength(padding);
    await expectIntact(client);
  });
});
