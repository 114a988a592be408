/**
 * Where the other tool bundles are. `npm run build:tools` bundles every entry
 * point (bench, load, serve-direct, ws-echo-server, profile) into one
 * directory, so a bundle finds its siblings next to itself, wherever that
 * directory is (.bench/dist for the npm scripts, a temporary one in tests).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function bundle(name: "load" | "serve-direct" | "ws-echo-server"): string {
  return join(dirname(fileURLToPath(import.meta.url)), `${name}.mjs`);
}
