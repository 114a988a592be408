/**
 * The Node flavour of a client socket, on the `ws` package (Node 20 has no
 * global WebSocket): the token goes in `Authorization: Bearer`, the 101's
 * `Mcp-Session-Id` is read, and a refused upgrade reports its HTTP status
 * (404: the session is gone; 401/403: the token was refused).
 */
import WebSocket from "ws";
import { SESSION_ID_HEADER } from "../shared/limits";
import { type SocketEnd, type SocketFactory, subprotocols } from "./socket";

/** Longest refusal body kept for the reason (it names what was wrong). */
const MAX_REASON_CHARS = 300;

export const nodeSocket: SocketFactory = {
  showsStatus: true,
  open(url, token, events) {
    const ws = new WebSocket(url, subprotocols(undefined), {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
    });
    let opened = false;
    let ended = false;
    let sessionId: string | undefined;
    let lastError = "";
    const end = (info: SocketEnd) => {
      if (ended) return;
      ended = true;
      events.end(info);
    };
    ws.on("upgrade", (response) => {
      const header = response.headers[SESSION_ID_HEADER.toLowerCase()];
      if (typeof header === "string") sessionId = header;
    });
    ws.on("unexpected-response", (request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body = (body + chunk).slice(0, MAX_REASON_CHARS);
      });
      const refuse = () => {
        end({ code: 1006, reason: body.trim(), opened: false, status: response.statusCode });
        request.destroy();
      };
      response.once("end", refuse);
      response.once("error", refuse);
    });
    ws.on("open", () => {
      opened = true;
      events.open();
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) events.message(data.toString());
    });
    ws.on("error", (error) => {
      lastError = error.message;
    });
    ws.on("close", (code, reason) => {
      end({ code, reason: reason.toString() || lastError, opened });
    });
    return {
      get sessionId() {
        return sessionId;
      },
      // ws reports a frame that never reached the kernel (socket already reset or closed).
      send: (text, unsent) =>
        ws.send(text, (error) => {
          if (error) unsent?.();
        }),
      close: (code, reason) => {
        try {
          ws.close(code, reason);
        } catch {
          ws.terminate();
        }
      },
      terminate: () => {
        ws.terminate();
        end({ code: 1006, reason: "terminated by the client", opened });
      },
    };
  },
};
