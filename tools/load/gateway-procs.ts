/**
 * Resource use of a local gateway, read from /proc (Linux only): which
 * processes serve the target port, their resident memory (VmRSS) and their
 * open files (/proc/<pid>/fd). Used before, during and after idling.
 *
 * Discovery: the process listening on the port (a socket inode in
 * /proc/net/tcp{,6} in LISTEN state, found among /proc/<pid>/fd links), plus
 * every `workerd` among its parent's descendants. Under `wrangler dev` the
 * listener is the proxy workerd and the Worker runs in a sibling workerd on
 * another port; under Miniflare directly, workerd is the listener.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface GatewayProcess {
  pid: number;
  name: string;
}

export interface ProcessSample {
  pid: number;
  name: string;
  rssKiB: number;
  openFiles: number;
}

export interface ResourceSample {
  label: string;
  /** Seconds since the run started. */
  atS: number;
  rssKiB: number;
  openFiles: number;
  processes: ProcessSample[];
}

export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** The processes listening on `port` (Linux; empty elsewhere or when none is found). */
export function listenerPids(port: number, pids = numericDirs("/proc")): number[] {
  if (process.platform !== "linux") return [];
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  return pids.filter((pid) => holdsSocket(pid, inodes));
}

/** Processes serving `port` on this machine; empty when none can be found (or not Linux). */
export function discoverGateway(port: number): GatewayProcess[] {
  const pids = numericDirs("/proc");
  const listeners = listenerPids(port, pids);
  const found = new Map<number, GatewayProcess>();
  for (const pid of listeners) {
    found.set(pid, { pid, name: commOf(pid) });
    const parent = parentOf(pid);
    if (parent === null || parent <= 1) continue;
    for (const other of descendantsOf(parent, pids)) {
      const name = commOf(other);
      if (name === "workerd") found.set(other, { pid: other, name });
    }
  }
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

export function namedProcesses(pids: readonly number[]): GatewayProcess[] {
  return pids.map((pid) => ({ pid, name: commOf(pid) }));
}

export function sampleProcesses(
  label: string,
  atS: number,
  procs: readonly GatewayProcess[],
): ResourceSample {
  const processes = procs.map((p) => ({
    ...p,
    rssKiB: rssKiBOf(p.pid),
    openFiles: openFilesOf(p.pid),
  }));
  return {
    label,
    atS: Math.round(atS * 10) / 10,
    rssKiB: processes.reduce((sum, p) => sum + p.rssKiB, 0),
    openFiles: processes.reduce((sum, p) => sum + p.openFiles, 0),
    processes,
  };
}

function rssKiBOf(pid: number): number {
  const status = readOr(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) : 0;
}

function openFilesOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readOr(table).split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // fields: sl local_address rem_address st ... inode (index 9); 0A = LISTEN.
      if (local?.endsWith(`:${portHex}`) && fields[3] === "0A" && fields[9]) inodes.add(fields[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith("socket:[") && inodes.has(link.slice(8, -1))) return true;
    } catch {
      // The fd closed meanwhile.
    }
  }
  return false;
}

function descendantsOf(root: number, pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const parent = parentOf(pid);
    if (parent === null) continue;
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [root];
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const next = queue.shift() as number;
    for (const child of children.get(next) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function parentOf(pid: number): number | null {
  const stat = readOr(`/proc/${pid}/stat`);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(after[1]);
  return Number.isInteger(ppid) ? ppid : null;
}

function commOf(pid: number): string {
  return readOr(`/proc/${pid}/comm`).trim() || "?";
}

function numericDirs(path: string): number[] {
  try {
    return readdirSync(path)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
