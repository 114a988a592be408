/**
 * The upstream SSE reader (worker/federation/sse-reader.ts): framing rules of
 * text/event-stream as upstream servers write them, chunked at any boundary,
 * and the per-event bound.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventTooLarge, readSseData } from "../../worker/federation/sse-reader";
import { chunkedSse, streamOf } from "../helpers/sse-chunks";

async function collect(chunks: string[], max = 1_000): Promise<string[]> {
  const out: string[] = [];
  for await (const data of readSseData(streamOf(chunks), max)) out.push(data);
  return out;
}

describe("readSseData", () => {
  it("yields each event's data, joining multi-line data and skipping comments and other fields", async () => {
    const text =
      ': keepalive\n\nevent: message\nid: 7\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\nretry: 10\n\n';
    expect(await collect([text])).toEqual(['{"a":1}', "line one\nline two"]);
  });

  it("accepts CRLF and CR line endings, and data without a space after the colon", async () => {
    expect(await collect(["data:x\r\n\r\ndata: y\r\rdata: z\n\n"])).toEqual(["x", "y", "z"]);
  });

  it("reads a \\r\\n cut between two chunks as one line end, not two", async () => {
    expect(await collect(["data: a\r", "\ndata: b\r\n\r\n"])).toEqual(["a\nb"]);
  });

  it("yields a priming event with empty data as an empty string (the client skips it)", async () => {
    expect(await collect(["id: 1\ndata: \n\ndata: {}\n\n"])).toEqual(["", "{}"]);
  });

  it("keeps a last complete data line when the stream ends without a blank line, not a partial one", async () => {
    expect(await collect(["data: last"])).toEqual([]);
    expect(await collect(["data: last\n"])).toEqual(["last"]);
  });

  it("refuses an event larger than the bound, even one that never ends a line", async () => {
    await expect(collect([`data: ${"x".repeat(50)}\n\n`], 20)).rejects.toBeInstanceOf(
      EventTooLarge,
    );
    await expect(collect(["data: ", "y".repeat(30)], 20)).rejects.toBeInstanceOf(EventTooLarge);
  });

  it("refuses an event whose short data lines add up past the bound over many chunks", async () => {
    const chunks = Array.from({ length: 6 }, () => "data: 12345678\n");
    await expect(collect(chunks, 20)).rejects.toThrow("an upstream event exceeded 20 bytes");
  });

  it("yields the events that came before an oversized one", async () => {
    const out: string[] = [];
    const read = async () => {
      for await (const data of readSseData(
        streamOf(["data: ok\n\n", `data: ${"z".repeat(30)}`]),
        20,
      ))
        out.push(data);
    };
    await expect(read()).rejects.toBeInstanceOf(EventTooLarge);
    expect(out).toEqual(["ok"]);
  });

  it("reads the same events however the bytes are split into chunks", async () => {
    const payload = fc.stringMatching(/^[a-z0-9{}":, ]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(payload, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (events, cuts) => {
          const text = events.map((data) => `data: ${data}\n\n`).join("");
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks: string[] = [];
          let at = 0;
          for (const point of points) {
            chunks.push(text.slice(at, point));
            at = point;
          }
          chunks.push(text.slice(at));
          expect(await collect(chunks)).toEqual(events);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads the same events with mixed line ends and every \\r\\n cut across chunks", async () => {
    await fc.assert(
      fc.asyncProperty(chunkedSse, async ({ chunks, events }) => {
        expect(await collect(chunks)).toEqual(events.map((e) => e.data));
      }),
      { numRuns: 500 },
    );
  });
});
