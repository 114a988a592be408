/**
 * Reads `text/event-stream` bodies from upstream servers: yields the `data`
 * of each event (comments, ids and retry hints are dropped). Bounded: one
 * event may hold at most `maxEventBytes` characters, so an upstream cannot
 * grow the gateway's memory by never ending an event.
 */

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
  let buffer = "";
  let data: string[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline = buffer.search(/\r\n|\r|\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        const width = buffer.startsWith("\r\n", newline) ? 2 : 1;
        buffer = buffer.slice(newline + width);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
          size = 0;
        } else if (line.startsWith("data:")) {
          const chunk = line.slice(line.startsWith("data: ") ? 6 : 5);
          size += chunk.length;
          if (size > maxEventBytes) throw new EventTooLarge(maxEventBytes);
          data.push(chunk);
        }
        // Other fields (event, id, retry) and comments are not needed for JSON-RPC.
        newline = buffer.search(/\r\n|\r|\n/);
      }
      if (buffer.length + size > maxEventBytes) throw new EventTooLarge(maxEventBytes);
    }
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.cancel().catch(() => {});
  }
}
