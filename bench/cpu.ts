/**
 * Server CPU time from /proc (Linux): how much CPU a server's processes spent
 * while one block of calls ran, in nanoseconds, from
 * `/proc/<pid>/task/<tid>/schedstat` (first field: time on a CPU, ns).
 *
 * A server is the process group the benchmark started it in (targets.ts
 * starts each as a group leader): under `wrangler dev` the Node wrapper,
 * wrangler's Node process, the proxy workerd and the runtime workerd; under
 * `serve:direct` its Node parent and the one workerd; the Node `ws` floor, one
 * Node process. esbuild's service (wrangler's bundler, which pings itself
 * about 100 times a second whatever the load) is left out: it serves no request.
 *
 * Deltas are taken thread by thread, so a thread that exits between two
 * samples costs only its own share of the window rather than its lifetime.
 * Each process is labelled by its role (`proxy workerd` is the one listening
 * on the server's port when the server has two workerd processes).
 *
 * What a server burns while idle (wrangler's timers, the proxy's housekeeping)
 * is measured once per server (`calibrate`) and subtracted in proportion to
 * each window's length, so a block's CPU is the work its calls caused.
 */
import { readdirSync, readFileSync } from "node:fs";
import { listenerPids } from "../tools/load/gateway-procs";
import { pause } from "../tools/load/pacing";

/** Processes of the group that are not the server's (by /proc/<pid>/comm). */
const NOT_SERVING = new Set(["esbuild"]);

export interface CpuSample {
  atMs: number;
  /** ns on CPU so far, by process role, then by thread id. */
  threads: Map<string, Map<string, number>>;
}

/** CPU spent in one window, by process role, idle background subtracted (never below 0). */
export type CpuDelta = Record<string, number>;

export class CpuProbe {
  #roles = new Map<number, string>();
  /** ns of CPU per ms of wall time each role burns while the server is idle. */
  #idleNsPerMs = new Map<string, number>();

  constructor(
    private readonly groupLeader: number,
    private readonly port: number,
  ) {
    this.refresh();
  }

  /** Finds the group's processes again (wrangler restarts its runtime on a reload). */
  refresh(): void {
    this.#roles = rolesOf(this.groupLeader, this.port);
  }

  get roles(): string[] {
    return [...new Set(this.#roles.values())];
  }

  get idleNsPerMs(): Record<string, number> {
    return Object.fromEntries(this.#idleNsPerMs);
  }

  /**
   * Every thread's CPU so far. A process of the group that has gone (wrangler
   * restarts its runtime when a watched file changes) makes the probe find the
   * group again first, so the new runtime is counted from here on.
   */
  sample(retried = false): CpuSample {
    const threads = new Map<string, Map<string, number>>();
    for (const [pid, role] of this.#roles) {
      const times = threadTimes(pid);
      if (times.length === 0 && !retried) {
        this.refresh();
        return this.sample(true);
      }
      const mine = threads.get(role) ?? new Map<string, number>();
      for (const [tid, ns] of times) mine.set(`${pid}/${tid}`, ns);
      threads.set(role, mine);
    }
    return { atMs: performance.now(), threads };
  }

  /** CPU between two samples, each role's idle background for that long subtracted. */
  delta(before: CpuSample, after: CpuSample): CpuDelta {
    const wallMs = after.atMs - before.atMs;
    const out: CpuDelta = {};
    for (const [role, threads] of after.threads) {
      const earlier = before.threads.get(role) ?? new Map<string, number>();
      let ns = 0;
      for (const [tid, value] of threads) ns += value - (earlier.get(tid) ?? 0);
      out[role] = Math.max(0, ns - (this.#idleNsPerMs.get(role) ?? 0) * wallMs);
    }
    return out;
  }

  /** Measures the idle background for `ms`; call while nothing drives the server. */
  async calibrate(ms: number, signal?: AbortSignal): Promise<void> {
    this.#idleNsPerMs.clear();
    const before = this.sample();
    await pause(ms, signal);
    const after = this.sample();
    const wallMs = after.atMs - before.atMs;
    for (const [role, ns] of Object.entries(this.delta(before, after)))
      this.#idleNsPerMs.set(role, wallMs > 0 ? ns / wallMs : 0);
  }
}

/** Total ns in a delta. */
export function totalNs(delta: CpuDelta): number {
  return Object.values(delta).reduce((a, b) => a + b, 0);
}

/** Adds `delta` into `sum`, role by role. */
export function addDelta(sum: CpuDelta, delta: CpuDelta): void {
  for (const [role, ns] of Object.entries(delta)) sum[role] = (sum[role] ?? 0) + ns;
}

function rolesOf(leader: number, port: number): Map<number, string> {
  const members = groupMembers(leader).filter((p) => !NOT_SERVING.has(p.comm));
  const workerds = members.filter((p) => p.comm === "workerd");
  const listening = new Set(listenerPids(port));
  const roles = new Map<number, string>();
  for (const p of members) {
    if (p.comm !== "workerd") roles.set(p.pid, "node");
    else if (workerds.length < 2) roles.set(p.pid, "workerd");
    else roles.set(p.pid, listening.has(p.pid) ? "proxy workerd" : "runtime workerd");
  }
  return roles;
}

/** Every process whose process group is `leader`'s, with its command name. */
function groupMembers(leader: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) !== leader) continue;
    out.push({ pid: Number(name), comm: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return out;
}

/** Nanoseconds on CPU so far, summed over every thread of `pids` (threads that ended meanwhile count 0). */
export function processCpuNs(pids: Iterable<number>): number {
  let ns = 0;
  for (const pid of pids) for (const [, value] of threadTimes(pid)) ns += value;
  return ns;
}

function threadTimes(pid: number): [string, number][] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: [string, number][] = [];
  for (const tid of tids) {
    const first = readOr(`/proc/${pid}/task/${tid}/schedstat`).split(" ")[0];
    const ns = Number(first);
    if (first && Number.isFinite(ns)) out.push([tid, ns]);
  }
  return out;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
