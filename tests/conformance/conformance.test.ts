/**
 * The official MCP conformance suite against a real gateway (wrangler dev with
 * TOOLSETS=default,conformance): 0.1.16 `--suite all` (session era, every
 * scenario must pass) and 0.2.0-alpha `--requirements 2026-07-28` (every
 * scored scenario must pass; the tasks extension is not scored).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { failures, NEXT_CLI, runSuite, STABLE_CLI } from "./suite";

const SUITE_TIMEOUT_MS = 240_000;

describe("official conformance suite", () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startGateway({ vars: { TOOLSETS: "default,conformance" } });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it(
    "passes every scenario of 0.1.16 --suite all",
    async () => {
      const run = await runSuite(
        STABLE_CLI,
        ["server", "--url", `${gateway.url}/mcp`, "--suite", "all"],
        SUITE_TIMEOUT_MS,
      );
      expect(failures(run), run.output.slice(-3000)).toEqual([]);
      expect(run.scenarios.size).toBeGreaterThanOrEqual(32);
      expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    },
    SUITE_TIMEOUT_MS + 10_000,
  );

  it(
    "passes every scored scenario of 0.2.0-alpha --requirements 2026-07-28",
    async () => {
      const run = await runSuite(
        NEXT_CLI,
        ["server", "--url", `${gateway.url}/mcp`, "--requirements", "2026-07-28"],
        SUITE_TIMEOUT_MS,
      );
      expect(run.exitCode, run.output.slice(-3000)).toBe(0);
    },
    SUITE_TIMEOUT_MS + 10_000,
  );
});
