/**
 * shared/errors.ts: the single mapping from local errors to wire codes and the
 * envelope builders every reply goes through.
 */
import { describe, expect, it } from "vitest";
import {
  asJsonRpcError,
  errorEnvelope,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  type LocalError,
  notificationEnvelope,
  requestEnvelope,
  resultEnvelope,
  toWireError,
} from "../../shared/errors";

describe("toWireError", () => {
  it.each<[LocalError, number, RegExp]>([
    [{ kind: "not_initialized", method: "tools/list" }, INVALID_REQUEST, /initialize.*tools\/list/],
    [
      { kind: "unsupported_version", requested: "2099-01-01", supported: ["2026-07-28"] },
      INVALID_PARAMS,
      /2099-01-01/,
    ],
    [{ kind: "unknown_tool", name: "nope" }, INVALID_PARAMS, /Unknown tool: nope/],
    [
      { kind: "invalid_arguments", tool: "add", issues: "a: expected number" },
      INVALID_PARAMS,
      /add: a: expected number/,
    ],
    [{ kind: "internal", cause: new Error("secret detail") }, INTERNAL_ERROR, /^Internal error$/],
  ])("maps %o to code %i", (local, code, message) => {
    const wire = toWireError(local);
    expect(wire.code).toBe(code);
    expect(wire.message).toMatch(message);
  });

  it("carries the supported versions as data for an unsupported version", () => {
    const wire = toWireError({
      kind: "unsupported_version",
      requested: "x",
      supported: ["2026-07-28", "2025-11-25"],
    });
    expect(wire.data).toEqual({ supported: ["2026-07-28", "2025-11-25"], requested: "x" });
  });
});

describe("asJsonRpcError", () => {
  it("passes a JsonRpcError through unchanged", () => {
    const error = new JsonRpcError(INVALID_PARAMS, "bad");
    expect(asJsonRpcError(error)).toBe(error);
  });

  it.each([new Error("db password is hunter2"), "a string", undefined, { code: -32700 }])(
    "turns %o into -32603 without its details",
    (thrown) => {
      const wire = asJsonRpcError(thrown);
      expect(wire.code).toBe(INTERNAL_ERROR);
      expect(wire.message).toBe("Internal error");
      expect(wire.data).toBeUndefined();
    },
  );
});

describe("envelopes", () => {
  it("builds an error envelope, with data only when present", () => {
    expect(errorEnvelope(1, new JsonRpcError(INVALID_PARAMS, "m"))).toEqual({
      jsonrpc: "2.0",
      id: 1,
      error: { code: INVALID_PARAMS, message: "m" },
    });
    expect(errorEnvelope(null, new JsonRpcError(INVALID_PARAMS, "m", { a: 1 })).error).toEqual({
      code: INVALID_PARAMS,
      message: "m",
      data: { a: 1 },
    });
  });

  it("builds result, notification and request envelopes, omitting absent params", () => {
    expect(resultEnvelope("r", { x: 1 })).toEqual({ jsonrpc: "2.0", id: "r", result: { x: 1 } });
    expect(notificationEnvelope("n")).toEqual({ jsonrpc: "2.0", method: "n" });
    expect(notificationEnvelope("n", { p: 1 })).toEqual({
      jsonrpc: "2.0",
      method: "n",
      params: { p: 1 },
    });
    expect(requestEnvelope(2, "m")).toEqual({ jsonrpc: "2.0", id: 2, method: "m" });
  });
});
