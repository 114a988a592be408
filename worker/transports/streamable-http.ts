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
import { MAX_BODY_BYTES } from "../../shared/limits";
import type { RequestId } from "../../shared/protocol";
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
  const accept = request.headers.get("Accept") ?? "";
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
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

function accepts(header: string, type: string): boolean {
  const [major] = type.split("/");
  return header
    .split(",")
    .map((entry) => entry.split(";")[0]?.trim().toLowerCase())
    .some((entry) => entry === type || entry === "*/*" || entry === `${major}/*`);
}

/** Reads the body up to MAX_BODY_BYTES; null when it is larger (chunked bodies have no length). */
export async function readBoundedText(request: Request): Promise<string | null> {
  if (!request.body) return "";
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
}

/**
 * The channel of one POSTed request. `response` resolves with the HTTP response
 * to return: JSON when the reply comes first, SSE otherwise. Its only timer is
 * the keepalive of an open SSE reply, cleared when the reply ends, the client
 * goes away, the exchange is abandoned, or `maxOpenMs` passes.
 */
export class HttpExchange implements Channel {
  readonly response: Promise<Response>;
  #resolve!: (response: Response) => void;
  #sse: SseWriter | null = null;
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #done = false;
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
  }

  send(message: object): void {
    if (this.#done) return;
    const final = this.#isFinal(message);
    if (final && "error" in (message as Record<string, unknown>)) this.failed = true;
    if (!this.#sse) {
      if (final) {
        this.#done = true;
        const error = (message as Partial<ErrorEnvelope>).error;
        this.#resolve(
          Response.json(message, {
            status: error ? (this.options.statusFor?.(error) ?? 200) : 200,
            headers: this.headers,
          }),
        );
        return;
      }
      this.#openStream();
    }
    this.#sse?.event(JSON.stringify(message));
    if (final) this.#finish();
  }

  /** Ends the exchange without a reply (a cancelled request): empty JSON-less 202 or stream close. */
  abandon(): void {
    if (this.#done) return;
    if (!this.#sse) {
      this.#done = true;
      this.#resolve(new Response(null, { status: 202, headers: this.headers }));
      return;
    }
    this.#finish();
  }

  /** Opens the SSE reply now (a reply that waits for a task); no-op once answered or streaming. */
  hold(): void {
    if (this.#done || this.#sse) return;
    this.#openStream().comment("waiting");
  }

  #openStream(): SseWriter {
    const sse = new SseWriter();
    this.#sse = sse;
    const headers = new Headers(this.headers);
    headers.set("Content-Type", "text/event-stream");
    headers.set("Cache-Control", "no-cache, no-transform");
    this.#resolve(new Response(sse.response, { status: 200, headers }));
    this.#openedAt = Date.now();
    this.#keepalive = setInterval(() => this.#tick(sse), this.options.keepaliveMs);
    return sse;
  }

  #tick(sse: SseWriter): void {
    if (sse.closed) {
      this.#finish();
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
    sse.event(JSON.stringify(errorEnvelope(this.requestId, error)));
    this.failed = true;
    this.#finish();
    this.options.onExpired?.();
  }

  #finish(): void {
    this.#done = true;
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    this.#keepalive = null;
    this.#sse?.close();
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
