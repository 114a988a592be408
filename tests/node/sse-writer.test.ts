/**
 * SseWriter's bound on what a client that stopped reading leaves queued
 * (worker/transports/sse.ts): past its limit the stream ends rather than
 * holding an unbounded backlog; a client that reads is never cut.
 */
import { describe, expect, it } from "vitest";
import { SseWriter } from "../../worker/transports/sse";
import { withTimeout } from "../helpers/wait";

const LIMIT = 64 * 1024;
const EVENT = "x".repeat(1024);

describe("SseWriter", () => {
  it("ends the stream once unread bytes pass the limit, and drops later writes", async () => {
    const sse = new SseWriter(LIMIT);
    for (let i = 0; i < 200; i++) sse.event(EVENT);
    expect(sse.overflowed).toBe(true);
    expect(sse.closed).toBe(true);
    const reader = sse.response.getReader();
    await expect(withTimeout(drain(reader), 5_000, "the stream to end")).rejects.toThrow(
      /stopped reading/,
    );
  });

  it("never ends the stream of a client that keeps reading", async () => {
    const sse = new SseWriter(LIMIT);
    const reader = sse.response.getReader();
    let received = 0;
    for (let i = 0; i < 500; i++) {
      sse.event(EVENT);
      const { value } = await withTimeout(reader.read(), 5_000, "a chunk");
      received += value?.byteLength ?? 0;
    }
    expect(sse.overflowed).toBe(false);
    expect(received).toBeGreaterThan(500 * EVENT.length);
    sse.close();
  });
});

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}
