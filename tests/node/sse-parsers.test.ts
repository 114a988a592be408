/**
 * The two other SSE parsers: the tests' reader (tests/helpers/sse.ts), which
 * every Streamable HTTP test reads replies with, and the inspector's
 * (inspector/src/rpc/sse.ts). Both must read a stream the same way however its
 * bytes are chunked, including a "\r\n" cut between two chunks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SseParser } from "../../inspector/src/rpc/sse";
import { type SseItem, SseReader } from "../helpers/sse";
import { type ChunkedSse, chunkedSse, streamOf } from "../helpers/sse-chunks";

async function readAll(chunks: readonly string[]): Promise<SseItem[]> {
  const reader = new SseReader(streamOf(chunks));
  const items: SseItem[] = [];
  for (let item = await reader.next(); item !== null; item = await reader.next()) items.push(item);
  return items;
}

function itemsOf({ events }: ChunkedSse): SseItem[] {
  return events.flatMap(({ comment, data, id }): SseItem[] => [
    ...(comment ? [{ kind: "comment" as const, text: "keepalive" }] : []),
    { kind: "event", data, ...(id === undefined ? {} : { id }) },
  ]);
}

function parseAll(chunks: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  const parser = new SseParser((event, data) => out.push([event, data]));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return out;
}

describe("SseReader (tests/helpers/sse.ts)", () => {
  it("reads a \\r\\n cut between two chunks as one line end, not two", async () => {
    expect(await readAll(["data: a\r", "\ndata: b\r\n\r\n"])).toEqual([
      { kind: "event", data: "a\nb" },
    ]);
  });

  it("keeps comments, ids and event names, and discards an event the stream never ended", async () => {
    expect(await readAll([": hi\n\nid: 3\nevent: message\ndata: x\n\ndata: cut"])).toEqual([
      { kind: "comment", text: "hi" },
      { kind: "event", data: "x", event: "message", id: "3" },
    ]);
  });

  it("reads the same items with mixed line ends and every \\r\\n cut across chunks", async () => {
    await fc.assert(
      fc.asyncProperty(chunkedSse, async (generated) => {
        expect(await readAll(generated.chunks)).toEqual(itemsOf(generated));
      }),
      { numRuns: 300 },
    );
  });
});

describe("SseParser (inspector/src/rpc/sse.ts)", () => {
  it("skips an event without data (the priming event of a resumable reply)", () => {
    expect(parseAll(["id: s.0\nretry: 1000\ndata: \n\n", "data: x\n\n"])).toEqual([
      ["message", "x"],
    ]);
  });

  it("reads a \\r\\n cut between two chunks as one line end, not two", () => {
    expect(parseAll(["data: a\r", "\ndata: b\r\n\r\n"])).toEqual([["message", "a\nb"]]);
  });

  it("names events by their event field and flushes a last event the stream did not end", () => {
    expect(parseAll(["event: note\ndata: 1\n\n", "data: 2\r"])).toEqual([
      ["note", "1"],
      ["message", "2"],
    ]);
    expect(parseAll(["data: partial"])).toEqual([["message", "partial"]]);
  });

  it("reads the same events with mixed line ends and every \\r\\n cut across chunks", () => {
    fc.assert(
      fc.property(chunkedSse, ({ chunks, events }) => {
        // Data-less events (a resumable stream's priming event) carry no message.
        const withData = events.filter((e) => e.data !== "");
        expect(parseAll(chunks)).toEqual(withData.map((e) => ["message", e.data]));
      }),
      { numRuns: 500 },
    );
  });
});
