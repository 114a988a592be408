/**
 * Server-Sent Events framing (HTML Living Standard, "server-sent events"):
 * a small writer over a TransformStream that knows nothing of MCP. Events are
 * `id:` + `data:` lines; comments (`: ...`) serve as keepalives that proxies
 * see as traffic. Writes after close are dropped; the writer never throws.
 *
 * Bounded: bytes written but not yet taken by the reader (a client that stopped
 * reading) are counted, and past MAX_SSE_PENDING_BYTES the stream is ended, so
 * one slow client cannot make the gateway hold an unbounded backlog.
 */
import { MAX_SSE_PENDING_BYTES } from "../../shared/limits";

const encoder = new TextEncoder();

export class SseWriter {
  readonly response: ReadableStream<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;
  #pendingBytes = 0;
  /** Whether the stream was ended because its client stopped reading. */
  overflowed = false;

  constructor(private readonly maxPendingBytes = MAX_SSE_PENDING_BYTES) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.response = readable;
    this.#writer = writable.getWriter();
    // A client that goes away errors the stream: remember it so writes stop.
    this.#writer.closed.then(
      () => {
        this.#closed = true;
      },
      () => {
        this.#closed = true;
      },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  event(data: string, id?: string): void {
    const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`);
    const head = id === undefined ? "" : `id: ${id}\n`;
    this.#write(`${head}event: message\n${lines.join("\n")}\n\n`);
  }

  /**
   * The priming event of a resumable stream: an id and an empty `data`, with the
   * reconnection delay, so a client can resume before any real event arrived.
   */
  prime(id: string, retryMs: number): void {
    this.#write(`id: ${id}\nretry: ${Math.round(retryMs)}\ndata: \n\n`);
  }

  /** Tells the client how long to wait before reconnecting (the stream is about to end). */
  retry(ms: number): void {
    this.#write(`retry: ${Math.round(ms)}\n\n`);
  }

  comment(text: string): void {
    this.#write(`: ${text.replace(/[\r\n]+/g, " ")}\n\n`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close().catch(() => {});
  }

  #write(chunk: string): void {
    if (this.#closed) return;
    const bytes = encoder.encode(chunk);
    if (this.#pendingBytes + bytes.byteLength > this.maxPendingBytes) {
      this.overflowed = true;
      this.#closed = true;
      this.#writer.abort(new Error("the client stopped reading")).catch(() => {});
      return;
    }
    this.#pendingBytes += bytes.byteLength;
    this.#writer.write(bytes).then(
      () => {
        this.#pendingBytes -= bytes.byteLength;
      },
      () => {
        this.#closed = true;
      },
    );
  }
}

/**
 * A stream held open for a client (a listen stream, the standalone GET, a
 * resumed reply in the Worker): a keepalive comment every `keepaliveMs`, and
 * `onGone` once the client has gone away. Returns the function that stops it.
 */
export function keepAlive(sse: SseWriter, keepaliveMs: number, onGone: () => void): () => void {
  const timer = setInterval(() => {
    if (!sse.closed) {
      sse.comment("keepalive");
      return;
    }
    clearInterval(timer);
    onGone();
  }, keepaliveMs);
  return () => clearInterval(timer);
}

/** The HTTP response carrying `sse`, with the headers every event stream needs. */
export function sseResponse(sse: SseWriter, headers: Record<string, string> = {}): Response {
  return new Response(sse.response, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache, no-transform",
      ...headers,
    },
  });
}
