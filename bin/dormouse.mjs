#!/usr/bin/env node
/**
 * `npx dormouse` (package.json "bin"). Runs client/dist/dormouse.mjs, the
 * esbuild bundle of client/bin.ts that `npm install` and `npm test` build
 * (client/build.mjs); it is rebuilt here first if it is missing or older than
 * its sources. Works on Node 20 and later: nothing here needs type stripping.
 */
import { pathToFileURL } from "node:url";
import { ensureBuilt } from "../client/build.mjs";

const bundle = await ensureBuilt();
await import(pathToFileURL(bundle).href);
