/**
 * The servers a benchmark run measures, each started fresh as its own process
 * group and stopped by PID: a Worker through `wrangler dev` (the `npm start`
 * path, two workerd processes), the same Worker through `serve:direct`
 * (Miniflare, one workerd), the plain Node `ws` echo server, and the stateful
 * upstream MCP server the federation rows relay to. Every wait is bounded;
 * local observability is off everywhere (docs/platform.md, "Local observability").
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../tools/free-port";
import { pause } from "../tools/load/pacing";
import { bundle } from "./bundles";

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;
const LOG_TAIL_CHARS = 4_000;

export interface RunningTarget {
  name: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The leader of its process group: every process the server started is in that group. */
  pid: number;
  logTail(): string;
  stop(): Promise<void>;
}

export const QUIET_ENV = {
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  X_LOCAL_OBSERVABILITY: "false",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
  CI: "1",
};

export async function startWranglerDev(
  name: string,
  config: string,
  vars: Record<string, string> = {},
  inspectorPort = 0,
): Promise<RunningTarget> {
  const port = await freePort();
  const persist = await mkdtemp(join(tmpdir(), "dormouse-bench-"));
  const args = [
    join("node_modules", "wrangler", "bin", "wrangler.js"),
    "dev",
    "--config",
    config,
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persist,
    "--show-interactive-dev-session=false",
  ];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  return launch(name, args, { port, persist });
}

export async function startDirect(
  name: string,
  config: string,
  vars: Record<string, string> = {},
): Promise<RunningTarget> {
  const port = await freePort();
  const persist = await mkdtemp(join(tmpdir(), "dormouse-bench-"));
  const args = [bundle("serve-direct"), "--config", config, "--port", String(port)];
  args.push("--persist-to", persist);
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  return launch(name, args, { port, persist });
}

export async function startWsEcho(): Promise<RunningTarget> {
  const port = await freePort();
  return launch("node ws", [bundle("ws-echo-server"), "--port", String(port)], {
    port,
    readyLine: `listening ${port}`,
  });
}

/**
 * The stateful upstream of the federation tests (`script`: its path, run by
 * Node's type stripping); `url` is its MCP endpoint. Like the tests
 * (tests/helpers/upstream.ts) it gets a minimal environment, not ours.
 */
export async function startStatefulUpstream(script: string): Promise<RunningTarget> {
  const port = await freePort();
  const target = await launch("stateful upstream", [script, "--port", String(port)], {
    port,
    readyLine: `stateful-upstream listening on ${port}`,
    env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  return { ...target, url: `${target.url}/mcp` };
}

interface LaunchOptions {
  port: number;
  /** Removed once the process is stopped. */
  persist?: string;
  /** Ready when this text appears in its output; otherwise when `/healthz` answers 200. */
  readyLine?: string;
  /** The whole environment; by default ours plus QUIET_ENV. */
  env?: NodeJS.ProcessEnv;
}

async function launch(
  name: string,
  args: string[],
  options: LaunchOptions,
): Promise<RunningTarget> {
  const { port, persist } = options;
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: options.env ?? { ...process.env, ...QUIET_ENV },
  });
  let log = "";
  const capture = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn gave no PID`);
  // On an abrupt exit (a signal, process.exit) there is no time to wait: kill and clean up now.
  const killOnExit = () => {
    killGroup(pid, "SIGKILL");
    if (persist) rmSync(persist, { recursive: true, force: true });
  };
  process.once("exit", killOnExit);
  let stopped: Promise<void> | undefined;
  const target: RunningTarget = {
    name,
    url: `http://${HOST}:${port}`,
    port,
    pid,
    logTail: () => log,
    stop() {
      stopped ??= (async () => {
        process.off("exit", killOnExit);
        await stopGroup(child, pid);
        if (persist) await rm(persist, { recursive: true, force: true, maxRetries: 3 });
      })();
      return stopped;
    },
  };
  try {
    await waitReady(target, child, options.readyLine);
  } catch (error) {
    await target.stop();
    throw new Error(`${name} did not start: ${String(error)}\n${log}`);
  }
  return target;
}

async function waitReady(
  target: RunningTarget,
  child: ChildProcess,
  readyLine: string | undefined,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error("exited early");
    if (readyLine !== undefined) {
      if (target.logTail().includes(readyLine)) return;
    } else {
      try {
        const response = await fetch(`${target.url}/healthz`, {
          signal: AbortSignal.timeout(2_000),
        });
        await response.body?.cancel();
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
    }
    await pause(200);
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS} ms`);
}

async function stopGroup(child: ChildProcess, pid: number | undefined): Promise<void> {
  if (pid === undefined || !groupAlive(pid)) return;
  killGroup(pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pid) && Date.now() < deadline) await pause(100);
  if (groupAlive(pid)) killGroup(pid, "SIGKILL");
  if (child.exitCode === null && child.signalCode === null) {
    await Promise.race([
      new Promise((resolve) => child.once("exit", resolve)),
      pause(STOP_GRACE_MS),
    ]);
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
