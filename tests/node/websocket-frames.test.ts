/**
 * worker/transports/websocket.ts: the frame guard, the subprotocol check and
 * quiet closing. Pure apart from the socket, which a fake stands in for.
 */
import { describe, expect, it } from "vitest";
import {
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_NORMAL,
  CLOSE_UNSUPPORTED_DATA,
  MAX_FRAME_BYTES,
} from "../../shared/limits";
import {
  checkFrame,
  closeQuietly,
  offersMcpSubprotocol,
  sendText,
} from "../../worker/transports/websocket";

class FakeSocket {
  readonly closes: [number, string][] = [];
  readonly sent: string[] = [];
  constructor(private readonly broken = false) {}
  close(code: number, reason: string): void {
    if (this.broken) throw new TypeError("already closed");
    this.closes.push([code, reason]);
  }
  send(data: string): void {
    if (this.broken) throw new TypeError("already closed");
    this.sent.push(data);
  }
}

function asSocket(fake: FakeSocket): WebSocket {
  return fake as unknown as WebSocket;
}

describe("checkFrame", () => {
  it("passes a text frame through", () => {
    expect(checkFrame('{"a":1}')).toEqual({ ok: true, text: '{"a":1}' });
  });

  it("refuses a binary frame with 1003", () => {
    expect(checkFrame(new ArrayBuffer(4))).toMatchObject({
      ok: false,
      code: CLOSE_UNSUPPORTED_DATA,
    });
  });

  it(`accepts exactly ${MAX_FRAME_BYTES} bytes and refuses one more with 1009`, () => {
    expect(checkFrame("a".repeat(MAX_FRAME_BYTES)).ok).toBe(true);
    expect(checkFrame("a".repeat(MAX_FRAME_BYTES + 1))).toMatchObject({
      ok: false,
      code: CLOSE_MESSAGE_TOO_BIG,
    });
  });

  it("measures the limit in UTF-8 bytes", () => {
    expect(checkFrame("é".repeat(MAX_FRAME_BYTES / 2)).ok).toBe(true);
    expect(checkFrame("é".repeat(MAX_FRAME_BYTES / 2 + 1)).ok).toBe(false);
  });
});

describe("offersMcpSubprotocol", () => {
  it.each<[string | null, boolean]>([
    ["mcp", true],
    ["chat, mcp", true],
    [" mcp ,other", true],
    ["mcp2", false],
    ["MCP", false],
    ["", false],
    [null, false],
  ])("%j -> %s", (header, offered) => {
    expect(offersMcpSubprotocol(header)).toBe(offered);
  });
});

describe("closeQuietly", () => {
  it.each([1005, 1006, 1015])("maps the reserved code %i to 1000", (code) => {
    const ws = new FakeSocket();
    closeQuietly(asSocket(ws), code, "bye");
    expect(ws.closes).toEqual([[CLOSE_NORMAL, "bye"]]);
  });

  it("passes other codes through and caps the reason at 123 characters", () => {
    const ws = new FakeSocket();
    closeQuietly(asSocket(ws), 4001, "r".repeat(200));
    expect(ws.closes).toEqual([[4001, "r".repeat(123)]]);
  });

  it("swallows the error of a socket that is already closed", () => {
    expect(() => closeQuietly(asSocket(new FakeSocket(true)), 1000, "x")).not.toThrow();
  });
});

describe("sendText", () => {
  it("sends one text frame and reports success", () => {
    const ws = new FakeSocket();
    expect(sendText(asSocket(ws), '{"a":1}')).toBe(true);
    expect(ws.sent).toEqual(['{"a":1}']);
  });

  it("reports false instead of throwing when the socket is gone", () => {
    expect(sendText(asSocket(new FakeSocket(true)), '{"a":1}')).toBe(false);
  });
});
