/**
 * A Server-Sent Events reader for tests, usable in workerd and in Node alike
 * (web streams and timers only): it turns a streaming response body into
 * events (`data:` lines joined) and comments (`: keepalive`), and parses event
 * data as JSON-RPC messages. Lines and fields are parsed by `eventsource-parser`
 * (the parser the MCP TypeScript SDK uses), so the tests read streams as a
 * real client does.
 *
 * Invariants:
 * - Every read is bounded: a wait that runs out cancels the stream and fails
 *   with what was received so far.
 * - `raw` keeps the exact text received, for assertions on the framing itself.
 */
import { createParser, type EventSourceParser } from "eventsource-parser";

/** Default bound on one wait for the stream. */
export const SSE_WAIT_MS = 5_000;

export type SseItem =
  | { kind: "event"; data: string; event?: string; id?: string }
  | { kind: "comment"; text: string };

export type SseMessage = Record<string, unknown>;

export interface ReadOptions {
  /** Stop after the first message for which this returns true (that message included). */
  until?: (message: SseMessage) => boolean;
  timeoutMs?: number;
}

export class SseReader {
  /** Every chunk received so far, decoded. */
  raw = "";
  /** Every item parsed so far, in order, including those already returned by `next`. */
  readonly items: SseItem[] = [];
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  readonly #queue: SseItem[] = [];
  readonly #parser: EventSourceParser;
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
    this.#parser = createParser({
      onEvent: ({ data, event, id }) =>
        this.#push({
          kind: "event",
          data,
          ...(event === undefined ? {} : { event }),
          ...(id === undefined ? {} : { id }),
        }),
      onComment: (text) => this.#push({ kind: "comment", text }),
    });
  }

  /** Whether the server ended the stream. */
  get done(): boolean {
    return this.#done && this.#queue.length === 0;
  }

  /** The next event or comment, or null once the stream has ended. */
  async next(timeoutMs = SSE_WAIT_MS): Promise<SseItem | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      if (this.#done) return null;
      await this.#readChunk(deadline, "the next SSE event or comment");
    }
    return this.#queue.shift() ?? null;
  }

  /**
   * JSON messages from `data:` events (comments skipped) until one matches
   * `until` or, without `until`, until the stream ends; bounded overall.
   */
  async messages(options: ReadOptions = {}): Promise<SseMessage[]> {
    const deadline = Date.now() + (options.timeoutMs ?? SSE_WAIT_MS);
    const messages: SseMessage[] = [];
    for (;;) {
      const item = await this.next(Math.max(deadline - Date.now(), 0));
      if (item === null) {
        if (options.until) {
          throw new Error(`the SSE stream ended before the awaited message; got ${this.#tail()}`);
        }
        return messages;
      }
      // Comments, and events without data (a resumable stream's priming event).
      if (item.kind !== "event" || item.data === "") continue;
      const message = parseMessage(item.data);
      messages.push(message);
      if (options.until?.(message)) return messages;
    }
  }

  /** Reads until `raw` matches `pattern`; returns `raw`. */
  async readUntil(pattern: RegExp, timeoutMs = SSE_WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.raw)) {
      if (this.#done)
        throw new Error(`the SSE stream ended before ${pattern}; got ${this.#tail()}`);
      await this.#readChunk(deadline, `SSE text matching ${pattern}`);
    }
    return this.raw;
  }

  /** Stops reading: the server sees the client go away. Never throws. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  async #readChunk(deadline: number, what: string): Promise<void> {
    const remaining = deadline - Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), Math.max(remaining, 0));
    });
    const chunk = await Promise.race([this.#reader.read(), expired]).finally(() => {
      if (timer !== undefined) clearTimeout(timer);
    });
    if (chunk === "expired") {
      await this.cancel();
      throw new Error(`timed out waiting for ${what}; received so far: ${this.#tail()}`);
    }
    if (chunk.done) {
      // An unterminated last block is an incomplete event: SSE discards it.
      this.#done = true;
      this.raw += this.#decoder.decode();
      return;
    }
    const text = this.#decoder.decode(chunk.value, { stream: true });
    this.raw += text;
    this.#parser.feed(text);
  }

  #push(item: SseItem): void {
    this.items.push(item);
    this.#queue.push(item);
  }

  #tail(): string {
    return JSON.stringify(this.raw.slice(-600));
  }
}

function parseMessage(data: string): SseMessage {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new Error(`an SSE event's data is not JSON: ${data.slice(0, 200)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`an SSE event's data is not a JSON object: ${data.slice(0, 200)}`);
  }
  return value as SseMessage;
}

/** A reader over `response`'s body, failing unless it is an SSE stream. */
export function sseOf(response: Response): SseReader {
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.startsWith("text/event-stream") || !response.body) {
    throw new Error(`expected a text/event-stream response, got ${response.status} "${type}"`);
  }
  return new SseReader(response.body);
}
