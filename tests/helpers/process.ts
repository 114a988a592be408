/**
 * Starts the gateway as a real `wrangler dev` process for end-to-end tests.
 *
 * Each gateway gets a free port, a fresh `--persist-to` directory (or the one
 * given as `persistTo`, e.g. to restart on the state of a killed gateway) and its own
 * process group, registered the moment it has a PID (`process-groups.ts`): wrangler
 * runs two workerd children (a proxy and the runtime), and killing the group by PID
 * is the only way to be sure none of them outlives the test file. Local
 * observability is switched off (docs/platform.md, "Local observability": a
 * trace per invocation costs most of the throughput) and no inspector port is
 * fixed, so files can run back to back without port clashes.
 *
 * Every wait is bounded; a gateway that does not answer /healthz in time
 * fails with the tail of its log.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../tools/free-port";
import { killGroupNow, spawnGroup, stopGroup } from "./process-groups";
import { sleep, withTimeout } from "./wait";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WRANGLER_BIN = join(REPO_ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const HOST = "127.0.0.1";

const READY_TIMEOUT_MS = 60_000;
const HEALTH_PROBE_TIMEOUT_MS = 2_000;
/** wrangler and then its workerd children shut down on SIGTERM; SIGKILL after this. */
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_CHARS = 8_000;
/** Bound on the whole log kept for tests that search every line (e.g. for leaked secrets). */
const FULL_LOG_CHARS = 16 * 1024 * 1024;

export interface GatewayOptions {
  /** Passed as `--var KEY:VALUE` (e.g. `{ TOOLSETS: "default,extras" }`). */
  vars?: Record<string, string>;
  readyTimeoutMs?: number;
  /** The /healthz status that means "started" (503 for a gateway started misconfigured on purpose). */
  readyStatus?: number;
  /** Persist state here instead of a fresh temporary directory (created if missing). */
  persistTo?: string;
  /** Leave the persistence directory in place on stop (default: remove it). */
  keepState?: boolean;
  /** Listen here (e.g. a port chosen first so PUBLIC_URL can name it); default: a free one. */
  port?: number;
}

export interface Gateway {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  port: number;
  /** PID of wrangler, which leads the process group. */
  pid: number;
  /** The last few KiB of wrangler's stdout and stderr. */
  logTail(): string;
  /** Everything wrangler printed (stdout and stderr), up to FULL_LOG_CHARS. */
  fullLog(): string;
  /** The `--persist-to` directory. */
  persistDir: string;
  /** Kills the whole process group and removes the persistence directory (unless keepState); idempotent. */
  stop(): Promise<void>;
  /**
   * SIGKILLs the whole process group at once (wrangler and both workerd
   * children: no chance to flush or shut down), waits until every member is
   * gone, and leaves the persistence directory untouched.
   */
  crash(): Promise<void>;
}

/**
 * A port where no server answers, held for as long as the test needs it: every
 * connection is reset as soon as it is accepted, so a client sees the same
 * network error as from a closed port. A port from freePort() is released at
 * once, and a gateway started next may take it (and answer 404 there).
 */
export interface DeadPort {
  port: number;
  close(): Promise<void>;
}

export function deadPort(): Promise<DeadPort> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.resetAndDestroy());
    server.unref();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      if (port === 0) return reject(new Error("no port assigned"));
      resolve({
        port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** Tries with a fresh port after the one freePort() gave was taken before wrangler bound it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts `wrangler dev` and waits until it is healthy. freePort() releases its
 * port before wrangler binds it, so another explicit choice (another test
 * file's freePort) can still take it first, rarely; wrangler then exits with
 * "Address already in use" and, unless the caller chose the port, another is tried.
 */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startGatewayOnce(options);
    } catch (error) {
      const taken = error instanceof Error && error.message.includes("Address already in use");
      if (!taken || options.port !== undefined || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

async function startGatewayOnce(options: GatewayOptions): Promise<Gateway> {
  const port = options.port ?? (await freePort());
  const persistDir = options.persistTo ?? (await mkdtemp(join(tmpdir(), "dormouse-e2e-")));
  if (options.persistTo) await mkdir(options.persistTo, { recursive: true });
  const removeState = () =>
    options.keepState
      ? Promise.resolve()
      : rm(persistDir, { recursive: true, force: true, maxRetries: 3 });
  const args = [
    WRANGLER_BIN,
    "dev",
    "--ip",
    HOST,
    "--port",
    String(port),
    // 0 lets the OS pick: no clash with another gateway or a developer's debugger.
    "--inspector-port",
    "0",
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
  ];
  for (const [key, value] of Object.entries(options.vars ?? {}))
    args.push("--var", `${key}:${value}`);

  let child: ReturnType<typeof spawnGroup>;
  try {
    child = spawnGroup(`wrangler dev on port ${port}`, process.execPath, args, {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        X_LOCAL_OBSERVABILITY: "false",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
        CI: "1",
      },
    });
  } catch (error) {
    await removeState();
    throw error;
  }
  const pid = child.pid;
  const logTail = captureLog(child);
  let full = "";
  const keep = (chunk: Buffer) => {
    if (full.length < FULL_LOG_CHARS) full += chunk.toString("utf8");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  let stopped: Promise<void> | undefined;
  const gateway: Gateway = {
    url: `http://${HOST}:${port}`,
    wsUrl: `ws://${HOST}:${port}`,
    port,
    pid,
    persistDir,
    logTail,
    fullLog: () => full,
    stop() {
      stopped ??= (async () => {
        await stopGroup(pid, STOP_GRACE_MS);
        await removeState();
      })();
      return stopped;
    },
    async crash() {
      await killGroupNow(pid);
      stopped ??= Promise.resolve();
    },
  };

  try {
    await waitUntilHealthy(
      gateway,
      child,
      options.readyTimeoutMs ?? READY_TIMEOUT_MS,
      options.readyStatus ?? 200,
    );
  } catch (error) {
    await gateway.stop();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason}\n--- wrangler dev log tail ---\n${gateway.logTail()}`);
  }
  return gateway;
}

async function waitUntilHealthy(
  gateway: Gateway,
  child: ChildProcess,
  timeoutMs: number,
  readyStatus: number,
): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`wrangler dev exited early (code ${code}, signal ${signal})`)),
    );
  });
  exited.catch(() => {}); // Observed through the race below; avoid an unhandled rejection.
  let lastAnswer = "no answer";
  const healthy = (async () => {
    for (;;) {
      try {
        const response = await fetch(`${gateway.url}/healthz`, {
          signal: AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS),
        });
        if (response.status === readyStatus) {
          await response.body?.cancel();
          return;
        }
        lastAnswer = `${response.status}: ${(await response.text()).slice(0, 200)}`;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null || child.signalCode !== null) return;
      await sleep(200);
    }
  })();
  await withTimeout(
    Promise.race([healthy, exited]),
    timeoutMs,
    `GET ${gateway.url}/healthz to answer ${readyStatus}`,
  ).catch((error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${reason} (last /healthz answer: ${lastAnswer})`);
  });
}

/** Keeps the last LOG_TAIL_CHARS of a spawned process's stdout and stderr. */
export function captureLog(child: ChildProcess): () => string {
  let log = "";
  const capture = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-LOG_TAIL_CHARS);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  return () => log;
}
