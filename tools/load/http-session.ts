/**
 * A session over Streamable HTTP, in one of three modes (Target.protocol):
 * - `mcp`, the session era: `initialize` without a session id mints one,
 *   later POSTs carry `Mcp-Session-Id`, and `close` sends DELETE;
 * - `stateless`, MCP 2026-07-28: no session at all; every POST carries the
 *   protocol version and client capabilities in `_meta` and the
 *   `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers;
 * - `echo`, the floors in bench/: the POST body comes back verbatim. The
 *   session id is minted here (a floor routes a session to its Durable
 *   Object by it); opening sends one notification so the object exists, as
 *   `initialize` makes Dormouse's; the wake count is asked with the body
 *   WAKES_QUERY.
 * Replies are read whether the server answers JSON or SSE. An idle HTTP
 * session holds no connection at all: only the server's object.
 */
import { createParser } from "eventsource-parser";
import { notificationEnvelope, requestEnvelope } from "../../shared/errors";
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../shared/limits";
import {
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
} from "../../shared/protocol-constants";
import { LoadError } from "./errors";
import {
  type LoadSession,
  sessionInfoWakes,
  type ToolReply,
  toolReplyOf,
  WAKES_QUERY,
  wakesOfFloorReply,
} from "./session";
import {
  authHeaders,
  CLIENT_INFO,
  initializeParams,
  PROTOCOL_VERSION,
  type Target,
} from "./target";

const STATELESS_VERSION = MODERN_VERSIONS[0];

export class HttpSession implements LoadSession {
  sessionId: string | null = null;
  #version: string = PROTOCOL_VERSION;
  #opened = false;
  #ended = false;
  #nextId = 1;

  constructor(private readonly target: Target) {}

  get isOpen(): boolean {
    return this.#opened && !this.#ended;
  }

  async open(): Promise<void> {
    if (this.target.protocol === "stateless") {
      this.#opened = true;
      return;
    }
    if (this.target.protocol === "echo") {
      this.sessionId = crypto.randomUUID();
      await this.#post(notificationEnvelope("notifications/initialized"));
      this.#opened = true;
      return;
    }
    const { response, message } = await this.#post(
      requestEnvelope(this.#nextId++, "initialize", initializeParams()),
    );
    const id = response.headers.get(SESSION_ID_HEADER);
    if (!id) throw new LoadError("no_session_id", "initialize answered without Mcp-Session-Id");
    this.sessionId = id;
    const result = message?.result as { protocolVersion?: string } | undefined;
    if (!result) throw new LoadError("initialize_failed", JSON.stringify(message?.error ?? null));
    if (typeof result.protocolVersion === "string") this.#version = result.protocolVersion;
    this.#opened = true;
    await this.#post(notificationEnvelope("notifications/initialized"));
  }

  async call(tool: string, args: Record<string, unknown>): Promise<ToolReply> {
    const params: Record<string, unknown> = { name: tool, arguments: args };
    if (this.target.protocol === "stateless") {
      params._meta = {
        [META_PROTOCOL_VERSION]: STATELESS_VERSION,
        [META_CLIENT_CAPABILITIES]: {},
        [META_CLIENT_INFO]: CLIENT_INFO,
      };
    }
    const body = requestEnvelope(this.#nextId++, "tools/call", params);
    const { message } = await this.#post(body, tool);
    if (!message) throw new LoadError("bad_reply", "no JSON-RPC message in the reply");
    if (this.target.protocol === "echo") {
      const echoed = (message.params as { arguments?: { text?: string } } | undefined)?.arguments;
      return { text: echoed?.text };
    }
    return toolReplyOf(message);
  }

  async wakes(): Promise<number | null> {
    if (this.target.protocol === "stateless") return null;
    if (this.target.protocol === "mcp") return sessionInfoWakes(this);
    const response = await this.#fetch("POST", WAKES_QUERY);
    const text = await response.text();
    if (!response.ok) throw new LoadError(`http_${response.status}`, text.slice(0, 200));
    return wakesOfFloorReply(text);
  }

  async close(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    if (this.target.protocol !== "mcp" || !this.sessionId) return;
    try {
      const response = await this.#fetch("DELETE");
      await response.body?.cancel();
    } catch {
      // Ending is best effort: the session idles out on the server anyway.
    }
  }

  #headers(tool?: string): Record<string, string> {
    const headers: Record<string, string> = {
      ...authHeaders(this.target),
      Accept: "application/json, text/event-stream",
      "Content-Type": "application/json",
    };
    if (this.target.protocol === "stateless") {
      headers[PROTOCOL_VERSION_HEADER] = STATELESS_VERSION;
      headers["Mcp-Method"] = "tools/call";
      if (tool !== undefined) headers["Mcp-Name"] = tool;
    } else if (this.sessionId) {
      headers[SESSION_ID_HEADER] = this.sessionId;
      if (this.target.protocol === "mcp") headers[PROTOCOL_VERSION_HEADER] = this.#version;
    }
    return headers;
  }

  async #fetch(method: "POST" | "DELETE", body?: string, tool?: string): Promise<Response> {
    try {
      return await fetch(this.target.endpoint, {
        method,
        headers: this.#headers(tool),
        body,
        signal: AbortSignal.timeout(this.target.timeoutMs),
      });
    } catch (error) {
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new LoadError("call_timeout", `no reply in ${this.target.timeoutMs} ms`);
      }
      throw error;
    }
  }

  async #post(
    body: Record<string, unknown>,
    tool?: string,
  ): Promise<{ response: Response; message: Record<string, unknown> | null }> {
    const response = await this.#fetch("POST", JSON.stringify(body), tool);
    let text: string;
    try {
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
