/**
 * Property-based fuzzing (fast-check) of the dispatcher inside workerd, through
 * the real Worker and session object: generated JSON-RPC-ish frames (real and
 * made-up methods, right and wrong params, colliding and malformed ids,
 * notifications, stray responses, 2026 envelopes and plain garbage) are sent
 * on one fresh session per property run.
 *
 * What must hold for every batch:
 * - the object never throws out of a handler: the socket is never closed
 *   (a throw in webSocketMessage closes it with 1011), no reply is -32603, and
 *   no reply carries a stack trace;
 * - every frame that needs an answer gets exactly one: a request one reply
 *   with its id, an invalid frame one error with the id the codec recovered
 *   (the oracle is shared/codec's own decodeFrame), nothing else is answered;
 *   the only request allowed to go unanswered is one the batch cancelled;
 * - stored state stays valid: the session still handshakes, session_info
 *   parses, the counter still counts, and SessionStorage.read() returns a
 *   well-formed record.
 *
 * Batches stay under the per-session burst (RATE_BURST_MESSAGES) so the rate
 * limit, which is tested on its own in limits.test.ts, never answers instead.
 * `sleep` calls are capped at 50 ms so batches finish quickly.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeFrame } from "../../shared/codec";
import { INTERNAL_ERROR } from "../../shared/errors";
import { PHASES } from "../../shared/lifecycle";
import { RATE_BURST_MESSAGES, SESSION_ID_HEADER } from "../../shared/limits";
import {
  LOG_LEVELS,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  SESSION_ERA_VERSIONS,
} from "../../shared/protocol";
import { MAX_SUBSCRIPTIONS, SessionStorage } from "../../worker/storage/session-storage";
import { initializeHttp, sessionPost } from "../helpers/http";
import {
  type Client,
  connect,
  delay,
  type Frame,
  isObject,
  type JsonObject,
  sessionStub,
  TEST_CLIENT,
  toolText,
} from "../helpers/workerd";

/** Frames per batch: the burst, less the handshake and the checks after the batch. */
const MAX_FRAMES = RATE_BURST_MESSAGES - 20;
const WS_RUNS = 24;
const HTTP_RUNS = 25;
const REPLY_WAIT_MS = 5_000;
const SETTLE_MS = 120;

const STACK_TRACE = /\bat .+:\d+:\d+|[A-Z][A-Za-z]*Error:/;

// --- generators -------------------------------------------------------------

const json = fc.jsonValue({ maxDepth: 3 });
const smallString = fc.string({ maxLength: 12 });

/** Ids from a small pool so that they collide, plus ids JSON-RPC forbids. */
const idArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom("a", "b", "c", "1", "") },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.constant(null), fc.constant(1.5), fc.constant({}), fc.constant(true)),
  },
);

const levelArb = fc.oneof(fc.constantFrom(...LOG_LEVELS), smallString);
const uriArb = fc.oneof(
  fc.constantFrom("dormouse://about", "dormouse://session", "dormouse://nope"),
  smallString,
);

const toolCallArb = fc.oneof(
  fc.record({
    name: fc.constant("echo"),
    arguments: fc.oneof(fc.record({ text: fc.string() }), json),
  }),
  fc.record({
    name: fc.constant("add"),
    arguments: fc.record({ a: fc.oneof(fc.double(), json), b: fc.oneof(fc.integer(), json) }),
  }),
  fc.record({
    name: fc.constant("counter"),
    arguments: fc.oneof(
      fc.record({ by: fc.oneof(fc.integer({ min: -100, max: 100 }), json) }),
      fc.constant({}),
    ),
  }),
  // Never a long sleep: at most 50 ms, or an argument that cannot be a duration.
  fc.record({
    name: fc.constant("sleep"),
    arguments: fc.record({
      ms: fc.oneof(fc.integer({ min: 0, max: 50 }), smallString, fc.constant(-1), fc.constant(1e9)),
    }),
  }),
  fc.record({ name: fc.constant("session_info"), arguments: fc.constant({}) }),
  fc.record({
    name: fc.constant("log"),
    arguments: fc.record({ level: levelArb, message: smallString }),
  }),
  fc.record({ name: smallString, arguments: json }),
  fc.dictionary(smallString, json, { maxKeys: 3 }),
);

