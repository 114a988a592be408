/**
 * The upstream client (worker/federation/client.ts) against a real HTTP server
 * on loopback that answers with generated garbage: wrong statuses, content
 * types, bodies, SSE framing, ids and JSON-RPC shapes. Whatever arrives, a
 * request settles within its bound with a result, an UpstreamRpcError or an
 * UpstreamFailure whose text never carries the URL - never another error, and
 * never a hang.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UpstreamClient } from "../../worker/federation/client";
import { UpstreamFailure, UpstreamRpcError } from "../../worker/federation/failures";
import { withTimeout } from "../helpers/wait";

interface Answer {
  status: number;
  contentType: string | null;
  chunks: readonly string[];
  /** Leave the response open after the chunks (a stalled upstream). */
  hang: boolean;
}

let server: Server;
let url = "";
let next: Answer = { status: 200, contentType: null, chunks: [], hang: false };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      // Notifications the client sends (cancellations) get a plain 202.
      if (req.headers["x-fuzz"] === undefined && next.status === 0) {
        res.writeHead(202).end();
        return;
      }
      const answer = next;
      res.writeHead(
        answer.status,
        answer.contentType ? { "Content-Type": answer.contentType } : {},
      );
      for (const chunk of answer.chunks) res.write(chunk);
      if (!answer.hang) res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = () =>
  new UpstreamClient(
    { url, headers: {}, timeoutMs: 400, maxRequestMs: 2_000 },
    {
      sessionId: "fuzz-session",
      protocolVersion: "2025-11-25",
      capabilities: {},
      declared: {},
    },
  );

/** The client numbers requests from 1: a fresh client's first request has id 1. */
const message = fc.oneof(
  fc.constant({ jsonrpc: "2.0", id: 1, result: { content: [] } }),
  fc.constant({ jsonrpc: "2.0", id: 1, error: { code: -32602, message: "bad" } }),
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.oneof(fc.integer(), fc.string()),
    result: fc.anything(),
  }),
  fc.record({ jsonrpc: fc.constantFrom("2.0", "1.0"), id: fc.constant(1), error: fc.anything() }),
  fc.record({ jsonrpc: fc.constant("2.0"), method: fc.string(), params: fc.object() }),
  fc.record({
    jsonrpc: fc.constant("2.0"),
    id: fc.integer(),
    method: fc.constantFrom("ping", "roots/list", "x"),
  }),
  fc.anything(),
);

const body = fc.oneof(
  // JSON.stringify(undefined) is undefined, not a string.
  message.map((m) => JSON.stringify(m) ?? "null"),
  fc.string(),
  fc.constant(""),
  fc.constant("{"),
);

const sse = fc
  .array(
    fc.oneof(
      body.map((b) => `data: ${b.replace(/\n/g, " ")}\n\n`),
      fc.string(),
      fc.constant(": keepalive\n\n"),
    ),
    {
      maxLength: 6,
    },
  )
  .map((events) => events.join(""));

const garbage: fc.Arbitrary<Answer> = fc.record({
  status: fc.constantFrom(200, 200, 200, 202, 400, 401, 404, 500),
  contentType: fc.constantFrom(
    "application/json",
    "text/event-stream",
    "text/html",
    null,
    "application/json; charset=utf-8",
  ),
  chunks: fc.oneof(
    body.map((b) => [b]),
    sse.map((s) => [s]),
    sse.map((s) => [s.slice(0, s.length / 2), s.slice(s.length / 2)]),
  ),
  hang: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

/** Well-formed answers, so that every outcome is reached, not only failures. */
const wellFormed: fc.Arbitrary<Answer> = fc.oneof(
  fc
    .constantFrom(
      { jsonrpc: "2.0", id: 1, result: { content: [] } },
      { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "bad" } },
    )
    .map((m) => ({
      status: 200,
      contentType: "application/json",
      chunks: [JSON.stringify(m)],
      hang: false,
    })),
  fc.constant({
    status: 200,
    contentType: "text/event-stream",
    chunks: [
      'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n',
      'data: {"jsonrpc":"2.0","id":1,"result":{"content":[]}}\n\n',
    ],
    hang: false,
  }),
);

const answer = fc.oneof({ arbitrary: garbage, weight: 4 }, { arbitrary: wellFormed, weight: 1 });

describe("UpstreamClient against garbage", () => {
  it("settles every request with a result or a typed error that does not name the URL", async () => {
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(answer, async (generated) => {
        next = generated;
        const outcome = await withTimeout(
          client()
            .request("tools/call", { name: "t", arguments: {} })
            .then(
              () => "result",
              (error: unknown) => error,
            ),
          3_000,
          "the request to settle",
        );
        if (outcome === "result") {
          kinds.set("result", (kinds.get("result") ?? 0) + 1);
          return;
        }
        expect(outcome instanceof UpstreamFailure || outcome instanceof UpstreamRpcError).toBe(
          true,
        );
        const error = outcome as Error;
        expect(error.message).not.toContain("127.0.0.1");
        const kind = outcome instanceof UpstreamFailure ? outcome.kind : "rpc";
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }),
      { numRuns: 400 },
    );
    // The generator reached every outcome, so the property was not vacuous.
    for (const kind of ["result", "rpc", "invalid", "unavailable", "expired", "timeout"]) {
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  }, 120_000);
});
