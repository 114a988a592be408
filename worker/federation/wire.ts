/**
 * Reading upstream answers: JSON-RPC decoding (the shared codec), HTTP error mapping,
 * bounded bodies, and the timers that bound a request. Every failure here is
 * an UpstreamFailure or UpstreamRpcError with a fixed, URL-free text.
 */
import { type DecodedFrame, decodeFrame } from "../../shared/codec";
import { PARSE_ERROR } from "../../shared/errors";
import { responseError } from "../../shared/protocol";
import { readTextUpTo } from "../transports/bounded-body";
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
 * A signal that aborts with `reason` after `ms`, or when `parent` aborts; clear()
 * drops the timer (a pending timer would keep a session object awake).
 */
export function boundedSignal(
  parent: AbortSignal,
  ms: number,
  reason: unknown,
): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent.reason);
  const timer = setTimeout(() => controller.abort(reason), ms);
  if (parent.aborted) onParent();
  else parent.addEventListener("abort", onParent, { once: true });
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      parent.removeEventListener("abort", onParent);
    },
  };
}

/**
 * The two bounds of one upstream request (MCP spec, basic/lifecycle "Timeouts":
 * a timeout MAY be reset by progress, but a maximum SHOULD always be enforced):
 * - silence: `silenceMs` without progress (the answer, a progress notification,
 *   or a server->client request of the upstream's own) fails the request; other
 *   notifications (log messages, list changes) do not count as progress, so an
 *   upstream that only chatters still times out;
 * - total: `totalMs` for the whole request, whatever the upstream sends.
 * Both are paused while the client answers a request of the upstream's (a person
 * may be typing); that wait is bounded by the MCP layer on its own.
 */
export class RequestBounds {
  #silence: ReturnType<typeof setTimeout> | null = null;
  #total: ReturnType<typeof setTimeout> | null = null;
  #totalLeft: number;
  #since = 0;

  constructor(
    private readonly silenceMs: number,
    private readonly totalMs: number,
    private readonly onExpire: (reason: UpstreamFailure) => void,
  ) {
    this.#totalLeft = totalMs;
    this.resume();
  }

  /** Progress: the silence bound starts again. */
  touch(): void {
    if (this.#total === null) return;
    this.#clearSilence();
    this.#silence = setTimeout(
      () => this.onExpire(new UpstreamFailure("timeout", `timed out after ${this.silenceMs} ms`)),
      this.silenceMs,
    );
  }

  /** Waiting for the client: neither bound runs. */
  pause(): void {
    this.#clearSilence();
    if (this.#total === null) return;
    clearTimeout(this.#total);
    this.#total = null;
    this.#totalLeft -= Date.now() - this.#since;
  }

  resume(): void {
    if (this.#total !== null) return;
    this.#since = Date.now();
    const left = Math.max(this.#totalLeft, 0);
    this.#total = setTimeout(
      () =>
        this.onExpire(
          new UpstreamFailure("timeout", `did not finish within its ${this.totalMs} ms bound`),
        ),
      left,
    );
    this.touch();
  }

  #clearSilence(): void {
    if (this.#silence !== null) clearTimeout(this.#silence);
    this.#silence = null;
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
  if (response.status >= 300 && response.status < 400) {
    return new UpstreamFailure(
      "unavailable",
      `answered HTTP ${response.status}, a redirect, which the gateway does not follow (configure the upstream's final URL)`,
    );
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
  const { text, truncated } = await readTextUpTo(response.body, limit);
  if (truncated && overflow === "refuse") {
    throw new UpstreamFailure("invalid", `answered with more than ${limit} bytes`);
  }
  return text;
}

export function normalise(thrown: unknown): Error {
  if (thrown instanceof UpstreamFailure || thrown instanceof UpstreamRpcError) return thrown;
  if (thrown instanceof EventTooLarge)
    return new UpstreamFailure("invalid", thrown.message.replace(/^an upstream /, "sent an "));
  // A broken stream (connection reset) or anything else: no details, they may name the URL.
  return new UpstreamFailure("unavailable", "broke the connection");
}
