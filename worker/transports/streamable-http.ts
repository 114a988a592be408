/**
 * Streamable HTTP (MCP transports spec): the edge checks every POST/GET must
 * pass, and the reply channel of one POST.
 *
 * A POSTed request is answered with plain JSON when its first outgoing message
 * is its own response, and with an SSE stream as soon as anything else comes
 * first (progress, logs, a server->client request). The stream sends a
 * keepalive comment every `keepaliveMs` (25 s at most); that timer exists only while the
 * call is in progress, so an idle session keeps no timer alive.
 */
import {
  type ErrorEnvelope,
  errorEnvelope,
  JsonRpcError,
  REQUEST_TIMEOUT,
} from "../../shared/errors";
import { MAX_BODY_BYTES, SSE_POLL_RETRY_MS, SSE_RETRY_MS } from "../../shared/limits";
import { type RequestId, requestKey } from "../../shared/protocol";
import type { Channel } from "./channel";
import { SseWriter } from "./sse";

export type EdgeFailure = { status: number; message: string };

/** Accept must allow both JSON and SSE on POST (spec: "MUST include both"). */
export function checkPostHeaders(request: Request): EdgeFailure | null {
  const type = request.headers.get("Content-Type") ?? "";
  if (type.split(";")[0]?.trim().toLowerCase() !== "application/json") {
    return {
      status: 415,
      message: "Unsupported Media Type: POST a JSON-RPC message as application/json",
    };
  }
  if (!acceptsJsonAndSse(request.headers.get("Accept") ?? "")) {
    return {
      status: 406,
      message: "Not Acceptable: Accept must include both application/json and text/event-stream",
    };
  }
  const length = Number(request.headers.get("Content-Length") ?? "0");
  if (length > MAX_BODY_BYTES) {
    return { status: 413, message: `Payload Too Large: the body limit is ${MAX_BODY_BYTES} bytes` };
  }
  return null;
}

export function checkGetHeaders(request: Request): EdgeFailure | null {
  if (!accepts(request.headers.get("Accept") ?? "", "text/event-stream")) {
    return {
      status: 406,
      message: "Not Acceptable: GET /mcp opens an SSE stream; Accept text/event-stream",
    };
  }
  return null;
}

/** The last Accept header judged, and the verdict: a client repeats its header on every POST. */
let lastAccept: { header: string; both: boolean } | null = null;

function acceptsJsonAndSse(header: string): boolean {
  if (lastAccept?.header === header) return lastAccept.both;
  const both = accepts(header, "application/json") && accepts(header, "text/event-stream");
  lastAccept = { header, both };
  return both;
}

function accepts(header: string, type: string): boolean {
  const [major] = type.split("/");
  return header
    .split(",")
    .map((entry) => entry.split(";")[0]?.trim().toLowerCase())
    .some((entry) => entry === type || entry === "*/*" || entry === `${major}/*`);
}

/**
 * Reads the body up to MAX_BODY_BYTES; null when it is larger. A body with a
 * Content-Length (already checked against the bound by checkPostHeaders) is
 * read natively in one piece; a chunked body has no length, so it is read
 * chunk by chunk and refused as soon as it passes the bound.
 */
