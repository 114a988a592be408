/**
 * Reads `text/event-stream` bodies from upstream servers: yields the `data`
 * of each event (comments, ids and retry hints are dropped). Line and field
 * rules come from `eventsource-parser`, the parser the MCP TypeScript SDK uses.
 *
 * Bounded: one event may hold at most `maxEventBytes` characters, so an
 * upstream cannot grow the gateway's memory by never ending an event. The
 * parser's `maxBufferSize` bounds what it holds between chunks (a partial line
 * plus the data of an event not yet ended; lines that cannot become a field are
 * dropped unbuffered); the size check on each dispatched event covers an
 * oversized event that arrived whole within one chunk, which `maxBufferSize`
 * never sees.
 *
 * Leniency kept from the hand-written reader: a stream that ends right after a
 * complete `data:` line, without the blank line, still yields that event (the
 * spec discards it); a partial last line is dropped.
 */
import { createParser } from "eventsource-parser";

export class EventTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`an upstream event exceeded ${limit} bytes`);
  }
}

export async function* readSseData(
  body: ReadableStream<Uint8Array>,
  maxEventBytes: number,
): AsyncGenerator<string> {
  // The cast bridges the DOM and workerd typings of TextDecoderStream.
  const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
  const reader = body.pipeThrough(decoder).getReader();
  const dispatched: string[] = [];
  let overflow = false;
  const parser = createParser({
    onEvent: (event) => dispatched.push(event.data),
    // Unknown fields and bad `retry` values are ignored, as the spec says.
    onError: (error) => {
      if (error.type === "max-buffer-size-exceeded") overflow = true;
    },
    maxBufferSize: maxEventBytes,
  });
  let endsLine = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value === "") continue;
      parser.feed(value);
      yield* drain(dispatched, maxEventBytes);
      if (overflow) throw new EventTooLarge(maxEventBytes);
      endsLine = /[\r\n]$/.test(value);
    }
    // A blank line ends the last event if the stream stopped at a line end.
    // Two: after a final "\r" the parser takes one "\n" as the rest of "\r\n".
    if (endsLine) parser.feed("\n\n");
    yield* drain(dispatched, maxEventBytes);
  } finally {
    reader.cancel().catch(() => {});
  }
}

function* drain(dispatched: string[], maxEventBytes: number): Generator<string> {
  for (const data of dispatched.splice(0)) {
    if (data.length > maxEventBytes) throw new EventTooLarge(maxEventBytes);
    yield data;
  }
}
