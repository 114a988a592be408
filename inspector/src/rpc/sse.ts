/**
 * A streaming `text/event-stream` parser (WHATWG HTML, "server-sent events"):
 * feed it decoded text in any chunking, get one callback per dispatched event.
 * Comments (keepalives) and `id`/`retry` fields are ignored: the inspector
 * does not resume streams.
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #event = "message";

  constructor(private readonly onEvent: (event: string, data: string) => void) {}

  push(text: string): void {
    this.#buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) return;
      // A lone trailing "\r" may be the first half of "\r\n": wait for more text.
      if (match[0] === "\r" && match.index === this.#buffer.length - 1) return;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#line(line);
    }
  }

  /** Flushes a final event that was not followed by a blank line. */
  end(): void {
    if (this.#buffer) this.#line(this.#buffer);
    this.#buffer = "";
    this.#line("");
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#data.length > 0) this.onEvent(this.#event, this.#data.join("\n"));
      this.#data = [];
      this.#event = "message";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
  }
}