export async function readBoundedText(request: Request): Promise<string | null> {
  if (!request.body) return "";
  const length = Number(request.headers.get("Content-Length") ?? Number.NaN);
  if (Number.isSafeInteger(length) && length >= 0 && length <= MAX_BODY_BYTES) {
    return request.text();
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BODY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** A JSON-RPC error as an HTTP response (edge failures and errors that end the exchange). */
export function jsonRpcErrorResponse(
  status: number,
  id: RequestId | null,
  error: JsonRpcError,
  headers?: HeadersInit,
): Response {
  return Response.json(errorEnvelope(id, error), { status, headers });
}

export function plainError(failure: EdgeFailure, headers?: HeadersInit): Response {
  return new Response(`${failure.message}\n`, { status: failure.status, headers });
}

/**
 * Where a resumable reply stream's events are numbered and kept (the session's
 * replay store), so a client that lost the stream resumes it with GET and
 * Last-Event-ID. Stateless 2026-07-28 exchanges have none (2026-07-28 removed
 * resumability).
 */
export interface ReplyStore {
  /** A new stream answering the request `callKey`; returns its id. */
  open(callKey: string): string;
  /** Numbers, keeps and hands to any resumer one event of `stream`; returns its number. */
  publish(stream: string, text: string, final: boolean): number;
  /** Runs `fire` once, `ms` from now, unless stopped first (the SSE_OPEN_AFTER_MS switch). */
  after(ms: number, fire: () => void): { stop(): void };
  /** `stream` ends with no reply (its call was cancelled): whoever resumes it is let go. */
  end(stream: string): void;
}

export interface ExchangeOptions {
  /** Interval of keepalive comments on an SSE reply (at most 25 s). */
  keepaliveMs: number;
  /**
   * Longest an SSE reply may stay open. An open stream keeps a session object
   * awake, so this bounds even a call waiting for an elicitation answer that
   * never comes: at expiry the client gets REQUEST_TIMEOUT and the stream closes.
   */
  maxOpenMs: number;
  /** HTTP status for a JSON error reply (2026-07-28 maps codes to statuses). */
  statusFor?: (error: ErrorEnvelope["error"]) => number;
  /** Called when the reply stream expires (maxOpenMs): lets the owner forget the call. */
  onExpired?: () => void;
  /** Makes an SSE reply resumable (session era); without it events carry no ids. */
  replies?: ReplyStore;
}

/**
 * A session-era call still unanswered after this long switches to a resumable
 * SSE reply (a priming event with an id), so a connection cut later can be
 * resumed; a quicker answer stays plain JSON.
 */
export const SSE_OPEN_AFTER_MS = 1_000;

type ExchangeState = "pending" | "live" | "detached" | "done";

/**
 * The channel of one POSTed request. `response` resolves with the HTTP response
 * to return: JSON when the reply comes first, SSE otherwise.
 *
 * With a ReplyStore the SSE reply is resumable (spec, basic/transports
 * "Resumability and Redelivery"): it opens with a priming event (an id, empty
 * data, `retry`), every event carries `<stream>.<n>`, and every event is kept.
 * The live response may end (the client went away, or the server ended it to
 * let the object sleep: `closeReplyStream`, SSE polling) while the call goes
 * on: its events are still kept and handed to a client that resumes.
 *
 * Timers: the keepalive of a live SSE reply, cleared when it ends; and, with a
 * ReplyStore, one SSE_OPEN_AFTER_MS timer (`ReplyStore.after`) stopped at the first message.
 */
export class HttpExchange implements Channel {
  readonly response: Promise<Response>;
  #resolve!: (response: Response) => void;
  #state: ExchangeState = "pending";
  #sse: SseWriter | null = null;
  #stream: string | null = null;
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #opener: { stop(): void } | null = null;
  #openedAt = 0;
  /** Whether the exchange ended with a JSON-RPC error reply. */
  failed = false;

  constructor(
    private readonly requestId: RequestId,
    private readonly headers: Headers,
    private readonly options: ExchangeOptions,
  ) {
    this.response = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (options.replies) {
      this.#opener = options.replies.after(SSE_OPEN_AFTER_MS, () => {
        this.#opener = null;
        if (this.#state === "pending") this.#openStream();
      });
    }
  }

  /** The id of this exchange's resumable stream, once it has one. */
  get streamId(): string | undefined {
    return this.#stream ?? undefined;
  }

  send(message: object): void {
    if (this.#state === "done") return;
    this.#clearOpener();
    const final = this.#isFinal(message);
    if (final && "error" in (message as Record<string, unknown>)) this.failed = true;
    if (this.#state === "pending") {
      if (final) {
        this.#state = "done";
        const error = (message as Partial<ErrorEnvelope>).error;
        this.headers.set("Content-Type", "application/json");
        this.#resolve(
          new Response(JSON.stringify(message), {
            status: error ? (this.options.statusFor?.(error) ?? 200) : 200,
            headers: this.headers,
          }),
        );
        return;
      }
      this.#openStream();
    }
    const text = JSON.stringify(message);
    const id =
      this.#stream !== null && this.options.replies
        ? `${this.#stream}.${this.options.replies.publish(this.#stream, text, final)}`
        : undefined;
    this.#sse?.event(text, id);
    if (final) this.#finish();
  }

  /**
   * Ends the live SSE reply now, after telling the client when to come back
   * (`retry`), while the call goes on (SSE polling, spec 2025-11-25): the client
   * resumes with GET and Last-Event-ID. Only resumable exchanges; a no-op otherwise.
   */
  closeReplyStream(): void {
    if (!this.options.replies || this.#state === "done" || this.#state === "detached") return;
    this.#clearOpener();
    if (this.#state === "pending") this.#openStream();
    // Ended on purpose, not broken: the client may come back at once (the Worker holds its GET).
    this.#sse?.retry(SSE_POLL_RETRY_MS);
    this.#detach();
  }

  /**
   * Ends the exchange without a reply (a cancelled request: spec, no response
   * to it): an SSE stream that ends with no event, or the open stream closed.
   * Not 202, which answers notifications and responses only: a POSTed request
   * gets application/json or text/event-stream.
   */
  abandon(): void {
    if (this.#state === "done") return;
    this.#clearOpener();
    if (this.#state === "pending") {
      this.#state = "done";
      const headers = new Headers(this.headers);
      headers.set("Content-Type", "text/event-stream");
      headers.set("Cache-Control", "no-cache, no-transform");
      this.#resolve(new Response("", { status: 200, headers }));
      return;
    }
    this.#finish();
    // A resumable stream ends too, or a client resuming it would wait for a reply forever.
    if (this.#stream !== null) this.options.replies?.end(this.#stream);
  }

  /** Opens the SSE reply now (a reply that waits for a task); no-op once answered or streaming. */
  hold(): void {
    if (this.#state !== "pending") return;
    this.#clearOpener();
    this.#openStream().comment("waiting");
  }

  #openStream(): SseWriter {
    const sse = new SseWriter();
    this.#sse = sse;
    this.#state = "live";
    const headers = new Headers(this.headers);
    headers.set("Content-Type", "text/event-stream");
    headers.set("Cache-Control", "no-cache, no-transform");
    this.#resolve(new Response(sse.response, { status: 200, headers }));
    const replies = this.options.replies;
    if (replies) {
      this.#stream = replies.open(requestKey(this.requestId));
      // The priming event: an id to resume from before anything else is sent.
      sse.prime(`${this.#stream}.0`, SSE_RETRY_MS);
    }
    this.#openedAt = Date.now();
    this.#keepalive = setInterval(() => this.#tick(sse), this.options.keepaliveMs);
    return sse;
  }

  #tick(sse: SseWriter): void {
    if (sse.closed) {
      // The client went away: a resumable call goes on, its events kept.
      if (this.options.replies) this.#detach();
      else this.#finish();
      return;
    }
    if (Date.now() - this.#openedAt < this.options.maxOpenMs) {
      sse.comment("keepalive");
      return;
    }
    const error = new JsonRpcError(
      REQUEST_TIMEOUT,
      `Request timed out: its reply stream was open for ${this.options.maxOpenMs} ms (was an input request left unanswered?)`,
    );
    this.send(errorEnvelope(this.requestId, error));
    this.options.onExpired?.();
  }

  /** No live response any more; a resumable stream keeps taking events. */
  #detach(): void {
    this.#state = "detached";
    this.#stopKeepalive();
    this.#sse?.close();
    this.#sse = null;
  }

  #finish(): void {
    this.#state = "done";
    this.#stopKeepalive();
    this.#sse?.close();
  }

  #stopKeepalive(): void {
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    this.#keepalive = null;
  }

  #clearOpener(): void {
    this.#opener?.stop();
    this.#opener = null;
  }

  #isFinal(message: object): boolean {
    const record = message as Record<string, unknown>;
    return (
      !("method" in record) &&
      ("result" in record || "error" in record) &&
      record.id === this.requestId
    );
  }
}
