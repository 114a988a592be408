/**
 * shared/codec.ts: one text frame in, one classified message or a ready-made
 * error reply out; total over any input.
 */
import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { classify, decodeFrame, exceedsDepth, exceedsUtf8Bytes } from "../../shared/codec";
import { INVALID_REQUEST, PARSE_ERROR } from "../../shared/errors";
import { JsonRpcRequestSchema } from "../../shared/protocol";

function replyOf(text: string) {
  const frame = decodeFrame(text);
  if (frame.kind !== "invalid") throw new Error(`expected invalid, got ${frame.kind}`);
  return frame.reply;
}

describe("decodeFrame: well-formed messages", () => {
  it("classifies a request with an integer id and keeps params._meta", () => {
    const frame = decodeFrame(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"k":1}}}',
    );
    expect(frame).toEqual({
      kind: "request",
      message: {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "echo", _meta: { k: 1 } },
      },
    });
  });

  it("classifies a request with a string id and no params", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","id":"a","method":"ping"}')).toMatchObject({
      kind: "request",
      message: { id: "a", method: "ping" },
    });
  });

  it("classifies a message without id as a notification", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toEqual({
      kind: "notification",
      message: { jsonrpc: "2.0", method: "notifications/initialized" },
    });
  });

  it("classifies result and error messages as responses", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","id":3,"result":{}}').kind).toBe("response");
    expect(
      decodeFrame('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"x"}}').kind,
    ).toBe("response");
  });

  it("keeps unknown top-level keys (loose schemas)", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","id":1,"method":"ping","extra":true}')).toMatchObject({
      message: { extra: true },
    });
  });
});

describe("decodeFrame: not JSON", () => {
  it.each(["not json", "", "{", '{"jsonrpc":"2.0",}', "\u0000"])(
    "answers -32700 with id null to %j",
    (text) => {
      const reply = replyOf(text);
      expect(reply).toEqual({
        jsonrpc: "2.0",
        id: null,
        error: { code: PARSE_ERROR, message: expect.stringMatching(/^Parse error/) },
      });
    },
  );
});

describe("decodeFrame: JSON that is not JSON-RPC", () => {
  it.each([
    ["a number", "42", /expected a JSON-RPC object/],
    ["a string", '"x"', /expected a JSON-RPC object/],
    ["null", "null", /expected a JSON-RPC object/],
    ["true", "true", /expected a JSON-RPC object/],
    ["a batch", '[{"jsonrpc":"2.0","id":1,"method":"ping"}]', /batches are not supported/],
    ["an empty array", "[]", /batches are not supported/],
    ["an object with no JSON-RPC keys", '{"foo":1}', /"jsonrpc" must be "2.0"/],
    ["a request with a fractional id", '{"jsonrpc":"2.0","id":1.5,"method":"p"}', /"id"/],
    ["a request with a boolean id", '{"jsonrpc":"2.0","id":true,"method":"p"}', /"id"/],
    ["a request with a null id", '{"jsonrpc":"2.0","id":null,"method":"p"}', /"id"/],
    ["a result with a null id", '{"jsonrpc":"2.0","id":null,"result":{}}', /"id"/],
    // Past 2^53 - 1 JSON.parse has already rounded the id: echoing it would name another request.
    [
      "a request with an id past 2^53 - 1",
      '{"jsonrpc":"2.0","id":9007199254740993,"method":"p"}',
      /"id" must be a string or an integer between/,
    ],
    [
      "a request with an id below -(2^53 - 1)",
      '{"jsonrpc":"2.0","id":-9007199254740993,"method":"p"}',
      /"id"/,
    ],
  ])("answers -32600 with id null to %s", (_label, text, message) => {
    const reply = replyOf(text);
    expect(reply.id).toBeNull();
    expect(reply.error.code).toBe(INVALID_REQUEST);
    expect(reply.error.message).toMatch(message);
  });

  it.each([
    ['jsonrpc "1.0"', '{"jsonrpc":"1.0","id":7,"method":"ping"}', 7, /"jsonrpc" must be "2.0"/],
    ["no jsonrpc", '{"id":"s","method":"ping"}', "s", /"jsonrpc" must be "2.0"/],
    ["a numeric method", '{"jsonrpc":"2.0","id":8,"method":42}', 8, /"method" must be a string/],
    ["string params", '{"jsonrpc":"2.0","id":9,"method":"p","params":"x"}', 9, /"params"/],
    ["array params", '{"jsonrpc":"2.0","id":10,"method":"p","params":[1]}', 10, /"params"/],
    ["a result that is not an object", '{"jsonrpc":"2.0","id":11,"result":5}', 11, /not a/],
  ])("answers -32600 echoing the id to a message with %s", (_label, text, id, message) => {
    const reply = replyOf(text);
    expect(reply.id).toBe(id);
    expect(reply.error.code).toBe(INVALID_REQUEST);
    expect(reply.error.message).toMatch(message);
  });

  it("accepts the largest safe integer id and echoes it exactly", () => {
    const frame = decodeFrame('{"jsonrpc":"2.0","id":9007199254740991,"method":"p"}');
    expect(frame).toMatchObject({ kind: "request", message: { id: 9007199254740991 } });
  });

  it("answers -32600 to a notification whose params are an array", () => {
    expect(decodeFrame('{"jsonrpc":"2.0","method":"n","params":[1]}').kind).toBe("invalid");
  });
});

