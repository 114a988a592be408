/**
 * `npm run profile`: where the time goes in a warm tool call and in a wake.
 * Starts Dormouse under `wrangler dev` with an inspector port, drives it with
 * the load generator, and records a V8 CPU profile of the Worker's isolate
 * (Chrome DevTools protocol, `Profiler.start`/`stop`) during exactly one
 * phase: the steady `echo` mix (warm) or the first calls after idling (wake).
 * The warm phase is profiled over WebSocket, over session-era Streamable HTTP
 * and over stateless 2026-07-28 HTTP, one after the other, then WebSocket
 * session setup (`setup`: the load tool's connect phase, `--wake-sessions` of
 * them) and the wake (`--phases` picks).
 * Prints the functions with the most self and inclusive time and saves the
 * raw `.cpuprofile` files (open them in Chrome DevTools) under .bench/profiles/.
 *
 *   npm run profile -- [--seconds 5] [--wake-sessions 300] [--config wrangler.jsonc]
 *                      [--phases warm,http,stateless,setup,wake]
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePort } from "../tools/free-port";
import { pause } from "../tools/load/pacing";
import { bundle } from "./bundles";
import { startWranglerDev } from "./targets";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

const TOP = 25;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "5" },
      "wake-sessions": { type: "string", default: "300" },
      config: { type: "string", default: "wrangler.jsonc" },
      phases: { type: "string", default: "warm,http,stateless,setup,wake" },
    },
  });
  const phases = new Set(values.phases.split(",").map((p) => p.trim()));
  const inspectorPort = await freePort();
  const target = await startWranglerDev(
    "Dormouse",
    values.config,
    { RATE_LIMIT_PER_SECOND: "0", STATELESS_RATE_LIMIT_PER_SECOND: "0" },
    inspectorPort,
  );
  const outDir = join(".bench", "profiles");
  await mkdir(outDir, { recursive: true });
  try {
    const cdp = await Cdp.connect(inspectorPort);
    try {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
      const warm = (extra: string[]) => [
        "--url",
        target.url,
        ...extra,
        "--sessions",
        "1",
        "--concurrency",
        "1",
        "--duration",
        values.seconds,
      ];
      const runs: [string, string, string[]][] = [
        ["warm", "warm tools/call echo over WebSocket, 1 session", []],
        ["http", "warm tools/call echo over session-era HTTP, 1 session", ["--transport", "http"]],
        [
          "stateless",
          "warm tools/call echo over stateless 2026-07-28 HTTP, 1 client",
          ["--transport", "http", "--protocol", "stateless"],
        ],
      ];
      for (const [phase, title, extra] of runs) {
        if (!phases.has(phase)) continue;
        const profile = await profilePhase(cdp, warm(extra), "warm", "close");
        await report(title, profile, join(outDir, `${phase}.cpuprofile`));
      }
      if (phases.has("setup")) {
        const n = values["wake-sessions"];
        const setupArgs = ["--url", target.url, "--sessions", n, "--concurrency", "8"];
        setupArgs.push("--duration", "1");
        const setup = await profilePhase(cdp, setupArgs, "connect", "warm");
        await report(
          `session setup over WebSocket (upgrade, initialize, initialized), ${n} sessions`,
          setup,
          join(outDir, "setup.cpuprofile"),
        );
      }
      if (!phases.has("wake")) return;
      const n = values["wake-sessions"];
      const wakeArgs = [
        "--url",
        target.url,
        "--sessions",
        n,
        "--concurrency",
        "16",
        "--idle",
        "12",
      ];
      wakeArgs.push("--wake-sample", n, "--no-verify-wakes");
      const wake = await profilePhase(cdp, wakeArgs, "wake", "close");
      await report(
        `first call after hibernation, ${n} sessions`,
        wake,
        join(outDir, "wake.cpuprofile"),
      );
    } finally {
      cdp.close();
    }
  } finally {
    await target.stop();
  }
}

/** Runs the load tool and profiles from the line announcing `startPhase` to the one announcing `stopPhase`. */
async function profilePhase(
  cdp: Cdp,
  args: string[],
  startPhase: string,
  stopPhase: string,
): Promise<CpuProfile> {
  const child = spawn(process.execPath, [bundle("load"), ...args, "--max-runtime", "300"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let profiling = false;
  let profile: Promise<CpuProfile> | null = null;
  let buffer = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (!profiling && line.startsWith(startPhase)) {
        profiling = true;
        cdp.send("Profiler.start").catch(() => {});
      } else if (profiling && !profile && line.startsWith(stopPhase)) {
        profile = cdp.send("Profiler.stop").then((r) => (r as { profile: CpuProfile }).profile);
      }
    }
  });
  await new Promise((resolve) => child.once("exit", resolve));
  if (!profile) throw new Error(`the load run never reached "${startPhase}" then "${stopPhase}"`);
  return profile;
}

async function report(title: string, profile: CpuProfile, file: string): Promise<void> {
  await writeFile(file, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const sampleCount =
    profile.samples?.length ?? profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const msPerSample = sampleCount > 0 ? totalMs / sampleCount : 0;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const subtree = (node: ProfileNode, seen: Set<string>): number => {
    let hits = node.hitCount ?? 0;
    for (const id of node.children ?? []) {
      const child = byId.get(id);
      if (child) hits += subtree(child, new Set(seen).add(keyOf(node)));
    }
    const key = keyOf(node);
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
    if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + hits);
    return hits;
  };
  const root = profile.nodes[0];
  if (root) subtree(root, new Set());
  const idle = (self.get("(idle)") ?? 0) * msPerSample;
  process.stdout.write(
    `\n## ${title}\n\nprofiled ${totalMs.toFixed(0)} ms, of which idle ${idle.toFixed(0)} ms; saved ${file}\n\n`,
  );
  const busy = Math.max(1, totalMs - idle);
  const table = (name: string, map: Map<string, number>) => {
    process.stdout.write(`${name} (ms, % of busy time)\n`);
    const rows = [...map].filter(
      ([k]) => !k.startsWith("(idle)") && !k.startsWith("(root)") && !k.startsWith("(program)"),
    );
    for (const [key, hits] of rows.sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
      const ms = hits * msPerSample;
      process.stdout.write(
        `  ${ms.toFixed(1).padStart(8)}  ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${key}\n`,
      );
    }
  };
  table("self time", self);
  table("inclusive time", inclusive);
  const program = (self.get("(program)") ?? 0) * msPerSample;
  const gc = (self.get("(garbage collector)") ?? 0) * msPerSample;
  process.stdout.write(
    `  (program, i.e. runtime outside JS: ${program.toFixed(0)} ms; GC ${gc.toFixed(0)} ms)\n`,
  );
}

function keyOf(node: ProfileNode): string {
  const f = node.callFrame;
  const file = f.url ? f.url.split("/").pop() : "";
  return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
}

/** A minimal Chrome DevTools protocol client over the inspector WebSocket. */
class Cdp {
  #nextId = 1;
  #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString()) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      const waiter = message.id === undefined ? undefined : this.#waiting.get(message.id);
      if (!waiter || message.id === undefined) return;
      this.#waiting.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    });
  }

  static async connect(port: number): Promise<Cdp> {
    let url: string | undefined;
    for (let attempt = 0; attempt < 50 && !url; attempt++) {
      try {
        const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
          webSocketDebuggerUrl?: string;
        }[];
        url = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
      } catch {
        // The inspector proxy is not up yet.
      }
      if (!url) await pause(200);
    }
    if (!url) throw new Error(`no inspector target on port ${port}`);
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Cdp(ws);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), 30_000);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
