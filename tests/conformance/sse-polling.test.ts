/**
 * SSE polling and resumption (SEP-1699, spec 2025-11-25) as the official suite
 * checks them: conformance 0.2.0-alpha's `server-sse-polling` scenario against
 * a real gateway. Its `test_reconnection` tool ends its own reply stream
 * mid-call; the suite's client resumes with Last-Event-ID and must get the
 * result. Each check must pass outright (a WARNING is how the scenario reports
 * a server without resumability, so it is not accepted here).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { NEXT_CLI, runSuite } from "./suite";

const SUITE_TIMEOUT_MS = 120_000;
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({ vars: { TOOLSETS: "conformance,default" } });
});

afterAll(async () => {
  await gateway?.stop();
});

it(
  "passes server-sse-polling: priming event, retry field, and the result after a Last-Event-ID resume",
  async () => {
    const run = await runSuite(
      NEXT_CLI,
      [
        "server",
        "--url",
        `${gateway.url}/mcp`,
        "--scenario",
        "server-sse-polling",
        "--spec-version",
        "2025-11-25",
      ],
      SUITE_TIMEOUT_MS,
    );
    const checks = run.scenarios.get("server-sse-polling") ?? [];
    const status = (id: string) => checks.find((check) => check.id === id)?.status;
    expect(status("server-sse-priming-event"), run.output.slice(-2000)).toBe("SUCCESS");
    expect(status("server-sse-retry-field")).toBe("SUCCESS");
    expect(status("server-sse-disconnect-resume")).toBe("SUCCESS");
    expect(checks.filter((check) => check.status === "FAILURE")).toEqual([]);
  },
  SUITE_TIMEOUT_MS + 10_000,
);
