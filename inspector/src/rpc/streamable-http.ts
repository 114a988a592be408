/**
 * MCP Streamable HTTP, session era, as a client: every message is a POST to
 * `/mcp`; the reply is JSON, or an SSE stream carrying progress, log messages
 * and server->client requests before the final response. `Mcp-Session-Id`
 * comes back on the initialize response and goes on every later request, with
 * `MCP-Protocol-Version`. A 404 means the session is gone (spec: the client must
 * start a new one).
 */
import { CLOSE_NORMAL, PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER } from "../../../shared/limits";
import type { RequestId, RpcMessage } from "./messages";
import { SseParser } from "./sse";
import type { Transport, TransportEnd } from "./transport";

export interface HttpOptions {
  /** `http://host:port` */
  origin: string;
  token?: string | undefined;
  sessionId?: string | undefined;
  protocolVersion?: string | undefined;
}

export class StreamableHttpTransport implements Transport {
  readonly kind = "http";
  onMessage: (message: unknown) => void = () => {};
  onEnd: (end: TransportEnd) => void = () => {};
  sessionId: string | null;
  protocolVersion: string | null;
  readonly #inFlight = new Map<RequestId, AbortController>();
  #ended = false;

  constructor(private readonly options: HttpOptions) {
    this.sessionId = options.sessionId ?? null;
    this.protocolVersion = options.protocolVersion ?? null;
  }

  async send(message: RpcMessage): Promise<void> {
    if (this.#ended) throw new Error("The session's HTTP transport is closed");
    const controller = new AbortController();
    const id = "id" in message && "method" in message ? message.id : null;
    if (id !== null) this.#inFlight.set(id, controller);
    try {
      const response = await fetch(`${this.options.origin}/mcp`, {
        method: "POST",
        headers: this.#headers({
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
        }),
        body: JSON.stringify(message),
        signal: controller.signal,
      });
      this.sessionId ??= response.headers.get(SESSION_ID_HEADER);
      await this.#read(response);
    } catch (error) {
      if (controller.signal.aborted) return;
      throw error;
    } finally {
      if (id !== null) this.#inFlight.delete(id);
    }
  }

  abandon(id: RequestId): void {
    this.#inFlight.get(id)?.abort();
  }

  close(): void {
    this.#end({ code: CLOSE_NORMAL, reason: "closed by the inspector", byUser: true });
  }

  async #read(response: Response): Promise<void> {
    const type = response.headers.get("Content-Type") ?? "";
    if (response.status === 404 && this.sessionId) {
      this.#end({ code: 404, reason: "the session no longer exists", byUser: false });
      throw new Error("HTTP 404: the session no longer exists");
    }
    if (response.status === 202) return;
    if (type.includes("text/event-stream") && response.body) {
      const parser = new SseParser((_event, data) => this.onMessage(parseJson(data)));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      parser.end();
      return;
    }
    const text = await response.text();
    if (type.includes("application/json")) {
      // Error replies (400 + JSON-RPC error) are messages too: deliver them.
      this.onMessage(parseJson(text));
      return;
    }
    throw new Error(`HTTP ${response.status}: ${text.trim().slice(0, 200)}`);
  }

  #headers(base: Record<string, string>): Record<string, string> {
    return authHeaders(this.options.token, {
      ...base,
      ...(this.sessionId ? { [SESSION_ID_HEADER]: this.sessionId } : {}),
      ...(this.protocolVersion ? { [PROTOCOL_VERSION_HEADER]: this.protocolVersion } : {}),
    });
  }

  #end(end: TransportEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const controller of this.#inFlight.values()) controller.abort();
    this.onEnd(end);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { unparseable: text };
  }
}

function authHeaders(token: string | undefined, base: Record<string, string>) {
  return token ? { ...base, Authorization: `Bearer ${token}` } : base;
}

/** DELETE /mcp: ends the session for every transport (sockets close with 4004). */
export async function endSession(origin: string, sessionId: string, token?: string) {
  const response = await fetch(`${origin}/mcp`, {
    method: "DELETE",
    headers: authHeaders(token, { [SESSION_ID_HEADER]: sessionId }),
  });
  await response.body?.cancel();
  return response.status;
}

/**
 * Whether a session still exists, by opening its standalone GET stream and
 * dropping it at once: 404 means gone. A browser cannot see why a WebSocket
 * upgrade failed, so this tells "session ended" from "gateway unreachable".
 */
export async function probeSession(
  origin: string,
  sessionId: string,
  token?: string,
): Promise<"alive" | "gone" | "unknown"> {
  const controller = new AbortController();
  try {
    const response = await fetch(`${origin}/mcp`, {
      headers: authHeaders(token, { Accept: "text/event-stream", [SESSION_ID_HEADER]: sessionId }),
      signal: controller.signal,
    });
    controller.abort();
    if (response.status === 404) return "gone";
    return response.ok ? "alive" : "unknown";
  } catch {
    return "unknown";
  } finally {
    controller.abort();
  }
}
