/**
 * Property-based fuzzing (fast-check) of the two decoders that face untrusted
 * bytes before anything else runs: the frame decoder (shared/codec.ts), fed
 * arbitrary text, arbitrary JSON and JSON-RPC look-alikes, and the socket
 * attachment codec (worker/attachment.ts), fed arbitrary structured-clone
 * values and near-miss attachments.
 *
 * Each property states an oracle written independently of the code under
 * test (from the JSON-RPC 2.0 rules and the attachment's documented fields),
 * so a generated input that the decoder classifies differently fails with the
 * smallest counterexample fast-check can shrink to.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../shared/codec";
import { INVALID_REQUEST, PARSE_ERROR } from "../../shared/errors";
import { PHASES } from "../../shared/lifecycle";
import { MAX_JSON_DEPTH } from "../../shared/limits";
import { LOG_LEVELS } from "../../shared/protocol";
import {
  ATTACHMENT_VERSION,
  type Attachment,
  decodeAttachment,
} from "../../worker/storage/attachment";

const RUNS = 5_000;
const SID = "5a".repeat(32);

const REAL_METHODS = [
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/subscribe",
  "prompts/get",
  "logging/setLevel",
  "completion/complete",
  "server/discover",
  "notifications/initialized",
  "notifications/cancelled",
  "constructor",
  "__proto__",
];

type Json = unknown;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string, or an integer a JavaScript number holds exactly (larger ones are refused, not rounded). */
function isRequestId(value: unknown): boolean {
  return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
}

/** Nesting depth as the codec counts it: a scalar is 0, `{}` and `[]` are 1. */
function depthOf(value: Json): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depthOf(child)), 0);
}

/** What JSON-RPC 2.0 says a parsed frame is; `null` means "not a valid message". */
function expectedKind(value: Json): "request" | "notification" | "response" | null {
  if (!isPlainObject(value) || value.jsonrpc !== "2.0") return null;
  const paramsOk = !("params" in value) || isPlainObject(value.params);
  if ("method" in value) {
    if (typeof value.method !== "string" || !paramsOk) return null;
    if ("id" in value) return isRequestId(value.id) ? "request" : null;
    return "notification";
  }
  if ("result" in value && isRequestId(value.id) && isPlainObject(value.result)) return "response";
  if ("error" in value) {
    const error = value.error;
    const idOk = value.id === null || isRequestId(value.id);
    if (
      idOk &&
      isPlainObject(error) &&
      typeof error.code === "number" &&
      Number.isInteger(error.code) &&
      typeof error.message === "string"
    ) {
      return "response";
    }
  }
  return null;
}

/** The id an error reply must echo: the frame's own id when it is a valid one. */
function expectedReplyId(value: Json): unknown {
  if (!isPlainObject(value) || Array.isArray(value)) return null;
  return isRequestId(value.id) ? value.id : null;
}

function expectWellFormedReply(reply: unknown): void {
  expect(isPlainObject(reply)).toBe(true);
  const envelope = reply as Record<string, unknown>;
  expect(Object.keys(envelope).sort()).toEqual(["error", "id", "jsonrpc"]);
  expect(envelope.jsonrpc).toBe("2.0");
  expect(envelope.id === null || isRequestId(envelope.id)).toBe(true);
  const error = envelope.error as Record<string, unknown>;
  expect([PARSE_ERROR, INVALID_REQUEST]).toContain(error.code);
  expect(typeof error.message).toBe("string");
  // The reply goes out as a frame: it must serialise, and carry nothing internal.
  const text = JSON.stringify(reply);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|[A-Z][A-Za-z]*Error:/);
}

function classifyParsed(text: string): { parsed: boolean; value?: Json } {
  try {
    return { parsed: true, value: JSON.parse(text) as Json };
  } catch {
    return { parsed: false };
  }
}

/** A value nested `depth` levels deep (objects and arrays alternating with `shape`). */
function nest(depth: number, shape: "object" | "array" | "mixed", leaf: Json): Json {
  let value: Json = leaf;
  for (let level = 0; level < depth; level++) {
    const asArray = shape === "array" || (shape === "mixed" && level % 2 === 1);
    value = asArray ? [value] : { n: value };
  }
  return value;
}

const idArb = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
);

const methodArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...REAL_METHODS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.boolean()) },
);

const jsonArb = fc.jsonValue({ maxDepth: 4 });

/** Objects that look like JSON-RPC: every key optional, each value right or wrong. */
const lookAlikeArb = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant("2.0"), fc.constant("2.0"), fc.constant("1.0"), jsonArb),
    id: idArb,
    method: methodArb,
    params: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 6 }), jsonArb, { maxKeys: 4 }),
      fc.constant({ _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } }),
      jsonArb,
    ),
    result: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), jsonArb, { maxKeys: 2 }), jsonArb),
    error: fc.oneof(
      fc.record({
        code: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
        message: fc.oneof(fc.string(), fc.integer()),
      }),
      jsonArb,
    ),
  },
  { requiredKeys: [] },
);

