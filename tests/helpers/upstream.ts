/**
 * Starts real upstream MCP servers on localhost for the gateway's federation
 * tests: our own stateful upstream (`tests/upstreams/stateful-upstream.ts`,
 * run by Node's type stripping) and the reference server-everything over
 * Streamable HTTP.
 *
 * Conventions follow `process.ts`: each upstream runs in its own process group,
 * registered the moment it has a PID (`process-groups.ts`), and is killed by
 * group; every wait is bounded and a failure carries the tail of the upstream's log. An upstream is ready when its
 * TCP port accepts connections. `stop()` returns only once the group is gone
 * and the port can be bound again, so a restart on the same port (pass
 * `port`) reaches the new process, not a dying one. Upstreams get a minimal
 * environment (PATH plus what they need), never the test runner's.
 */
import type { ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../tools/free-port";
import { captureLog } from "./process";
import { spawnGroup, stopGroup } from "./process-groups";
import { sleep, withTimeout } from "./wait";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const STATEFUL_SCRIPT = join(REPO_ROOT, "tests", "upstreams", "stateful-upstream.ts");
const OAUTH_PROVIDER_SCRIPT = join(REPO_ROOT, "tests", "upstreams", "oauth-provider.ts");
const OAUTH_UPSTREAM_SCRIPT = join(REPO_ROOT, "tests", "upstreams", "oauth-upstream.ts");
const EVERYTHING_SCRIPT = join(
  REPO_ROOT,
  "node_modules",
  "@modelcontextprotocol",
  "server-everything",
  "dist",
  "index.js",
);
const HOST = "127.0.0.1";

const READY_TIMEOUT_MS = 20_000;
const CONNECT_PROBE_TIMEOUT_MS = 1_000;
const PORT_RELEASE_TIMEOUT_MS = 5_000;

export type StatefulMode =
  | "normal"
  | "garbage"
  | "hang"
  | "chatty"
  | "busy"
  | "redirect"
  | "stall-replies";

export interface UpstreamProcess {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string;
  port: number;
  /** PID of the upstream, which leads its process group. */
  pid: number;
  /** The last few KiB of its stdout and stderr. */
  logTail(): string;
  /** Kills the process group, waits until it is gone and the port is free; idempotent. */
  stop(): Promise<void>;
}

interface UpstreamSpec {
  label: string;
  port: number;
  args: string[];
  env?: Record<string, string>;
}

/** Our stateful upstream; pass `port` to restart one on the port it had. */
export async function startStatefulUpstream(
  options: {
    port?: number;
    mode?: StatefulMode;
    /** `name=value`: every request without this header gets 401. */
    requireHeader?: string;
    /** Mode `redirect`: where every request is sent (307). */
    redirectTo?: string;
  } = {},
): Promise<UpstreamProcess> {
  const port = options.port ?? (await freePort());
  const mode = options.mode ?? "normal";
  const guard = options.requireHeader ? ["--require-header", options.requireHeader] : [];
  if (options.redirectTo) guard.push("--redirect-to", options.redirectTo);
  return startUpstream({
    label: `stateful-upstream (${mode})`,
    port,
    args: [STATEFUL_SCRIPT, "--port", String(port), "--mode", mode, ...guard],
  });
}

/**
 * server-everything over Streamable HTTP. It listens on every interface (not
 * only loopback) and takes its port from `PORT`.
 */
export async function startEverything(options: { port?: number } = {}): Promise<UpstreamProcess> {
  const port = options.port ?? (await freePort());
  return startUpstream({
    label: "server-everything",
    port,
    args: [EVERYTHING_SCRIPT, "streamableHttp"],
    env: { PORT: String(port) },
  });
}

/** The tests' authorization server (oidc-provider); `url` is its issuer. */
export async function startOAuthProvider(
  options: {
    accessTtlSeconds?: number;
    client?: { id: string; secret: string; redirectUri: string };
  } = {},
): Promise<UpstreamProcess> {
  const port = await freePort();
  const client = options.client
    ? ["--client", `${options.client.id}:${options.client.secret}:${options.client.redirectUri}`]
    : [];
  const started = await startUpstream({
    label: "oauth-provider",
    port,
    args: [
      OAUTH_PROVIDER_SCRIPT,
      "--port",
      String(port),
      "--access-ttl",
      String(options.accessTtlSeconds ?? 60),
      ...client,
    ],
  });
  return { ...started, url: `http://${HOST}:${port}` };
}

/** An MCP server that accepts only `issuer`'s tokens (whoami, trace); `resource` lies in its metadata. */
export async function startOAuthUpstream(options: {
  issuer: string;
  resource?: string;
}): Promise<UpstreamProcess> {
  const port = await freePort();
  const resource = options.resource ? ["--resource", options.resource] : [];
  return startUpstream({
    label: "oauth-upstream",
    port,
    args: [OAUTH_UPSTREAM_SCRIPT, "--port", String(port), "--issuer", options.issuer, ...resource],
  });
}

async function startUpstream(spec: UpstreamSpec): Promise<UpstreamProcess> {
  const child = spawnGroup(`${spec.label} on port ${spec.port}`, process.execPath, spec.args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // A minimal environment: server-everything's `get-env` tool returns its whole
    // environment to any client, so the runner's variables must not reach it.
    env: { PATH: process.env.PATH ?? "", ...spec.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const pid = child.pid;
  const logTail = captureLog(child);

  let stopped: Promise<void> | undefined;
  const upstream: UpstreamProcess = {
    url: `http://${HOST}:${spec.port}/mcp`,
    port: spec.port,
    pid,
    logTail,
    stop() {
      stopped ??= (async () => {
        await stopGroup(pid);
        await waitUntilPortFree(spec.port, PORT_RELEASE_TIMEOUT_MS);
      })();
      return stopped;
    },
  };

  try {
    await waitUntilListening(spec, child, READY_TIMEOUT_MS);
  } catch (error) {
    await upstream.stop().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason}\n--- ${spec.label} log tail ---\n${logTail()}`);
  }
  return upstream;
}

async function waitUntilListening(
  spec: UpstreamSpec,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`${spec.label} exited early (code ${code}, signal ${signal})`)),
    );
  });
  exited.catch(() => {}); // Observed through the race below; avoid an unhandled rejection.
  const listening = (async () => {
    while (!(await portAccepts(spec.port))) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `${spec.label} exited early (code ${child.exitCode}, signal ${child.signalCode})`,
        );
      await sleep(50);
    }
  })();
  await withTimeout(
    Promise.race([listening, exited]),
    timeoutMs,
    `${spec.label} to accept connections on ${HOST}:${spec.port}`,
  );
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(CONNECT_PROBE_TIMEOUT_MS);
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

function portBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

async function waitUntilPortFree(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portBindable(port))) {
    if (Date.now() >= deadline) throw new Error(`port ${port} still bound after ${timeoutMs} ms`);
    await sleep(50);
  }
}
