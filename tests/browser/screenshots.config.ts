import { defineConfig } from "vitest/config";
import { processGroups } from "../setup/config.ts";

// `npm run screenshots`: regenerates docs/inspector-*.png; not part of `npm test`.
export default defineConfig({
  test: {
    name: "screenshots",
    root: new URL("../..", import.meta.url).pathname,
    environment: "node",
    ...processGroups,
    include: ["tests/browser/screenshots.run.ts"],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