/** Adds an own `__proto__` key, which JSON.parse creates as a plain property. */
function withProtoKey(text: string, proto: boolean): string {
  return proto && text.length > 2
    ? text.replace(/^\{/, '{"__proto__":{"method":"ping","id":1},')
    : text;
}

describe("decodeFrame under fuzzing", () => {
  it("never throws on arbitrary text and answers -32700 exactly when it is not JSON", () => {
    const textArb = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({ unit: "grapheme", maxLength: 200 }),
      jsonArb.map((value) => JSON.stringify(value)),
      // JSON with a byte dropped, duplicated or replaced: mostly broken, sometimes still JSON.
      fc.tuple(jsonArb, fc.nat(), fc.string({ maxLength: 2 })).map(([value, at, patch]) => {
        const text = JSON.stringify(value) ?? "";
        const i = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, i) + patch + text.slice(i + 1);
      }),
    );
    fc.assert(
      fc.property(textArb, (text) => {
        const frame = decodeFrame(text);
        expect(["request", "notification", "response", "invalid"]).toContain(frame.kind);
        const { parsed } = classifyParsed(text);
        if (!parsed) {
          expect(frame.kind).toBe("invalid");
          if (frame.kind === "invalid") {
            expectWellFormedReply(frame.reply);
            expect(frame.reply.error.code).toBe(PARSE_ERROR);
            expect(frame.reply.id).toBeNull();
          }
        } else if (frame.kind === "invalid") {
          expectWellFormedReply(frame.reply);
          expect(frame.reply.error.code).toBe(INVALID_REQUEST);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("classifies JSON-RPC look-alikes exactly as JSON-RPC 2.0 says, echoing recoverable ids", () => {
    fc.assert(
      fc.property(lookAlikeArb, fc.boolean(), (candidate, proto) => {
        const text = withProtoKey(JSON.stringify(candidate), proto);
        const value = JSON.parse(text) as Json;
        const frame = decodeFrame(text);
        const expected = expectedKind(value);
        if (expected === null) {
          expect(frame.kind).toBe("invalid");
          if (frame.kind !== "invalid") return;
          expectWellFormedReply(frame.reply);
          expect(frame.reply.error.code).toBe(INVALID_REQUEST);
          expect(frame.reply.id).toEqual(expectedReplyId(value));
          return;
        }
        expect(frame.kind).toBe(expected);
        if (frame.kind === "invalid") return;
        const source = value as Record<string, unknown>;
        const message = frame.message as unknown as Record<string, unknown>;
        expect(message.jsonrpc).toBe("2.0");
        if ("id" in source) expect(message.id).toEqual(source.id);
        if ("method" in source) expect(message.method).toBe(source.method);
        if (isPlainObject(source.params)) expect(message.params).toEqual(source.params);
      }),
      { numRuns: RUNS },
    );
  });

  it("refuses any JSON array (batches) and any scalar with -32600 and id null", () => {
    const notAnObject = fc.oneof(
      fc.array(jsonArb, { maxLength: 4 }),
      fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.double()),
    );
    fc.assert(
      fc.property(notAnObject, (value) => {
        const frame = decodeFrame(JSON.stringify(value) ?? "null");
        expect(frame.kind).toBe("invalid");
        if (frame.kind !== "invalid") return;
        expectWellFormedReply(frame.reply);
        expect(frame.reply.error.code).toBe(INVALID_REQUEST);
        expect(frame.reply.id).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses deeper with -32600, id echoed`, () => {
    const arb = fc.record({
      depth: fc.integer({ min: 0, max: 2 * MAX_JSON_DEPTH }),
      shape: fc.constantFrom("object" as const, "array" as const, "mixed" as const),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 6 })),
      leaf: fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant({}), fc.constant([])),
    });
    fc.assert(
      fc.property(arb, ({ depth, shape, id, leaf }) => {
        const message = {
          jsonrpc: "2.0",
          id,
          method: "ping",
          params: { deep: nest(depth, shape, leaf) },
        };
        const frame = decodeFrame(JSON.stringify(message));
        if (depthOf(message) > MAX_JSON_DEPTH) {
          expect(frame.kind).toBe("invalid");
          if (frame.kind !== "invalid") return;
          expectWellFormedReply(frame.reply);
          expect(frame.reply.error.code).toBe(INVALID_REQUEST);
          expect(frame.reply.error.message).toMatch(/nesting/);
          expect(frame.reply.id).toEqual(id);
        } else {
          expect(frame.kind).toBe("request");
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("survives nesting far beyond any stack (100,000 levels) without throwing", () => {
    for (const open of ["[", '{"a":']) {
      const close = open === "[" ? "]" : "}";
      const text = `${open.repeat(100_000)}1${close.repeat(100_000)}`;
      const frame = decodeFrame(text);
      expect(frame.kind).toBe("invalid");
      if (frame.kind === "invalid") expectWellFormedReply(frame.reply);
    }
  });
});

// ---------------------------------------------------------------------------

interface Field<T> {
  value: T;
  valid: boolean;
}

function field<T>(
  valid: fc.Arbitrary<T>,
  invalid: fc.Arbitrary<unknown>,
): fc.Arbitrary<Field<unknown>> {
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((value) => ({ value, valid: true })) },
    { weight: 1, arbitrary: invalid.map((value) => ({ value, valid: false })) },
  );
}

const notAString = fc.oneof(
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.object({ maxDepth: 1 }),
);

/** Every attachment field, each either valid or a near miss, and whether it may be absent. */
const attachmentFieldsArb = fc.record({
  v: field(
    fc.constant(ATTACHMENT_VERSION),
    fc.oneof(
      fc.constantFrom(0, 2, "1", null),
      fc.integer().filter((n) => n !== ATTACHMENT_VERSION),
    ),
  ),
  sid: field(
    fc.constant(SID),
    fc.oneof(
      fc.constant("f".repeat(64)),
      fc.constant(SID.toUpperCase()),
      notAString,
      fc.string({ minLength: 129, maxLength: 140 }),
    ),
  ),
  gen: field(
    fc.nat(),
    fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ min: 0.1, max: 0.9 }),
      fc.constant(Number.NaN),
      fc.constant("3"),
    ),
  ),
  phase: field(
    fc.constantFrom(...PHASES),
    fc.oneof(fc.constantFrom("READY", "closed", ""), notAString),
  ),
  pv: field(
    fc.oneof(fc.constant(null), fc.string({ maxLength: 32 })),
    fc.oneof(fc.string({ minLength: 33, maxLength: 40 }), fc.integer()),
  ),
  ll: field(
    fc.constantFrom(...LOG_LEVELS),
    fc.oneof(fc.constantFrom("INFO", "verbose", ""), notAString),
  ),
  tb: field(
    fc.option(fc.tuple(fc.double({ noNaN: true, min: 0 }), fc.double({ noNaN: true })), {
      nil: undefined,
    }),
    fc.oneof(
      fc.constant([1]),
      fc.constant(["1", 2]),
      fc.constant([Number.NaN, 0]),
      fc.constant([-1, 0]),
      fc.constant({ 0: 1, 1: 2 }),
    ),
  ),
  ta: field(
    fc.option(fc.nat(), { nil: undefined }),
    fc.oneof(fc.constant(-5), fc.constant("1"), fc.constant(Number.NaN)),
  ),
  omit: fc.subarray(["v", "sid", "gen", "phase", "pv", "ll", "tb", "ta"] as const, {
    maxLength: 2,
  }),
});

describe("decodeAttachment under fuzzing", () => {
  it("never throws on arbitrary structured-clone values and returns null or a valid attachment", () => {
    const anything = fc.anything({
      maxDepth: 3,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
    });
    fc.assert(
      fc.property(anything, (raw) => {
        const decoded = decodeAttachment(raw, SID);
        if (decoded !== null) expectValidAttachment(decoded);
      }),
      { numRuns: RUNS },
    );
  });

  it("decodes exactly the attachments whose every field is valid, and nothing else", () => {
    fc.assert(
      fc.property(attachmentFieldsArb, ({ omit, ...fields }) => {
        const raw: Record<string, unknown> = {};
        let valid = true;
        for (const [name, { value, valid: fieldValid }] of Object.entries(fields)) {
          if ((omit as readonly string[]).includes(name)) {
            // The token bucket and the touch time are optional (attachments from before them).
            if (name !== "tb" && name !== "ta") valid = false;
            continue;
          }
          if (value !== undefined) raw[name] = value;
          valid &&= fieldValid;
        }
        const decoded = decodeAttachment(structuredClone(raw), SID);
        if (valid) {
          expect(decoded).not.toBeNull();
          if (decoded) expectValidAttachment(decoded);
        } else {
          expect(decoded).toBeNull();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

function expectValidAttachment(attachment: Attachment): void {
  expect(attachment.v).toBe(ATTACHMENT_VERSION);
  expect(attachment.sid).toBe(SID);
  expect(Number.isInteger(attachment.gen) && attachment.gen >= 0).toBe(true);
  expect(PHASES).toContain(attachment.phase);
  expect(
    attachment.pv === null || (typeof attachment.pv === "string" && attachment.pv.length <= 32),
  ).toBe(true);
  expect(LOG_LEVELS).toContain(attachment.ll);
  if (attachment.tb !== undefined) {
    expect(attachment.tb).toHaveLength(2);
    for (const n of attachment.tb) expect(typeof n === "number" && !Number.isNaN(n)).toBe(true);
    expect(attachment.tb[0]).toBeGreaterThanOrEqual(0);
  }
  if (attachment.ta !== undefined) expect(attachment.ta).toBeGreaterThanOrEqual(0);
}
