/**
 * LOG_LEVEL: the least severity of the gateway's own log lines. One JSON line
 * per event at or above it, on the console method of its severity; nothing
 * below it; an unknown value keeps `info` and says so to its caller.
 */
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { logEvent, setLogLevel } from "../../worker/observability/log";

let out: { log: MockInstance; warn: MockInstance; error: MockInstance };

beforeEach(() => {
  out = {
    log: vi.spyOn(console, "log").mockImplementation(() => {}),
    warn: vi.spyOn(console, "warn").mockImplementation(() => {}),
    error: vi.spyOn(console, "error").mockImplementation(() => {}),
  };
});

afterEach(() => {
  vi.restoreAllMocks();
  setLogLevel(undefined);
});

function everySeverity(): string[] {
  logEvent("debug", "d");
  logEvent("info", "i");
  logEvent("warn", "w");
  logEvent("error", "e");
  return [...out.log.mock.calls, ...out.warn.mock.calls, ...out.error.mock.calls].map(
    ([line]) => (JSON.parse(String(line)) as { event: string }).event,
  );
}

describe("LOG_LEVEL", () => {
  it("writes info and above when unset", () => {
    expect(setLogLevel(undefined)).toBe(true);
    expect(everySeverity().sort()).toEqual(["e", "i", "w"]);
    expect(out.warn).toHaveBeenCalledTimes(1);
    expect(out.error).toHaveBeenCalledTimes(1);
  });

  it("writes only warnings and errors at warn, everything at debug (any case, spaces trimmed)", () => {
    expect(setLogLevel(" WARN ")).toBe(true);
    expect(everySeverity().sort()).toEqual(["e", "w"]);
    vi.clearAllMocks();
    expect(setLogLevel("debug")).toBe(true);
    expect(everySeverity().sort()).toEqual(["d", "e", "i", "w"]);
  });

  it("keeps info for an unknown value and answers false", () => {
    setLogLevel("error");
    expect(setLogLevel("verbose")).toBe(false);
    expect(setLogLevel("constructor")).toBe(false);
    expect(everySeverity().sort()).toEqual(["e", "i", "w"]);
  });
});
