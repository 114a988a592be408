/**
 * A call's trace without an async context (worker/observability/trace.ts):
 * the dispatcher holds it on the call's context, so the log lines of a call
 * served by a built-in tool carry its trace id even when they are written
 * after the tool awaited. Driven through the real dispatcher (the stateless
 * 2026-07-28 path, which is the session path's dispatcher with no session),
 * with a registry of tools that fail on purpose; the relayed path is covered
 * end to end by tests/e2e/trace-context.test.ts.
 */

import * as valibot from "valibot";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeFrame } from "../../shared/codec";
import {
  META_CLIENT_CAPABILITIES,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
} from "../../shared/protocol-constants";
import { serveStateless } from "../../worker/http/stateless";
import type { TaskService } from "../../worker/tasks/task-service";
import { defineTool, text } from "../../worker/tools/define";
import { ToolRegistry } from "../../worker/tools/registry";

const failsAtOnce = defineTool({
  name: "fails_at_once",
  description: "Throws before returning.",
  input: valibot.object({}),
  run: () => {
    throw new Error("broken at once");
  },
});

const failsLater = defineTool({
  name: "fails_later",
  description: "Throws after awaiting.",
  input: valibot.object({}),
  run: async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error("broken later");
  },
});

const works = defineTool({
  name: "works",
  description: "Answers.",
  input: valibot.object({}),
  run: () => text("fine"),
});

const registry = new ToolRegistry([
  { name: "faulty", tools: [failsAtOnce, failsLater, works], resources: [], prompts: [] },
]);

function hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Calls `tool` statelessly with `traceparent` in `_meta`; returns the reply's result. */
async function call(tool: string, traceparent?: string): Promise<Record<string, unknown>> {
  const frame = decodeFrame(
    JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name: tool,
        arguments: {},
        _meta: {
          [META_PROTOCOL_VERSION]: MODERN_VERSIONS[0],
          [META_CLIENT_CAPABILITIES]: {},
          ...(traceparent ? { traceparent } : {}),
        },
      },
    }),
  );
  const response = await serveStateless(frame, {
    registry,
    requestStateSecret: undefined,
    keepaliveMs: 25_000,
    maxOpenMs: 60_000,
    deadlineMs: 10_000,
    federation: null,
    onSettled: () => {},
    policy: null,
    tasks: {} as TaskService,
    principal: "tester",
  });
  const reply = (await response.json()) as { result?: Record<string, unknown> };
  if (!reply.result) throw new Error(`no result: ${JSON.stringify(reply)}`);
  return reply.result;
}

/** The JSON log lines written to console.error while `body` ran. */
async function errorLines(body: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const spy = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    await body();
    return spy.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>);
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the trace of a call served by a built-in tool", () => {
  it.each([
    ["fails before returning", "fails_at_once"],
    ["fails after awaiting", "fails_later"],
  ])("is on the log line of a tool that %s", async (_when, tool) => {
    const traceId = hex(16);
    const lines = await errorLines(async () => {
      const result = await call(tool, `00-${traceId}-${hex(8)}-01`);
      expect(result.isError).toBe(true);
    });
    const failed = lines.find((line) => line.event === "tool_failed");
    expect(failed).toMatchObject({ tool, traceId });
  });

  it("is a fresh trace id for a call that carries none, and another for the next call", async () => {
    const lines = await errorLines(async () => {
      await call("fails_later");
      await call("fails_later");
    });
    const ids = lines.filter((line) => line.event === "tool_failed").map((line) => line.traceId);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[1]).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[1]).not.toBe(ids[0]);
  });

  it("does not leak into lines written outside any call", async () => {
    const traceId = hex(16);
    await call("works", `00-${traceId}-${hex(8)}-01`);
    const lines = await errorLines(async () => {
      const { logEvent } = await import("../../worker/observability/log");
      logEvent("error", "outside_any_call");
    });
    expect(lines).toEqual([{ level: "error", event: "outside_any_call" }]);
  });
});
