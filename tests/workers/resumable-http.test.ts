/**
 * Resumable Streamable HTTP replies (session era, "Resumability and
 * Redelivery"), inside workerd: an SSE reply opens with a priming event (an id,
 * empty data, `retry`), every event carries `<stream>.<n>`, and GET /mcp with
 * Last-Event-ID replays what came after that event, then what is still to come.
 * End to end with the v1 SDK's own transport, SSE polling and evictions:
 * tests/e2e/resumable-http.test.ts.
 */
import { describe, expect, it } from "vitest";
import { requestEnvelope } from "../../shared/errors";
import { OUTBOX_MAX_STREAMS, SESSION_ID_HEADER } from "../../shared/limits";
import { deleteSession, freshId, initializeHttp, openStream, sessionPost } from "../helpers/http";
import { type SseItem, sseOf } from "../helpers/sse";
import { toolText } from "../helpers/workerd";

const EVENT_ID = /^[0-9a-f]{16}\.\d+$/;
const PING = { jsonrpc: "2.0", id: "p", method: "ping" };

async function slowCall(sessionId: string, ms: number) {
  const id = freshId();
  const response = await sessionPost(
    sessionId,
    requestEnvelope(id, "tools/call", {
      name: "sleep",
      arguments: { ms },
      _meta: { progressToken: `p-${id}` },
    }),
  );
  expect(response.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
  return { id, reader: sseOf(response) };
}

function events(items: SseItem[]): Extract<SseItem, { kind: "event" }>[] {
  return items.filter((item): item is Extract<SseItem, { kind: "event" }> => item.kind === "event");
}

describe("a resumable SSE reply", () => {
  it("opens with a priming event (id <stream>.0, empty data, retry), then numbers every event", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 600);
    await reader.messages({ until: (m) => m.id === id });
    const [priming, ...rest] = events(reader.items);
    expect(priming?.data).toBe("");
    expect(priming?.id).toMatch(/^[0-9a-f]{16}\.0$/);
    expect(reader.raw).toMatch(/^id: [0-9a-f]{16}\.0\nretry: \d+\ndata: \n\n/);
    const stream = priming?.id?.split(".")[0];
    expect(rest.map((e) => e.id)).toEqual(rest.map((_e, i) => `${stream}.${i + 1}`));
  });

  it("is resumed after the last event seen with GET and Last-Event-ID, up to its result", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 900);
    const first = await reader.messages({ until: (m) => m.method === "notifications/progress" });
    expect(first.length).toBeGreaterThan(0);
    const lastSeen = events(reader.items).at(-1)?.id ?? "";
    expect(lastSeen).toMatch(EVENT_ID);
    await reader.cancel();

    const resumed = await openStream(sessionId, { "Last-Event-ID": lastSeen });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    const stream = sseOf(resumed);
    const rest = await stream.messages({ until: (m) => m.id === id, timeoutMs: 5_000 });
    const result = rest.at(-1) as { result: Record<string, unknown> };
    expect(toolText(result.result)).toBe("slept 900 ms");
    // Nothing seen before the cut comes again: only later progress, then the result.
    const seq = (eventId: string | undefined) => Number(eventId?.split(".")[1]);
    const ids = events(stream.items).map((e) => seq(e.id));
    expect(Math.min(...ids)).toBe(seq(lastSeen) + 1);
    // The stream ends after the final reply.
    expect(await stream.next(2_000)).toBeNull();
  });

  it("replays the whole rest of a call that already finished, then ends", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 300);
    await reader.next();
    const priming = events(reader.items)[0]?.id ?? "";
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const stream = sseOf(await openStream(sessionId, { "Last-Event-ID": priming }));
    const rest = await stream.messages();
    expect(rest.at(-1)).toMatchObject({ id, result: {} });
    expect(rest.filter((m) => m.method === "notifications/progress").length).toBeGreaterThan(0);
  });

  it.each([
    ["an unknown stream", "0123456789abcdef.0"],
    ["a malformed id", "not-an-event-id"],
    ["a position past the stream's end", "LAST+5"],
  ])(
    "answers 400, not 404 (the session lives on), to Last-Event-ID naming %s",
    async (_label, value) => {
      const sessionId = await initializeHttp();
      const { id, reader } = await slowCall(sessionId, 200);
      await reader.messages({ until: (m) => m.id === id });
      const [stream, last] = (events(reader.items).at(-1)?.id ?? "").split(".");
      const lastEventId = value === "LAST+5" ? `${stream}.${Number(last) + 5}` : value;
      const response = await openStream(sessionId, { "Last-Event-ID": lastEventId });
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(/^Bad Request: Last-Event-ID names no event/);
      expect((await sessionPost(sessionId, PING)).status).toBe(200);
    },
  );

  it("answers 400 to a stream of another session, named with this session's id", async () => {
    const owner = await initializeHttp();
    const other = await initializeHttp();
    const { id, reader } = await slowCall(owner, 200);
    await reader.messages({ until: (m) => m.id === id });
    const lastEventId = events(reader.items)[0]?.id ?? "";
    const response = await openStream(other, { "Last-Event-ID": lastEventId });
    expect(response.status).toBe(400);
    expect(response.headers.get(SESSION_ID_HEADER)).toBeNull();
    await response.body?.cancel();
  });

  it(`keeps the stream of a call still running when ${OUTBOX_MAX_STREAMS} later calls open streams of their own`, async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 2_500);
    await reader.next();
    const priming = events(reader.items)[0]?.id ?? "";
    await reader.cancel();
    // Each later call opens a stream of its own: a log message goes before its result.
    for (let i = 0; i < OUTBOX_MAX_STREAMS; i++) {
      const quickId = freshId();
      const quick = await sessionPost(
        sessionId,
        requestEnvelope(quickId, "tools/call", {
          name: "log",
          arguments: { level: "error", message: `call ${i}` },
        }),
      );
      expect(quick.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
      await sseOf(quick).messages({ until: (m) => m.id === quickId });
    }
    const resumed = await openStream(sessionId, { "Last-Event-ID": priming });
    expect(resumed.status).toBe(200);
    const rest = await sseOf(resumed).messages({ until: (m) => m.id === id, timeoutMs: 10_000 });
    expect(toolText((rest.at(-1) as { result: Record<string, unknown> }).result)).toBe(
      "slept 2500 ms",
    );
  });

  it("ends a resumed stream, with no reply, when its call is cancelled", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 20_000);
    await reader.next();
    const priming = events(reader.items)[0]?.id ?? "";
    await reader.cancel();
    const stream = sseOf(await openStream(sessionId, { "Last-Event-ID": priming }));
    await stream.next();
    const cancelled = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason: "changed my mind" },
    });
    expect(cancelled.status).toBe(202);
    // The stream ends (no reply to a cancelled request), rather than sending keepalives until the TTL.
    const rest = await stream.messages({ timeoutMs: 5_000 });
    expect(rest.filter((m) => m.id === id)).toEqual([]);
    // Resuming it again replays what is left and ends at once.
    const again = sseOf(await openStream(sessionId, { "Last-Event-ID": priming }));
    await again.messages({ timeoutMs: 5_000 });
  });

  it("ends a resumed stream with -32007 when the session is deleted under its call", async () => {
    const sessionId = await initializeHttp();
    const { id, reader } = await slowCall(sessionId, 3_000);
    await reader.next();
    const priming = events(reader.items)[0]?.id ?? "";
    await reader.cancel();
    const stream = sseOf(await openStream(sessionId, { "Last-Event-ID": priming }));
    await stream.next();
    expect((await deleteSession(sessionId)).status).toBe(204);
    const rest = await stream.messages({ until: (m) => m.id === id });
    expect(rest.at(-1)).toMatchObject({ id, error: { code: -32007 } });
  });
});