/** Params for each real method, right-shaped or not, or anything at all. */
const paramsFor: Record<string, fc.Arbitrary<unknown>> = {
  initialize: fc.record(
    {
      protocolVersion: fc.oneof(
        fc.constantFrom(...SESSION_ERA_VERSIONS, "2026-07-28"),
        smallString,
      ),
      capabilities: fc.oneof(fc.constant({}), json),
      clientInfo: fc.oneof(fc.constant(TEST_CLIENT), json),
    },
    { requiredKeys: [] },
  ),
  "tools/call": toolCallArb,
  "logging/setLevel": fc.record({ level: levelArb }, { requiredKeys: [] }),
  "resources/read": fc.record({ uri: uriArb }, { requiredKeys: [] }),
  "resources/subscribe": fc.record({ uri: uriArb }, { requiredKeys: [] }),
  "resources/unsubscribe": fc.record({ uri: uriArb }, { requiredKeys: [] }),
  "prompts/get": fc.record(
    {
      name: fc.oneof(fc.constant("greet"), smallString),
      arguments: fc.oneof(fc.record({ name: smallString }), json),
    },
    { requiredKeys: [] },
  ),
  "completion/complete": fc.record({
    ref: fc.oneof(fc.constant({ type: "ref/prompt", name: "greet" }), json),
    argument: fc.oneof(fc.record({ name: fc.constant("style"), value: smallString }), json),
  }),
};
const METHODS = [
  ...Object.keys(paramsFor),
  "ping",
  "tools/list",
  "resources/list",
  "resources/templates/list",
  "prompts/list",
  "server/discover",
  "constructor",
  "toString",
];

const methodArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: smallString },
);

/** `_meta` extras: a progress token, a 2026 envelope (valid or not), or junk. */
const metaArb = fc.oneof(
  fc.record({ progressToken: fc.oneof(fc.integer(), smallString) }),
  fc.record({
    [META_PROTOCOL_VERSION]: fc.oneof(
      fc.constant("2026-07-28"),
      fc.constantFrom(...SESSION_ERA_VERSIONS),
      smallString,
    ),
    [META_CLIENT_INFO]: fc.oneof(fc.constant(TEST_CLIENT), json),
    [META_CLIENT_CAPABILITIES]: fc.oneof(fc.constant({}), json),
  }),
  json,
);

const requestArb = methodArb.chain((method) =>
  fc
    .record(
      {
        id: idArb,
        params:
          (Object.hasOwn(paramsFor, method) ? paramsFor[method] : undefined) ??
          fc.oneof(fc.constant({}), fc.dictionary(smallString, json, { maxKeys: 3 })),
        meta: metaArb,
      },
      { requiredKeys: ["id"] },
    )
    .map(({ id, params, meta }) => {
      const withMeta = meta !== undefined && isObject(params) ? { ...params, _meta: meta } : params;
      return JSON.stringify({
        jsonrpc: "2.0",
        id,
        method,
        ...(withMeta === undefined ? {} : { params: withMeta }),
      });
    }),
);

const notificationArb = fc.oneof(
  fc.constant(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })),
  idArb.map((requestId) =>
    JSON.stringify({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId, reason: "fuzz" },
    }),
  ),
  fc
    .record({ method: smallString, params: fc.dictionary(smallString, json, { maxKeys: 2 }) })
    .map((n) => JSON.stringify({ jsonrpc: "2.0", ...n })),
);

const strayResponseArb = fc
  .record({ id: idArb, body: fc.oneof(fc.record({ result: json }), fc.record({ error: json })) })
  .map(({ id, body }) => JSON.stringify({ jsonrpc: "2.0", id, ...body }));

const garbageArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  json.map((value) => JSON.stringify(value)),
  fc
    .record({ jsonrpc: json, id: json, method: json, params: json }, { requiredKeys: [] })
    .map((value) => JSON.stringify(value)),
);

/** One frame as text. "ping" alone is the runtime's keepalive: answered "pong", never dispatched. */
const frameArb = fc
  .oneof(
    { weight: 8, arbitrary: requestArb },
    { weight: 2, arbitrary: notificationArb },
    { weight: 1, arbitrary: strayResponseArb },
    { weight: 2, arbitrary: garbageArb },
  )
  .filter((text) => text !== "ping");

const batchArb = fc.array(frameArb, { minLength: 10, maxLength: MAX_FRAMES });

// --- the oracle -------------------------------------------------------------

interface Expectation {
  /** JSON of an id -> how many replies must carry it. */
  replies: Map<string, number>;
  /** JSON of ids named by a notifications/cancelled in the batch (their requests may go unanswered). */
  cancellable: Set<string>;
}

function expectationFor(frames: readonly string[]): Expectation {
  const replies = new Map<string, number>();
  const cancellable = new Set<string>();
  const expect = (id: unknown) => {
    const key = JSON.stringify(id);
    replies.set(key, (replies.get(key) ?? 0) + 1);
  };
  for (const text of frames) {
    const frame = decodeFrame(text);
    if (frame.kind === "request") expect(frame.message.id);
    if (frame.kind === "invalid") expect(frame.reply.id);
    if (frame.kind === "notification" && frame.message.method === "notifications/cancelled") {
      const params = frame.message.params;
      if (params && "requestId" in params) cancellable.add(JSON.stringify(params.requestId));
    }
  }
  return { replies, cancellable };
}

function isReply(frame: Frame): frame is JsonObject {
  return isObject(frame) && !("method" in frame) && ("result" in frame || "error" in frame);
}

