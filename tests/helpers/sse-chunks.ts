/**
 * A fast-check generator of `text/event-stream` bodies for the SSE parsers'
 * property tests: events with comments, ids and multi-line data, every line
 * ending chosen from `\n`, `\r\n` and `\r` (the spec allows all three, mixed),
 * cut into chunks at random points and, by default, through the middle of
 * every `\r\n` pair, where a parser that splits lines per chunk sees two line
 * ends instead of one.
 */
import fc from "fast-check";

export interface ExpectedEvent {
  data: string;
  id?: string;
  comment: boolean;
}

export interface ChunkedSse {
  chunks: string[];
  events: ExpectedEvent[];
}

const lineEnd = fc.constantFrom("\r\n", "\r\n", "\n", "\r");

interface GeneratedEvent {
  comment: boolean;
  id: string | undefined;
  lines: string[];
  spaceAfterColon: boolean;
}

const event: fc.Arbitrary<GeneratedEvent> = fc.record({
  comment: fc.boolean(),
  id: fc.option(fc.stringMatching(/^[0-9]{1,4}$/), { nil: undefined }),
  lines: fc.array(fc.stringMatching(/^[a-z0-9{}":, ]{0,12}$/), { minLength: 1, maxLength: 3 }),
  spaceAfterColon: fc.boolean(),
});

function render(events: GeneratedEvent[], ends: string[]): string {
  const lines: { text: string; end: string }[] = [];
  let next = 0;
  const add = (text: string) => {
    lines.push({ text, end: ends[next % ends.length] ?? "\n" });
    next += 1;
  };
  for (const e of events) {
    if (e.comment) add(": keepalive");
    if (e.id !== undefined) add(`id: ${e.id}`);
    // One space after the colon is dropped: a line that starts with one needs it.
    for (const line of e.lines)
      add(`data:${e.spaceAfterColon || line.startsWith(" ") ? " " : ""}${line}`);
    add("");
  }
  let text = "";
  for (const line of lines) {
    // A blank line ended by "\n" right after a "\r" would read as one "\r\n".
    const end = line.text === "" && text.endsWith("\r") && line.end === "\n" ? "\r\n" : line.end;
    text += line.text + end;
  }
  return text;
}

function cut(text: string, cuts: number[], keepPairs: boolean[]): string[] {
  const points = new Set(cuts.map((c) => c % (text.length + 1)));
  let pair = 0;
  for (let i = text.indexOf("\r\n"); i >= 0; i = text.indexOf("\r\n", i + 1)) {
    if (!(keepPairs[pair] ?? false)) points.add(i + 1);
    pair += 1;
  }
  const chunks: string[] = [];
  let at = 0;
  for (const point of [...points].sort((a, b) => a - b)) {
    chunks.push(text.slice(at, point));
    at = point;
  }
  chunks.push(text.slice(at));
  return chunks;
}

/** SSE bodies in chunks, with the events a parser must dispatch from them. */
export const chunkedSse: fc.Arbitrary<ChunkedSse> = fc
  .record({
    events: fc.array(event, { minLength: 1, maxLength: 5 }),
    ends: fc.array(lineEnd, { minLength: 1, maxLength: 8 }),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
    keepPairs: fc.array(fc.boolean(), { maxLength: 8 }),
  })
  .map(({ events, ends, cuts, keepPairs }) => ({
    chunks: cut(render(events, ends), cuts, keepPairs),
    events: events.map((e) => ({
      data: e.lines.join("\n"),
      ...(e.id === undefined ? {} : { id: e.id }),
      comment: e.comment,
    })),
  }));

/** A web stream that delivers `chunks` as they are, UTF-8 encoded. */
export function streamOf(chunks: readonly string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}
