/**
 * Reading upstream answers: JSON-RPC decoding (the shared codec), HTTP error mapping,
 * bounded bodies, and the timers that bound a request. Every failure here is
 * an UpstreamFailure or UpstreamRpcError with a fixed, URL-free text.
 */
import { type DecodedFrame, decodeFrame } from "../../shared/codec";
import { PARSE_ERROR } from "../../shared/errors";
import { responseError } from "../../shared/protocol";
import { UpstreamFailure, UpstreamRpcError, UpstreamUnauthorized } from "./failures";
import { EventTooLarge } from "./sse-reader";
import type { UpstreamSessionState } from "./store";

/** Error texts and bodies kept from an upstream, at most. */
export const ERROR_BODY_CHARS = 2_048;

/**
 * Runs `work` with a signal that aborts after `ms`. Not AbortSignal.timeout: its
 * timer outlives the request, and a pending timer keeps a session object awake.
 */
export async function withDeadline<T>(
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new UpstreamFailure("timeout", `timed out after ${ms} ms`)),
    ms,
  );
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Aborts a request when the upstream stays silent for `ms`; paused while a
 * server->client request waits for the client's answer.
 */
export class SilenceTimer {
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly ms: number,
    private readonly onExpire: () => void,
  ) {
    this.touch();
  }

  touch(): void {
    this.pause();
    this.#timer = setTimeout(() => this.onExpire(), this.ms);
  }

  /** Stops the timer (a client answer is awaited, or the request ended); touch() restarts it. */
  pause(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * One message from an upstream, checked at the boundary with the same decoder
 * as client frames (shared/codec.ts: JSON-RPC schemas, nesting depth).
 */
export type UpstreamMessage = Exclude<DecodedFrame, { kind: "invalid" }>;

export function parseMessage(text: string): UpstreamMessage {
  const frame = decodeFrame(text);
  if (frame.kind !== "invalid") return frame;
  throw new UpstreamFailure(
    "invalid",
    frame.reply.error.code === PARSE_ERROR
      ? "answered with something that is not JSON"
      : "answered with something that is not a JSON-RPC message",
  );
}

/** The result of the response to request `id`; an upstream error becomes UpstreamRpcError. */
export function resultFor(message: UpstreamMessage, id: number): Record<string, unknown> {
  if (message.kind !== "response" || message.message.id !== id) {
    throw new UpstreamFailure("invalid", "answered a request it was not asked");
  }
  const error = responseError(message.message);
  if (error)
    throw new UpstreamRpcError(error.code, error.message.slice(0, ERROR_BODY_CHARS), error.data);
  return (message.message as { result: Record<string, unknown> }).result;
}

/**
 * Maps an HTTP error answer. A 404 to a request carrying a session id means the
 * upstream forgot the session (spec); some servers answer 400 "no valid session
 * ID" instead, which is read the same way (the caller re-initialises once).
 */
export async function failureOf(
  response: Response,
  session: UpstreamSessionState | null,
): Promise<UpstreamFailure> {
  const text = await boundedText(response, ERROR_BODY_CHARS, "truncate").catch(() => "");
  if (session?.sessionId) {
    if (response.status === 404)
      return new UpstreamFailure("expired", "no longer knows this session");
    if (response.status === 400 && /session/i.test(text)) {
      return new UpstreamFailure("expired", "no longer knows this session");
    }
  }
  if (response.status === 401) {
    const challenge = response.headers.get("WWW-Authenticate")?.slice(0, 2_048) ?? null;
    return new UpstreamUnauthorized(
      `refused the gateway's credentials (HTTP ${response.status})`,
      challenge,
    );
  }
  if (response.status === 403) {
    return new UpstreamFailure(
      "unavailable",
      `refused the gateway's credentials (HTTP ${response.status})`,
    );
  }
  return new UpstreamFailure("unavailable", `answered HTTP ${response.status}`);
}

/**
 * The body as text, at most `limit` characters: past it, "truncate" keeps the
 * first `limit` (error bodies, which are only shown in part) and "refuse"
 * fails the request (answers, which must be whole).
 */
export async function boundedText(
  response: Response,
  limit: number,
  overflow: "truncate" | "refuse",
): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
    if (text.length > limit) {
      await reader.cancel();
      if (overflow === "truncate") return text.slice(0, limit);
      throw new UpstreamFailure("invalid", `answered with more than ${limit} bytes`);
    }
  }
}

export function normalise(thrown: unknown): Error {
  if (thrown instanceof UpstreamFailure || thrown instanceof UpstreamRpcError) return thrown;
  if (thrown instanceof EventTooLarge)
    return new UpstreamFailure("invalid", thrown.message.replace(/^an upstream /, "sent an "));
  // A broken stream (connection reset) or anything else: no details, they may name the URL.
  return new UpstreamFailure("unavailable", "broke the connection");
}
