/**
 * Trace context (SEP-414) end to end: the upstream (the project's stateful
 * upstream, whose `header` tool answers with a header of the request it got)
 * receives the client's trace id with the gateway's own span as parent,
 * whether the client put `traceparent` in `_meta` or in the HTTP header; a
 * call without one gets a trace of its own. Log lines of a call (a call to an
 * upstream that is down logs its failure) carry the call's trace id.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeadPort, deadPort, type Gateway, startGateway } from "../helpers/process";
import { startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { waitFor } from "../helpers/wait";

const TIMEOUT_MS = 20_000;
let stateful: UpstreamProcess | undefined;
let gateway: Gateway | undefined;
let down: DeadPort | undefined;
let sessionId = "";
let nextId = 1;

beforeAll(async () => {
  stateful = await startStatefulUpstream();
  down = await deadPort();
  gateway = await startGateway({
    vars: {
      UPSTREAMS: JSON.stringify([
        { name: "state", url: stateful.url, prefix: "state" },
        {
          name: "down",
          url: `http://127.0.0.1:${down.port}/mcp`,
          prefix: "down",
          timeoutMs: 2_000,
        },
      ]),
    },
  });
  const init = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "trace", version: "1" },
    },
  });
  sessionId = init.headers.get("Mcp-Session-Id") ?? "";
  await init.text();
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text();
}, 120_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), stateful?.stop(), down?.close()]);
}, 60_000);

function post(body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway?.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...(sessionId ? { "Mcp-Session-Id": sessionId } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

/** The traceparent the upstream received for one `state__header` call. */
async function upstreamTraceparent(
  meta: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const response = await post(
    {
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: { name: "state__header", arguments: { name: "traceparent" }, _meta: meta },
    },
    headers,
  );
  const text = await response.text();
  const line = text.split("\n").find((l) => l.startsWith("data: ")) ?? text;
  const reply = JSON.parse(line.replace(/^data: /, ""));
  return String(reply.result.content[0].text);
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const PARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

describe("trace context", () => {
  it("carries the traceparent of the request's _meta to the upstream, with the gateway's span as parent", async () => {
    const traceId = hex(16);
    const clientSpan = hex(8);
    const received = await upstreamTraceparent({ traceparent: `00-${traceId}-${clientSpan}-01` });
    const match = PARENT.exec(received);
    expect(match?.[1]).toBe(traceId);
    expect(match?.[2]).not.toBe(clientSpan);
    expect(match?.[3]).toBe("01");
  });

  it("carries a traceparent sent as an HTTP header the same way", async () => {
    const traceId = hex(16);
    const received = await upstreamTraceparent({}, { traceparent: `00-${traceId}-${hex(8)}-00` });
    expect(PARENT.exec(received)?.[1]).toBe(traceId);
  });

  it("starts a trace for a call without one", async () => {
    const first = PARENT.exec(await upstreamTraceparent({}))?.[1];
    const second = PARENT.exec(await upstreamTraceparent({}))?.[1];
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(second).toMatch(/^[0-9a-f]{32}$/);
    expect(second).not.toBe(first);
  });

  it("puts the call's trace id on the log lines of that call", async () => {
    const traceId = hex(16);
    const call = {
      jsonrpc: "2.0",
      id: nextId++,
      method: "tools/call",
      params: {
        name: "down__anything",
        arguments: {},
        _meta: { traceparent: `00-${traceId}-${hex(8)}-01` },
      },
    };
    await (await post(call)).text();
    // wrangler relays the runtime's log lines a little later.
    const line = await waitFor(
      () =>
        (gateway?.fullLog() ?? "")
          .split("\n")
          .find((l) => l.includes("upstream_fetch_failed") && l.includes(traceId)),
      { timeoutMs: 5_000, what: "the call's upstream_fetch_failed log line" },
    );
    expect(line).toContain(`"traceId":"${traceId}"`);
  });

  it("ignores a malformed traceparent and starts a fresh trace", async () => {
    const received = await upstreamTraceparent({
      traceparent: `00-${"0".repeat(32)}-${hex(8)}-01`,
    });
    expect(PARENT.exec(received)?.[1]).not.toBe("0".repeat(32));
  });
});
