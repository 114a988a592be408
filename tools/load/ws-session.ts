/**
 * A session over WebSocket (subprotocol `mcp`, one JSON-RPC message per text
 * frame), on the `ws` package: it sets headers on the upgrade (the bearer
 * token), reads the 101's `Mcp-Session-Id`, and costs one file descriptor per
 * socket. In `echo` mode there is no handshake and a call is answered by the
 * frame itself coming back (the bare-object and Node `ws` floors); the wake
 * count is then asked with the plain text frame WAKES_QUERY, whose answer is
 * the next text frame that is not JSON.
 *
 * A Dormouse session (`mcp` mode) whose socket drops is re-attached, counting
 * as client/ does (ReceivedCount): `/ws?session=<id>&received=<n>`, with
 * backoff, at most REATTACH_ATTEMPTS times. Calls in flight keep waiting (their
 * own timeouts still run): the session replays their answers, and the ones its
 * resumed notice no longer lists fail as `request_lost`. The session is lost
 * (onLost) only when it is gone (404, close 4004 or 4001) or cannot be
 * re-attached.
 */
import WebSocket from "ws";
import { backoffDelayMs } from "../../client/backoff";
import { ReceivedCount } from "../../client/received-count";
import { notificationEnvelope, requestEnvelope } from "../../shared/errors";
import { CLOSE_SESSION_ENDED, CLOSE_SUPERSEDED, MCP_SUBPROTOCOL } from "../../shared/limits";
import { RECEIVED_PARAM } from "../../shared/protocol-constants";
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
  /** The socket (attach number) the request was written on. */
  epoch: number;
}

const CLOSE_WAIT_MS = 2_000;
const REATTACH_ATTEMPTS = 6;
const REATTACH_BACKOFF = { initialDelayMs: 100, maxDelayMs: 2_000 };

export class WsSession implements LoadSession {
  sessionId: string | null = null;
  #reattached = 0;
  #ws: WebSocket | null = null;
  #pending = new Map<number, Pending>();
  /** Waiting for a text frame that is not JSON (a floor's wake count), oldest first. */
  #textWaiters: Pending[] = [];
  #nextId = 1;
  #closing = false;
  #epoch = 0;
  #count = new ReceivedCount();
  /** Set while re-attaching: calls wait for it instead of failing. */
  #reattaching: Promise<boolean> | null = null;

  constructor(
    private readonly target: Target,
    private readonly onLost: OnLost,
  ) {}

  /** Times the session was re-attached after a drop. */
  get reattached(): number {
    return this.#reattached;
  }

  get isOpen(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN || this.#reattaching !== null;
  }

  async open(): Promise<void> {
    await this.#attach(this.target.endpoint);
    if (this.target.protocol === "mcp") {
      const reply = await this.#request("initialize", initializeParams());
      if (!reply.result) throw new LoadError("initialize_failed", JSON.stringify(reply.error));
      this.#ws?.send(JSON.stringify(notificationEnvelope("notifications/initialized")));
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
    this.#closing = true;
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.close(1000, "load run done");
    const timer = setTimeout(() => ws.terminate(), CLOSE_WAIT_MS);
    await closed;
    clearTimeout(timer);
  }

  /** Opens one socket to `url` and makes it the session's. */
  async #attach(url: string): Promise<void> {
    const ws = new WebSocket(url, MCP_SUBPROTOCOL, {
      perMessageDeflate: false,
      handshakeTimeout: this.target.timeoutMs,
      headers: authHeaders(this.target),
    });
    ws.on("error", () => {}); // Surfaced through the rejection below or the close event.
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
    this.#ws = ws;
    this.#epoch += 1;
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.#onText(data.toString());
    });
    ws.on("close", (code, reason) => this.#onClose(ws, code, reason.toString()));
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.#ws) return;
    const error = new LoadError(`closed_${code}`, `socket closed ${code} ${reason}`);
    const gone = code === CLOSE_SESSION_ENDED || code === CLOSE_SUPERSEDED;
    if (this.#closing || gone || this.target.protocol !== "mcp" || !this.sessionId) {
      this.#lose(error);
      return;
    }
    this.#reattaching = this.#reattach(error).finally(() => {
      this.#reattaching = null;
    });
  }

  /** Re-attaches with backoff; false (and the session lost) when it cannot. */
  async #reattach(cause: LoadError): Promise<boolean> {
    let last = cause;
    for (let attempt = 0; attempt < REATTACH_ATTEMPTS && !this.#closing; attempt++) {
      await new Promise((resolve) =>
        setTimeout(resolve, backoffDelayMs(attempt, REATTACH_BACKOFF)),
      );
      const url = new URL(this.target.endpoint);
      url.searchParams.set("session", this.sessionId ?? "");
      url.searchParams.set(RECEIVED_PARAM, String(this.#count.value));
      try {
        await this.#attach(url.toString());
        this.#reattached++;
        return true;
      } catch (error) {
        last = error instanceof LoadError ? error : new LoadError("reattach_failed", String(error));
        if (/^upgrade_(404|401|403)$/.test(last.kind)) break;
      }
    }
    this.#lose(last);
    return false;
  }

  #lose(error: LoadError): void {
    for (const pending of [...this.#pending.values(), ...this.#textWaiters]) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    this.#textWaiters = [];
    if (!this.#closing) this.onLost(error);
  }

  async #request(
    method: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (this.#reattaching && !(await this.#reattaching)) {
      throw new LoadError("not_open", `${method} on a session that could not be re-attached`);
    }
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      throw new LoadError("not_open", `${method} on a socket that is not open`);
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new LoadError("call_timeout", `${method} got no reply in ${this.target.timeoutMs} ms`),
        );
      }, this.target.timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, epoch: this.#epoch });
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
        epoch: this.#epoch,
      };
      this.#textWaiters.push(waiter);
      ws.send(frame);
    });
  }

  #onText(text: string): void {
    const observed = this.target.protocol === "mcp" ? this.#count.observe(text) : null;
    if (observed?.kind === "resumed") {
      this.#failLost(observed.notice.inFlight);
      return;
    }
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

  /** After a re-attach: calls sent earlier that the session neither answered nor still runs. */
  #failLost(inFlight: readonly unknown[]): void {
    const running = new Set(inFlight);
    for (const [id, pending] of this.#pending) {
      if (pending.epoch >= this.#epoch || running.has(id)) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new LoadError("request_lost", `request ${id} was lost with its connection`));
    }
  }
}

function classifyOpenError(error: Error): LoadError {
  if (/handshake has timed out/i.test(error.message)) {
    return new LoadError("connect_timeout", error.message);
  }
  const code = (error as { code?: string }).code;
  return new LoadError(code ? `net_${code.toLowerCase()}` : "connect_failed", error.message);
}
