/**
 * The pure parts of `dormouse connect`: newline-delimited framing of stdin
 * (bounded lines) and the command line. The bridge itself runs end to end in
 * tests/e2e/stdio-bridge.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../client/cli";
import { LineSplitter } from "../../client/lines";

describe("LineSplitter", () => {
  it("returns whole lines across chunks, dropping a trailing CR and blank lines", () => {
    const splitter = new LineSplitter(100);
    expect(splitter.push('{"a":1}\r\n{"b"')).toEqual({ lines: ['{"a":1}'], dropped: 0 });
    expect(splitter.push(":2}\n\n  \n")).toEqual({ lines: ['{"b":2}'], dropped: 0 });
  });

  it("drops a line longer than its bound once, whole, and goes on with the next", () => {
    const splitter = new LineSplitter(10);
    expect(splitter.push("x".repeat(8))).toEqual({ lines: [], dropped: 0 });
    expect(splitter.push("x".repeat(8))).toEqual({ lines: [], dropped: 1 });
    expect(splitter.push("xxx\nok\n")).toEqual({ lines: ["ok"], dropped: 0 });
    expect(splitter.push(`${"y".repeat(20)}\nfine\n`)).toEqual({ lines: ["fine"], dropped: 1 });
  });
});

describe("parseCommand", () => {
  it("reads the URL and options, the token from DORMOUSE_TOKEN when not given", () => {
    expect(
      parseCommand(["connect", "wss://g.example/ws", "--session", "abc", "--keepalive-ms", "0"], {
        DORMOUSE_TOKEN: "t0k",
      }),
    ).toEqual({
      url: "wss://g.example/ws",
      token: "t0k",
      sessionId: "abc",
      keepaliveIntervalMs: 0,
      maxReconnectMs: undefined,
      quiet: false,
    });
    expect(
      parseCommand(["connect", "ws://h/ws", "--token", "flag"], { DORMOUSE_TOKEN: "env" }),
    ).toMatchObject({ token: "flag" });
  });

  it.each([
    [[], /unknown command/],
    [["connect"], /needs the gateway's WebSocket URL/],
    [["connect", "http://h/mcp"], /not a ws:\/\/ or wss:\/\/ URL/],
    [["connect", "ws://h/ws", "--keepalive-ms", "soon"], /whole number/],
    [["connect", "ws://h/ws", "--nope"], /Unknown option/],
    [["connect", "ws://h/ws", "extra"], /unexpected argument/],
  ])("refuses %j with a sentence", (argv, message) => {
    const parsed = parseCommand(argv, {});
    expect(parsed).toMatchObject({ error: expect.stringMatching(message) });
  });
});
