/**
 * Builds the `dormouse` command: client/bin.ts and everything it imports
 * (client/, shared/, the `ws` package) bundled by esbuild into one ES module,
 * client/dist/dormouse.mjs, for Node 20 and later (no type stripping needed,
 * no runtime dependency). Plain JavaScript so that any Node can run it.
 *
 * Run by `npm install` (the "prepare" script) and before `npm test`; the bin
 * entry (bin/dormouse.mjs) calls `ensureBuilt()`, which rebuilds only when the
 * bundle is missing or older than a source file.
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BUNDLE = join(ROOT, "client", "dist", "dormouse.mjs");
const SOURCE_DIRS = [join(ROOT, "client"), join(ROOT, "shared")];

/** Newest modification time of the sources the bundle is made of (ms). */
function newestSourceMs() {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".ts")) continue;
      newest = Math.max(newest, statSync(join(dir, name)).mtimeMs);
    }
  }
  return newest;
}

function bundleMs() {
  try {
    return statSync(BUNDLE).mtimeMs;
  } catch {
    return -1;
  }
}

export async function build() {
  const { build: esbuild } = await import("esbuild");
  mkdirSync(dirname(BUNDLE), { recursive: true });
  await esbuild({
    entryPoints: [join(ROOT, "client", "bin.ts")],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    // ws is CommonJS and requires Node's built-ins: give the ES module a require.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    // Optional native speed-ups ws tries to load; it works without them.
    external: ["bufferutil", "utf-8-validate"],
    legalComments: "none",
    logLevel: "warning",
  });
}

/**
 * The bundle's path, built first when it is missing or older than its sources
 * (a clone installed with --ignore-scripts, or a source edit). Without esbuild
 * installed, an existing bundle is used as it is.
 */
export async function ensureBuilt() {
  const built = bundleMs();
  if (built >= 0 && built >= newestSourceMs()) return BUNDLE;
  try {
    await build();
  } catch (error) {
    if (built < 0) {
      throw new Error(
        `client/dist/dormouse.mjs is missing and could not be built (${error instanceof Error ? error.message : error}); run npm install in ${ROOT}`,
      );
    }
  }
  return BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build();
}
