/**
 * A WebSocket client that never answers a Close frame and keeps sending after
 * one arrived: the wire as the server sees it when a client's frames were
 * already on their way before it read the close. Browsers and `ws` stop
 * sending once they read a close, so this speaks RFC 6455 framing itself
 * (text frames out, masked; text and close frames in). Every wait is bounded.
 *
 * https://www.rfc-editor.org/rfc/rfc6455#section-5.2
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import { MCP_SUBPROTOCOL } from "../../shared/limits";
import type { WireMessage } from "./rpc-socket";
import { waitFor, withTimeout } from "./wait";

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;

interface Frame {
  opcode: number;
  payload: Buffer;
}

export class DeafSocket {
  readonly #frames: Frame[] = [];
  #buffer = Buffer.alloc(0);

  private constructor(
    private readonly socket: Duplex,
    /** The 101 response's headers. */
    readonly headers: IncomingHttpHeaders,
  ) {
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {});
  }

  /** Upgrades `url` (ws://) offering the `mcp` subprotocol; rejects on anything but a 101. */
  static open(url: string, timeoutMs: number): Promise<DeafSocket> {
    const req = httpRequest(new URL(url.replace(/^ws/, "http")), {
      method: "GET",
      agent: false,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Protocol": MCP_SUBPROTOCOL,
      },
    });
    const opened = new Promise<DeafSocket>((resolve, reject) => {
      req.once("upgrade", (res, socket, head) => {
        const deaf = new DeafSocket(socket, res.headers);
        if (head.length > 0) deaf.#read(head);
        resolve(deaf);
      });
      req.once("response", (res) => {
        res.resume();
        reject(new Error(`upgrade of ${url} answered ${res.statusCode}`));
      });
      req.once("error", reject);
      req.end();
    });
    return withTimeout(opened, timeoutMs, `an upgrade of ${url}`).catch((error: unknown) => {
      req.destroy();
      throw error;
    });
  }

  sendJson(message: object): void {
    const payload = Buffer.from(JSON.stringify(message));
    const mask = randomBytes(4);
    const length = payload.length;
    if (length > 0xffff) throw new Error("DeafSocket sends frames of at most 64 KiB");
    const header =
      length < 126
        ? Buffer.from([0x80 | OPCODE_TEXT, 0x80 | length])
        : Buffer.from([0x80 | OPCODE_TEXT, 0x80 | 126, length >> 8, length & 0xff]);
    const masked = Buffer.alloc(length);
    for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Every JSON message received so far, in order. */
  messages(): WireMessage[] {
    return this.#frames
      .filter((frame) => frame.opcode === OPCODE_TEXT)
      .map((frame) => JSON.parse(frame.payload.toString("utf8")) as WireMessage);
  }

  /** The response with `id`, once it arrived. */
  response(id: number, timeoutMs: number): Promise<WireMessage> {
    return waitFor(() => this.messages().find((message) => message.id === id), {
      timeoutMs,
      what: `the response with id ${id}`,
    });
  }

  /** The status code of the server's Close frame, once it arrived. */
  closeCode(timeoutMs: number): Promise<number> {
    return waitFor(
      () => {
        const close = this.#frames.find((frame) => frame.opcode === OPCODE_CLOSE);
        return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
      },
      { timeoutMs, what: "the server's Close frame" },
    );
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Server frames are unmasked and, from this gateway, never fragmented. */
  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 2) {
      const opcode = (this.#buffer[0] ?? 0) & 0x0f;
      let length = (this.#buffer[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.#buffer.length < 4) return;
        length = this.#buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.#buffer.length < 10) return;
        length = Number(this.#buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.#buffer.length < offset + length) return;
      this.#frames.push({ opcode, payload: this.#buffer.subarray(offset, offset + length) });
      this.#buffer = this.#buffer.subarray(offset + length);
    }
  }
}
