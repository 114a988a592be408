/**
 * A session over Streamable HTTP (session era): `initialize` without a
 * session id mints one, later POSTs carry `Mcp-Session-Id`, and `close` sends
 * DELETE. Replies are read whether the server answers JSON or SSE. An idle
 * HTTP session holds no connection at all: only the server's object.
 */
import { createParser } from "eventsource-parser";
import { notificationEnvelope, requestEnvelope } from "../../shared/errors";
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import { LoadError } from "./errors";
import { type LoadSession, type ToolReply, toolReplyOf } from "./session";
import { authHeaders, initializeParams, PROTOCOL_VERSION, type Target } from "./target";

export class HttpSession implements LoadSession {
  sessionId: string | null = null;
  #version: string = PROTOCOL_VERSION;
  #ended = false;
  #nextId = 1;

  constructor(private readonly target: Target) {}

  get isOpen(): boolean {
    return this.sessionId !== null && !this.#ended;
  }

  async open(): Promise<void> {
    const { response, message } = await this.#post(
      requestEnvelope(this.#nextId++, "initialize", initializeParams()),
    );
    const id = response.headers.get(SESSION_ID_HEADER);
    if (!id) throw new LoadError("no_session_id", "initialize answered without Mcp-Session-Id");
    this.sessionId = id;
    const result = message?.result as { protocolVersion?: string } | undefined;
    if (!result) throw new LoadError("initialize_failed", JSON.stringify(message?.error ?? null));
    if (typeof result.protocolVersion === "string") this.#version = result.protocolVersion;
    await this.#post(notificationEnvelope("notifications/initialized"));
  }

  async call(tool: string, args: Record<string, unknown>): Promise<ToolReply> {
    const { message } = await this.#post(
      requestEnvelope(this.#nextId++, "tools/call", { name: tool, arguments: args }),
    );
    if (!message) throw new LoadError("bad_reply", "no JSON-RPC message in the reply");
    return toolReplyOf(message);
  }

  async close(): Promise<void> {
    if (!this.sessionId || this.#ended) return;
    this.#ended = true;
    try {
      const response = await fetch(this.target.endpoint, {
        method: "DELETE",
        headers: this.#headers(),
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
      await response.body?.cancel();
    } catch {
      // Ending is best effort: the session idles out on the server anyway.
    }
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      ...authHeaders(this.target),
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
    };
    if (this.sessionId) {
      headers[SESSION_ID_HEADER] = this.sessionId;
      headers[PROTOCOL_VERSION_HEADER] = this.#version;
    }
    return headers;
  }

  async #post(
    body: Record<string, unknown>,
  ): Promise<{ response: Response; message: Record<string, unknown> | null }> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.target.endpoint, {
        method: "POST",
        headers: this.#headers(),
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new LoadError("call_timeout", `no reply in ${this.target.timeoutMs} ms`);
      }
      throw error;
    }
    if (response.status === 202) return { response, message: null };
    if (!response.ok) {
      throw new LoadError(`http_${response.status}`, text.slice(0, 200));
    }
    const type = response.headers.get("content-type") ?? "";
    const message = type.includes("text/event-stream")
      ? fromSse(text, body.id)
      : (JSON.parse(text) as Record<string, unknown>);
    return { response, message };
  }
}

/**
 * The SSE event whose data is the response to `id` (progress and logs come
 * first), read with `eventsource-parser` like every other SSE reader here;
 * events without data (a resumable stream's priming event) are skipped.
 */
function fromSse(text: string, id: unknown): Record<string, unknown> | null {
  let found: Record<string, unknown> | null = null;
  const parser = createParser({
    onEvent: ({ data }) => {
      if (found || data === "") return;
      try {
        const message = JSON.parse(data) as Record<string, unknown>;
        if (message.id === id && !("method" in message)) found = message;
      } catch {
        // Not JSON: skip.
      }
    },
  });
  parser.feed(text);
  parser.feed("\n\n");
  return found;
}
