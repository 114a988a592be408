/**
 * The servers of the interleaved comparisons, per path, and the endpoints
 * each lane calls. A path is how a Worker is served locally: `wrangler` (the
 * `npm start` path: wrangler's proxy workerd in front of the runtime workerd)
 * or `direct` (`npm run serve:direct`: Miniflare, workerd listens itself).
 *
 * The pool starts the servers a path needs all at once, keeps them while the
 * sections measure that path, and stops them (by process group) before the
 * next path starts, so only one path's servers compete for the 2 cores. The
 * Node `ws` floor has no path; it is started once and kept.
 */
import { CpuProbe } from "./cpu";
import { type RunningTarget, startDirect, startWranglerDev, startWsEcho } from "./targets";

export type BenchPath = "wrangler" | "direct";
export const PATHS: readonly BenchPath[] = ["wrangler", "direct"];
export const PATH_LABELS: Record<BenchPath, string> = {
  wrangler: "wrangler dev",
  direct: "serve:direct",
};

/** Dormouse; the floors Worker (bench/bare-object); the McpAgent peer; the Node `ws` echo server. */
export type ServerKind = "dormouse" | "floors" | "mcpagent" | "nodews";

export interface Server {
  kind: ServerKind;
  target: RunningTarget;
  /** null where /proc cannot be read (not Linux). */
  cpu: CpuProbe | null;
}

export interface ServerConfigs {
  dormouse: string;
  floors: string;
  mcpagent: string;
  /** Worker vars for Dormouse (its rate limits off). */
  dormouseVars: Record<string, string>;
  /** The stateful upstream MCP server of the federation rows (a script run by Node). */
  upstream: string;
}

const NAMES: Record<ServerKind, string> = {
  dormouse: "Dormouse",
  floors: "floors",
  mcpagent: "McpAgent",
  nodews: "Node ws",
};

export class ServerPool {
  #path: BenchPath | null = null;
  #servers = new Map<ServerKind, Server>();

  constructor(private readonly configs: ServerConfigs) {}

  /** The servers of `kinds` on `path`, starting what is missing (stopping the other path's first). */
  async use(path: BenchPath, kinds: readonly ServerKind[]): Promise<Map<ServerKind, Server>> {
    if (this.#path !== path) {
      await this.#stop((kind) => kind !== "nodews");
      this.#path = path;
    }
    const missing = kinds.filter((kind) => !this.#servers.has(kind));
    const started = await Promise.allSettled(missing.map((kind) => this.#start(kind, path)));
    for (const result of started)
      if (result.status === "fulfilled") this.#servers.set(result.value.kind, result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return new Map(kinds.map((kind) => [kind, this.#servers.get(kind) as Server]));
  }

  /** Stops every server. */
  stopAll(): Promise<void> {
    this.#path = null;
    return this.#stop(() => true);
  }

  async #start(kind: ServerKind, path: BenchPath): Promise<Server> {
    const c = this.configs;
    const name = `${NAMES[kind]} (${kind === "nodews" ? "node" : PATH_LABELS[path]})`;
    let target: RunningTarget;
    if (kind === "nodews") target = await startWsEcho();
    else {
      const config = kind === "dormouse" ? c.dormouse : kind === "floors" ? c.floors : c.mcpagent;
      const vars = kind === "dormouse" ? c.dormouseVars : {};
      target =
        path === "wrangler"
          ? await startWranglerDev(name, config, vars)
          : await startDirect(name, config, vars);
    }
    const cpu = process.platform === "linux" ? new CpuProbe(target.pid, target.port) : null;
    return { kind, target, cpu };
  }

  async #stop(which: (kind: ServerKind) => boolean): Promise<void> {
    const stopping = [...this.#servers.values()].filter((s) => which(s.kind));
    for (const s of stopping) this.#servers.delete(s.kind);
    await Promise.all(stopping.map((s) => s.target.stop()));
  }
}

/** Endpoints of each lane, by what it calls. */
export const ENDPOINTS = {
  dormouseWs: "/ws",
  dormouseHttp: "/mcp",
  bareWs: "/ws",
  fairSetupWs: "/ws-durable",
  doFloorHttp: "/do/mcp",
  workerFloorHttp: "/worker/mcp",
  mcpagentHttp: "/mcp",
  nodeWs: "/",
} as const;
