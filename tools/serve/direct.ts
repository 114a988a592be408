/**
 * `npm run serve:direct`: serves a Worker on local workerd through Miniflare's
 * API, without `wrangler dev` and its proxy. Same Worker and bindings as
 * `wrangler dev` (wrangler builds the bundle, `--dry-run`; wrangler reads the
 * config into Miniflare options), local observability and the local explorer
 * off, state persisted under `.wrangler/direct` by default.
 *
 * Why: `wrangler dev` puts a proxy workerd in front of the runtime, and each
 * socket through it costs about 4 more open files; with the 20,000-file
 * process limit here that caps idle sessions near 4.9k. Here the runtime
 * listens on the port itself (about 2 files per hibernated session).
 * No live reload, no inspector, no dev registry.
 *
 * Options: --config FILE (default wrangler.jsonc), --ip, --port (default
 * 127.0.0.1:8787), --persist-to DIR, --var KEY:VALUE (repeatable).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export interface DirectOptions {
  config: string;
  ip: string;
  port: number;
  persistTo: string;
  vars: Record<string, string>;
}

export interface DirectServer {
  url: string;
  dispose(): Promise<void>;
}

export function parseDirectArgs(argv: readonly string[]): DirectOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string", default: "wrangler.jsonc" },
      ip: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8787" },
      "persist-to": { type: "string", default: ".wrangler/direct" },
      var: { type: "string", multiple: true, default: [] },
    },
  });
  const vars: Record<string, string> = {};
  for (const pair of values.var) {
    const at = pair.indexOf(":");
    if (at <= 0) throw new Error(`--var: expected KEY:VALUE, got "${pair}"`);
    vars[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port: "${values.port}"`);
  return { config: values.config, ip: values.ip, port, persistTo: values["persist-to"], vars };
}

/** Builds the Worker with wrangler (no upload) and serves it on workerd via Miniflare. */
export async function serveDirect(options: DirectOptions): Promise<DirectServer> {
  const configPath = resolve(options.config);
  const outDir = mkdtempSync(join(tmpdir(), "dormouse-direct-"));
  try {
    build(configPath, outDir);
    const config = unstable_readConfig({ config: configPath });
    // modulesRules apply to unbundled sources; the bundle is one ES module.
    const { modulesRules: _rules, ...workerOptions } =
      unstable_getMiniflareWorkerOptions(configPath).workerOptions;
    // Miniflare 5 takes a new option shape; wrangler's helpers still speak v4, so convert.
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        host: options.ip,
        port: options.port,
        log: new Log(LogLevel.WARN),
        logRequests: false,
        cf: false,
        resourcePersistencePath: resolve(options.persistTo),
        unsafeObservability: false,
        unsafeLocalExplorer: false,
        unsafeInspectDurableObjects: false,
        handleStructuredLogs: ({ level, message }) => {
          const line = `${message}\n`;
          if (level === "error" || level === "warn") process.stderr.write(line);
          else process.stdout.write(line);
        },
        workers: [
          {
            ...workerOptions,
            name: config.name ?? "worker",
            bindings: { ...(workerOptions.bindings ?? {}), ...options.vars },
            // Module names are paths relative to rootPath, which must contain the bundle.
            rootPath: outDir,
            modules: true,
            scriptPath: bundleIn(outDir),
          },
        ],
      }),
    );
    const url = await mf.ready;
    return {
      url: url.toString().replace(/\/$/, ""),
      async dispose() {
        await mf.dispose();
        rmSync(outDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    throw error;
  }
}

/** wrangler names the bundle after the entry module (`index.js` for `worker/index.ts`). */
function bundleIn(outDir: string): string {
  const scripts = readdirSync(outDir).filter((name) => name.endsWith(".js"));
  const main = scripts.includes("index.js") ? "index.js" : scripts[0];
  if (!main || (scripts.length > 1 && main !== "index.js")) {
    throw new Error(`expected one bundle in ${outDir}, found: ${scripts.join(", ") || "none"}`);
  }
  return join(outDir, main);
}

function build(configPath: string, outDir: string): void {
  const wrangler = join(process.cwd(), "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(
    process.execPath,
    [wrangler, "deploy", "--dry-run", "--config", configPath, "--outdir", outDir],
    {
      encoding: "utf8",
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        NO_COLOR: "1",
      },
      timeout: 120_000,
    },
  );
  if (result.status !== 0) {
    throw new Error(
      `wrangler build failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}