function countReplies(frames: readonly Frame[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const frame of frames) {
    if (!isReply(frame)) continue;
    const key = JSON.stringify(frame.id);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Replies that break the rules whatever the input: internal errors, stack traces. */
function badReplies(frames: readonly Frame[]): Frame[] {
  return frames.filter(
    (frame) =>
      (typeof frame === "string" && frame !== "pong") ||
      (isReply(frame) &&
        ((isObject(frame.error) && frame.error.code === INTERNAL_ERROR) ||
          STACK_TRACE.test(JSON.stringify(frame)))),
  );
}

function mismatches(expected: Expectation, got: Map<string, number>): string[] {
  const problems: string[] = [];
  for (const key of new Set([...expected.replies.keys(), ...got.keys()])) {
    const want = expected.replies.get(key) ?? 0;
    const have = got.get(key) ?? 0;
    const min = expected.cancellable.has(key) ? 0 : want;
    if (have < min || have > want)
      problems.push(
        `id ${key}: ${have} replies, expected ${min === want ? want : `${min}..${want}`}`,
      );
  }
  return problems;
}

async function awaitReplies(client: Client, start: number, expected: Expectation): Promise<void> {
  const minimum = [...expected.replies].reduce(
    (sum, [key, n]) => sum + (expected.cancellable.has(key) ? 0 : n),
    0,
  );
  const deadline = Date.now() + REPLY_WAIT_MS;
  while (Date.now() < deadline && !client.closed) {
    const counts = countReplies(client.received.slice(start));
    const got = [...counts.values()].reduce((a, b) => a + b, 0);
    if (got >= minimum && mismatches(expected, counts).length === 0) break;
    await delay(20);
  }
  // Anything answered twice or late shows up within the settle time.
  await delay(SETTLE_MS);
}

/** After the batch: the session still handshakes and counts, and its stored record is sound. */
async function expectSessionSound(sessionId: string): Promise<void> {
  // A fresh socket (re-attach), so that no id used by the batch can be mistaken for a reply here.
  const client = await connect(sessionId);
  await client.initialize();
  const info = await client.sessionInfo();
  expect(info.sessionId).toBe(client.sessionId);
  expect(info.phase).toBe("ready");
  expect(info.subscriptions.length).toBeLessThanOrEqual(MAX_SUBSCRIPTIONS);
  const before = await client.counter();
  expect(Number.isFinite(before)).toBe(true);
  expect(Number(toolText(await client.callTool("counter", { by: 1 })))).toBe(before + 1);
  const record = await runInDurableObject(sessionStub(client.sessionId), (_instance, state) =>
    new SessionStorage(state.storage).read(),
  );
  expect(record).not.toBeNull();
  expect(record?.sessionId).toBe(client.sessionId);
  expect(PHASES).toContain(record?.phase);
  expect(LOG_LEVELS).toContain(record?.logLevel);
  expect(record?.principal).toBe("anonymous");
}

// --- properties -------------------------------------------------------------

describe("the dispatcher under fuzzing", () => {
  it(`answers every generated frame correctly and never breaks the session (${WS_RUNS} sessions, up to ${MAX_FRAMES} frames each, over WebSocket)`, async () => {
    let frames = 0;
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        frames += batch.length;
        const client = await connect();
        try {
          await client.initialize();
          const start = client.received.length;
          for (const text of batch) client.sendRaw(text);
          const expected = expectationFor(batch);
          await awaitReplies(client, start, expected);
          const received = client.received.slice(start);
          expect(client.closed, "the socket closed under the batch").toBeNull();
          expect(badReplies(received), "internal errors or leaked internals").toEqual([]);
          expect(mismatches(expected, countReplies(received))).toEqual([]);
          await expectSessionSound(client.sessionId);
        } finally {
          client.close();
        }
      }),
      { numRuns: WS_RUNS, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
    );
    expect(frames).toBeGreaterThan(WS_RUNS * 10);
  }, 120_000);

  it(`answers every generated POST with a JSON-RPC status and body, never a 500 (${HTTP_RUNS} sessions over Streamable HTTP)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 5, maxLength: 40 }), async (batch) => {
        const sessionId = await initializeHttp();
        for (const text of batch) {
          const response = await sessionPost(sessionId, text);
          const body = await readBounded(response);
          const frame = decodeFrame(text);
          const what = `POST ${text.slice(0, 120)} -> ${response.status} ${body.slice(0, 200)}`;
          expect(body, what).not.toMatch(STACK_TRACE);
          expect(body, what).not.toContain(`"code":${INTERNAL_ERROR}`);
          if (frame.kind === "invalid") {
            expect(response.status, what).toBe(400);
          } else if (frame.kind === "request") {
            // 404 only as a JSON-RPC error of the stateless path (a method 2026 removed), never a lost session.
            expect([200, 400, 404], what).toContain(response.status);
            expect(body, what).toContain('"jsonrpc":"2.0"');
            expect(response.headers.get(SESSION_ID_HEADER) ?? sessionId, what).toBe(sessionId);
          } else {
            expect(response.status, what).toBe(202);
          }
        }
        // The session survived: the counter still counts.
        const check = await sessionPost(sessionId, {
          jsonrpc: "2.0",
          id: "after",
          method: "tools/call",
          params: { name: "counter", arguments: { by: 0 } },
        });
        expect(check.status).toBe(200);
        const reply = (await check.json()) as JsonObject;
        expect(reply).toMatchObject({ id: "after", result: { content: [{ type: "text" }] } });
        expect(reply).not.toHaveProperty("error");
      }),
      { numRuns: HTTP_RUNS, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true },
    );
  }, 90_000);
});

/** A response body as text, JSON or SSE, bounded in time. */
async function readBounded(response: Response): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`body of a ${response.status} response not done after ${REPLY_WAIT_MS} ms`),
        ),
      REPLY_WAIT_MS,
    );
  });
  try {
    return await Promise.race([response.text(), timeout]);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}
