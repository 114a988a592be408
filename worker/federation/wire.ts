/**
 * Reading upstream answers: JSON-RPC parsing and checking, HTTP error mapping,
 * bounded bodies, and the timers that bound a request. Every failure here is
 * an UpstreamFailure or UpstreamRpcError with a fixed, URL-free text.
 */

import { UpstreamFailure, UpstreamRpcError } from "./failures";
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
  onExpire: () => void = () => {};
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ms: number) {
    this.touch();
  }

  touch(): void {
    this.pause();
    this.#timer = setTimeout(() => this.onExpire(), this.ms);
  }

  pause(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  stop(): void {
    this.pause();
  }
}

export type Message = Record<string, unknown>;

export function parseMessage(text: string): Message {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UpstreamFailure("invalid", "answered with something that is not JSON");
  }
  if (
    typeof value !== "object" ||
    value === null ||
    Array.isArray(value) ||
    (value as Message).jsonrpc !== "2.0"
  ) {
    throw new UpstreamFailure("invalid", "answered with something that is not a JSON-RPC message");
  }
  return value as Message;
}

export function resultFor(message: Message, id: number): Record<string, unknown> {
  if (message.id !== id) {
    throw new UpstreamFailure("invalid", "answered a request it was not asked");
  }
  const error = message.error;
  if (typeof error === "object" && error !== null) {
    const { code, message: text, data } = error as Record<string, unknown>;
    if (typeof code === "number" && Number.isInteger(code) && typeof text === "string") {
      throw new UpstreamRpcError(code, text.slice(0, ERROR_BODY_CHARS), data);
    }
    throw new UpstreamFailure("invalid", "answered with a malformed JSON-RPC error");
  }
  const result = message.result;
  if (typeof result !== "object" || result === null || Array.isArray(result)) {
    throw new UpstreamFailure("invalid", "answered without a result object");
  }
  return result as Record<string, unknown>;
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
  const text = await boundedText(response, ERROR_BODY_CHARS).catch(() => "");
  if (session?.sessionId) {
    if (response.status === 404)
      return new UpstreamFailure("expired", "no longer knows this session");
    if (response.status === 400 && /session/i.test(text)) {
      return new UpstreamFailure("expired", "no longer knows this session");
    }
  }
  if (response.status === 401 || response.status === 403) {
    return new UpstreamFailure(
      "unavailable",
      `refused the gateway's credentials (HTTP ${response.status})`,
    );
  }
  return new UpstreamFailure("unavailable", `answered HTTP ${response.status}`);
}

export async function boundedText(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
    if (text.length > limit) {
      await reader.cancel();
      if (limit === ERROR_BODY_CHARS) return text.slice(0, limit);
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
