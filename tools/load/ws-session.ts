/**
 * A session over WebSocket (subprotocol `mcp`, one JSON-RPC message per text
 * frame), on the `ws` package: it sets headers on the upgrade (the bearer
 * token), reads the 101's `Mcp-Session-Id`, and costs one file descriptor per
 * socket. In `echo` mode there is no handshake and a call is answered by the
 * frame itself coming back (the bare-object and Node `ws` floors); the wake
 * count is then asked with the plain text frame WAKES_QUERY, whose answer is
 * the next text frame that is not JSON.
 */
import WebSocket from "ws";
import { notificationEnvelope, requestEnvelope } from "../../shared/errors";
import { MCP_SUBPROTOCOL } from "../../shared/limits";
import { LoadError } from "./errors";
import {
  type LoadSession,
  type OnLost,
  sessionInfoWakes,
  type ToolReply,
  toolReplyOf,
  WAKES_QUERY,
  wakesOfFloorReply,
} from "./session";
import { authHeaders, initializeParams, type Target } from "./target";

interface Pending {
  resolve(message: Record<string, unknown>): void;
  reject(error: LoadError): void;
  timer: NodeJS.Timeout;
}

const CLOSE_WAIT_MS = 2_000;

export class WsSession implements LoadSession {
  sessionId: string | null = null;
  #ws: WebSocket | null = null;
  #pending = new Map<number, Pending>();
  /** Waiting for a text frame that is not JSON (a floor's wake count), oldest first. */
  #textWaiters: Pending[] = [];
  #nextId = 1;
  #closing = false;

  constructor(
    private readonly target: Target,
    private readonly onLost: OnLost,
  ) {}

  get isOpen(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  async open(): Promise<void> {
    const ws = new WebSocket(this.target.endpoint, MCP_SUBPROTOCOL, {
      perMessageDeflate: false,
      handshakeTimeout: this.target.timeoutMs,
      headers: authHeaders(this.target),
    });
    this.#ws = ws;
    ws.on("error", () => {}); // Surfaced through open's rejection or the close event.
    ws.on("upgrade", (response) => {
      const id = response.headers["mcp-session-id"];
      if (typeof id === "string") this.sessionId = id;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("unexpected-response", (request, response) => {
        response.resume();
        request.destroy();
        reject(
          new LoadError(
            `upgrade_${response.statusCode}`,
            `upgrade answered ${response.statusCode}`,
          ),
        );
      });
      ws.once("error", (error) => reject(classifyOpenError(error)));
      ws.once("close", (code) => reject(new LoadError(`closed_${code}`, "closed while opening")));
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.#onText(data.toString());
    });
    ws.on("close", (code, reason) => {
      const error = new LoadError(`closed_${code}`, `socket closed ${code} ${reason.toString()}`);
      for (const pending of [...this.#pending.values(), ...this.#textWaiters]) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
      this.#pending.clear();
      this.#textWaiters = [];
      if (!this.#closing) this.onLost(error);
    });
    if (this.target.protocol === "mcp") {
      const reply = await this.#request("initialize", initializeParams());
      if (!reply.result) throw new LoadError("initialize_failed", JSON.stringify(reply.error));
      ws.send(JSON.stringify(notificationEnvelope("notifications/initialized")));
    }
  }

  async call(tool: string, args: Record<string, unknown>): Promise<ToolReply> {
    const message = await this.#request("tools/call", { name: tool, arguments: args });
    if (this.target.protocol === "echo") {
      const echoed = (message.params as { arguments?: { text?: string } } | undefined)?.arguments;
      return { text: echoed?.text };
    }
    return toolReplyOf(message);
  }

  async wakes(): Promise<number | null> {
    if (this.target.protocol !== "echo") return sessionInfoWakes(this);
    return wakesOfFloorReply(await this.#exchangeText(WAKES_QUERY));
  }

  async close(): Promise<void> {
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.close(1000, "load run done");
    const timer = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  #request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new LoadError("not_open", `${method} on a socket that is not open`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new LoadError("call_timeout", `${method} got no reply in ${this.target.timeoutMs} ms`),
        );
      }, this.target.timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify(requestEnvelope(id, method, params)));
    });
  }

  /** Sends a plain text frame; resolves with the next text frame that is not JSON. */
  #exchangeText(frame: string): Promise<string> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new LoadError("not_open", "a text frame on a socket that is not open"));
    }
    return new Promise((resolve, reject) => {
      const waiter: Pending = {
        resolve: (message) => resolve(String(message.text)),
        reject,
        timer: setTimeout(() => {
          this.#textWaiters = this.#textWaiters.filter((w) => w !== waiter);
          reject(
            new LoadError("call_timeout", `no answer to "${frame}" in ${this.target.timeoutMs} ms`),
          );
        }, this.target.timeoutMs),
      };
      this.#textWaiters.push(waiter);
      ws.send(frame);
    });
  }

  #onText(text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // A floor's wake count, or e.g. the keepalive "pong" (not ours to match).
      const waiter = this.#textWaiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve({ text });
      }
      return;
    }
    const id = message.id;
    if (typeof id !== "number") return;
    // A server->client request carries a method; in echo mode our own request comes back.
    if (this.target.protocol === "mcp" && "method" in message) return;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(message);
  }
}

function classifyOpenError(error: Error): LoadError {
  if (/handshake has timed out/i.test(error.message)) {
    return new LoadError("connect_timeout", error.message);
  }
  const code = (error as { code?: string }).code;
  return new LoadError(code ? `net_${code.toLowerCase()}` : "connect_failed", error.message);
}
