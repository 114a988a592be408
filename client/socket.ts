/**
 * One WebSocket connection as the resumable transport needs it, whatever the
 * platform: open it with the `mcp` subprotocol and a token, send and receive
 * text frames, and learn how it ended, including the HTTP status of a refused
 * upgrade where the platform shows it (a 404 means the session is gone).
 *
 * `browserSocket` uses the standard `WebSocket` (browsers, Deno, Node 22+):
 * the token travels as a `mcp.auth.<token>` subprotocol entry, since a
 * WebSocket in a browser cannot carry headers (SEP-1288 draft), and a refused
 * upgrade shows no status. `client/node-socket.ts` is the Node flavour on the
 * `ws` package (Authorization header, statuses visible, Node 20).
 */
import { AUTH_SUBPROTOCOL_PREFIX, MCP_SUBPROTOCOL } from "../shared/limits";

export interface SocketEnd {
  /** The close code (1006 when the connection ended without a close frame). */
  code: number;
  reason: string;
  /** Whether the connection had opened (false: the upgrade failed). */
  opened: boolean;
  /** The HTTP status of a refused upgrade, when the platform shows it. */
  status?: number | undefined;
}

export interface SocketEvents {
  open(): void;
  message(text: string): void;
  /** Called once, however the connection ended (also after `terminate`). */
  end(end: SocketEnd): void;
}

export interface SocketHandle {
  /**
   * Sends one text frame. `unsent` is called when the platform reports that
   * the frame never left this machine (the connection was already gone), so
   * it can be sent again safely.
   */
  send(text: string, unsent?: () => void): void;
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a closing handshake. */
  terminate(): void;
  /** The upgrade response's `Mcp-Session-Id`, where the platform shows headers. */
  readonly sessionId: string | undefined;
}

export interface SocketFactory {
  /** Whether a refused upgrade reports its HTTP status (else the transport probes). */
  readonly showsStatus: boolean;
  open(url: string, token: string | undefined, events: SocketEvents): SocketHandle;
}

/** The subprotocols a client offers: `mcp`, plus the token entry when there is one. */
export function subprotocols(token: string | undefined): string[] {
  return token ? [MCP_SUBPROTOCOL, `${AUTH_SUBPROTOCOL_PREFIX}${token}`] : [MCP_SUBPROTOCOL];
}

export const browserSocket: SocketFactory = {
  showsStatus: false,
  open(url, token, events) {
    if (typeof WebSocket === "undefined") {
      throw new Error(
        "no global WebSocket here: in Node 20 pass { socket: nodeSocket } from client/node.ts",
      );
    }
    const ws = new WebSocket(url, subprotocols(token));
    let opened = false;
    let ended = false;
    const end = (info: SocketEnd) => {
      if (ended) return;
      ended = true;
      events.end(info);
    };
    ws.addEventListener("open", () => {
      opened = true;
      events.open();
    });
    ws.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data === "string") events.message(event.data);
    });
    ws.addEventListener("close", (event: CloseEvent) =>
      end({ code: event.code, reason: event.reason, opened }),
    );
    return {
      sessionId: undefined,
      send: (text) => ws.send(text),
      close: (code, reason) => closeQuietly(ws, code, reason),
      terminate: () => {
        closeQuietly(ws, 1000, "");
        end({ code: 1006, reason: "terminated by the client", opened });
      },
    };
  },
};

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing.
  }
}
