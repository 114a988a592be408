import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { processGroups } from "./tests/setup/config.ts";

// Four projects: "workers" runs inside workerd (router, storage, the session
// object, hibernation); "node" runs pure code and end-to-end tests that start
// `wrangler dev` as a real process; "browser" drives the inspector page in the
// Chromium from the npm package @sparticuz/chromium (or CHROMIUM_PATH);
// "conformance" runs the official MCP conformance suite against a real gateway
// (`npm run test:conformance`).
//
// The three that start processes share `processGroups` (tests/setup/config.ts):
// each file stops what it left running, and the run fails, naming it, if a
// process group the tests started is still alive at its end.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
          }),
        ],
        test: {
          name: "workers",
          include: ["tests/workers/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          ...processGroups,
          include: ["tests/node/**/*.test.ts", "tests/e2e/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "browser",
          environment: "node",
          ...processGroups,
          include: ["tests/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "conformance",
          environment: "node",
          ...processGroups,
          include: ["tests/conformance/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
