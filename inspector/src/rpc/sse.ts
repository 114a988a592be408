/**
 * A streaming `text/event-stream` parser (WHATWG HTML, "server-sent events"):
 * feed it decoded text in any chunking, get one callback per dispatched event.
 * Lines and fields are parsed by `eventsource-parser`, the parser the MCP
 * TypeScript SDK uses. Comments (keepalives), `id`/`retry` fields and
 * events without data (the priming event of a resumable stream) are ignored:
 * the inspector does not resume HTTP reply streams.
 */
import { createParser, type EventSourceParser } from "eventsource-parser";

export class SseParser {
  readonly #parser: EventSourceParser;

  constructor(onEvent: (event: string, data: string) => void) {
    this.#parser = createParser({
      onEvent: ({ event, data }) => {
        if (data !== "") onEvent(event ?? "message", data);
      },
    });
  }

  push(text: string): void {
    this.#parser.feed(text);
  }

  /**
   * Flushes a final event that was not followed by a blank line (the spec
   * discards it; the inspector shows it). "\n\n" ends a partial last line and
   * then the event; after a final "\r" the parser takes one "\n" as the rest
   * of "\r\n", and the other still ends the event.
   */
  end(): void {
    this.#parser.feed("\n\n");
    this.#parser.reset();
  }
}
