/**
 * Newline-delimited JSON-RPC framing, as the MCP stdio transport defines it
 * (spec: Transports > stdio; the SDKs' ReadBuffer): one message per line,
 * `\n`-terminated, a trailing `\r` ignored, blank lines skipped. A line longer
 * than `maxChars` is dropped whole (counted), never buffered without bound.
 */
export class LineSplitter {
  #buffer = "";
  #discarding = false;

  constructor(private readonly maxChars: number) {}

  /** Feeds a chunk; returns the complete lines it ended and how many were too long. */
  push(chunk: string): { lines: string[]; dropped: number } {
    const lines: string[] = [];
    let dropped = 0;
    let rest = chunk;
    for (let newline = rest.indexOf("\n"); newline >= 0; newline = rest.indexOf("\n")) {
      const tail = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (this.#discarding || this.#buffer.length + tail.length > this.maxChars) {
        if (!this.#discarding) dropped++;
        this.#discarding = false;
        this.#buffer = "";
        continue;
      }
      const line = (this.#buffer + tail).replace(/\r$/, "");
      this.#buffer = "";
      if (line.trim() !== "") lines.push(line);
    }
    if (!this.#discarding) {
      if (this.#buffer.length + rest.length > this.maxChars) {
        this.#discarding = true;
        this.#buffer = "";
        dropped++;
      } else this.#buffer += rest;
    }
    return { lines, dropped };
  }
}