describe("classify", () => {
  it("never throws, whatever value it is given", () => {
    const values: unknown[] = [undefined, 0, Number.NaN, Symbol("s"), () => 1, new Date(), {}];
    for (const value of values) expect(() => classify(value)).not.toThrow();
  });

  // A well-formed request is recognised by a hand-written check before any
  // schema runs; this holds it to JsonRpcRequestSchema on every field's edge.
  it("takes a value as a request exactly when JsonRpcRequestSchema does", () => {
    const absent = fc.constant(undefined);
    const field = (...values: fc.Arbitrary<unknown>[]) => fc.oneof(absent, ...values);
    const record = fc.record({
      jsonrpc: field(fc.constantFrom("2.0", "2", "1.0", 2, null)),
      id: field(
        fc.string({ maxLength: 3 }),
        fc.integer(),
        fc.constantFrom(1.5, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, null, true, [], {}),
      ),
      method: field(fc.string({ maxLength: 3 }), fc.constantFrom(1, null, {})),
      params: field(fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 })),
      other: field(fc.constantFrom([], null, "x", 1)),
      result: field(fc.constant({})),
    });
    fc.assert(
      fc.property(record, fc.constantFrom([], null, "p", 1), (fields, badParams) => {
        const value: Record<string, unknown> = {};
        for (const [key, entry] of Object.entries(fields)) {
          if (entry !== undefined) value[key] = entry;
        }
        // Params of every wrong type too, not only a dictionary or nothing.
        const cases = [value, { ...value, params: badParams }];
        for (const candidate of cases) {
          const frame = classify(candidate);
          const schema = v.safeParse(JsonRpcRequestSchema, candidate);
          expect(frame.kind === "request").toBe(schema.success);
          if (frame.kind === "request") expect(frame.message).toEqual(candidate);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("exceedsDepth", () => {
  function depthOf(value: unknown): number {
    if (typeof value !== "object" || value === null) return 0;
    const children = Array.isArray(value) ? value : Object.values(value);
    return 1 + Math.max(0, ...children.map(depthOf));
  }

  it("is true exactly when objects and arrays nest deeper than the limit", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 7 }), (value, limit) => {
        expect(exceedsDepth(value, limit)).toBe(depthOf(value) > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it("answers for nesting far past the limit without overflowing the stack", () => {
    let deep: unknown = 1;
    for (let level = 0; level < 200_000; level += 1) deep = [deep];
    expect(exceedsDepth(deep, 64)).toBe(true);
    expect(exceedsDepth(JSON.parse(`${"[".repeat(64)}${"]".repeat(64)}`), 64)).toBe(false);
  });
});

describe("exceedsUtf8Bytes", () => {
  it("is false at the limit and true one byte over it, for ASCII", () => {
    expect(exceedsUtf8Bytes("a".repeat(100), 100)).toBe(false);
    expect(exceedsUtf8Bytes("a".repeat(101), 100)).toBe(true);
  });

  it("counts multi-byte characters in bytes", () => {
    // "é" is 2 bytes, "😀" is 4 bytes (2 UTF-16 code units).
    expect(exceedsUtf8Bytes("é".repeat(50), 100)).toBe(false);
    expect(exceedsUtf8Bytes("é".repeat(51), 100)).toBe(true);
    expect(exceedsUtf8Bytes("😀".repeat(25), 100)).toBe(false);
    expect(exceedsUtf8Bytes("😀".repeat(26), 100)).toBe(true);
    expect(exceedsUtf8Bytes("€".repeat(34), 100)).toBe(true);
    expect(exceedsUtf8Bytes("€".repeat(33), 100)).toBe(false);
  });

  it("is false for an empty string", () => {
    expect(exceedsUtf8Bytes("", 0)).toBe(false);
  });
});
