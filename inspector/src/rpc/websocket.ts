/**
 * MCP over WebSocket as Dormouse serves it: subprotocol `mcp` (plus
 * `mcp.auth.<token>` when a token is given: browsers cannot set headers on a
 * WebSocket), one JSON-RPC message per text frame, `/ws?session=<id>` to
 * re-attach, with `&received=<n>` to have the session replay what this page
 * missed (README "Resuming a WebSocket session"; the count is client/'s
 * ReceivedCount, shared by the page's successive sockets). A bare `ping` text
 * frame every KEEPALIVE_EVERY_MS keeps proxies from cutting an idle socket;
 * the runtime answers `pong` without waking the session object, so the
 * keepalive does not defeat hibernation.
 */
import type { ReceivedCount } from "../../../client/received-count";
import {
  AUTH_SUBPROTOCOL_PREFIX,
  CLOSE_NORMAL,
  KEEPALIVE_REQUEST,
  KEEPALIVE_RESPONSE,
  MCP_SUBPROTOCOL,
} from "../../../shared/limits";
import { RECEIVED_PARAM } from "../../../shared/protocol-constants";
import type { RpcMessage } from "./messages";
import type { Transport, TransportEnd } from "./transport";

const KEEPALIVE_EVERY_MS = 30_000;
const OPEN_TIMEOUT_MS = 10_000;
/** Private-range close code for a drop simulated from the page (never sent by the gateway). */
export const CLOSE_SIMULATED_DROP = 4900;

export interface WebSocketOptions {
  /** `ws://host:port` or `wss://host`. */
  origin: string;
  sessionId?: string | undefined;
  /** With sessionId: how many numbered messages this page has received on the session. */
  received?: number | undefined;
  token?: string | undefined;
}

export function webSocketUrl(options: WebSocketOptions): string {
  if (!options.sessionId) return `${options.origin}/ws`;
  const query = new URLSearchParams({ session: options.sessionId });
  if (options.received !== undefined) query.set(RECEIVED_PARAM, String(options.received));
  return `${options.origin}/ws?${query}`;
}

/**
 * Opens the socket; rejects when it does not open (a 404 for an unknown
 * session looks the same). Every frame it receives moves `count`.
 */
export function openWebSocket(
  options: WebSocketOptions,
  count: ReceivedCount,
): Promise<WebSocketTransport> {
  const protocols = [MCP_SUBPROTOCOL];
  if (options.token) protocols.push(`${AUTH_SUBPROTOCOL_PREFIX}${options.token}`);
  const ws = new WebSocket(webSocketUrl(options), protocols);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`WebSocket did not open within ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve(new WebSocketTransport(ws, count));
    });
    ws.addEventListener("close", (event) => {
      clearTimeout(timer);
      reject(
        new Error(
          `WebSocket refused (close ${event.code}${event.reason ? `: ${event.reason}` : ""})`,
        ),
      );
    });
  });
}

export class WebSocketTransport implements Transport {
  readonly kind = "websocket";
  onMessage: (message: unknown) => void = () => {};
  onEnd: (end: TransportEnd) => void = () => {};
  #byUser = false;
  readonly #keepalive: ReturnType<typeof setInterval>;

  constructor(
    private readonly ws: WebSocket,
    count: ReceivedCount,
  ) {
    ws.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      // The two unnumbered notices still reach the page (the traffic log shows them).
      count.observe(event.data);
      if (event.data === KEEPALIVE_RESPONSE) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        parsed = { unparseable: event.data };
      }
      this.onMessage(parsed);
    });
    ws.addEventListener("close", (event) => {
      clearInterval(this.#keepalive);
      this.onEnd({ code: event.code, reason: event.reason, byUser: this.#byUser });
    });
    this.#keepalive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(KEEPALIVE_REQUEST);
    }, KEEPALIVE_EVERY_MS);
  }

  async send(message: RpcMessage): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error("The socket is not open");
    this.ws.send(JSON.stringify(message));
  }

  close(): void {
    this.#byUser = true;
    this.ws.close(CLOSE_NORMAL, "closed by the inspector");
  }

  /** Closes the socket as if the network dropped it, so the page's reconnect logic runs. */
  simulateDrop(): void {
    this.ws.close(CLOSE_SIMULATED_DROP, "simulated drop");
  }
}
