/**
 * Every process group the tests start, from the moment it has a PID until it is gone.
 *
 * Each helper starts its process as the leader of its own group (`detached: true`;
 * playwright does the same for Chromium) and registers it here at once, before any
 * await, so nothing that happens to a sibling start can orphan it. Three things end a
 * registered group that its owner did not stop:
 * - `stopAllGroups()`, run after every test file by `tests/setup/process-groups.file.ts`;
 * - an `exit` handler in this worker, which SIGKILLs whatever is still registered;
 * - the run's teardown (`tests/setup/process-groups.global.ts`), for a worker that died
 *   before either ran: every registration is also a file in the run's directory, and
 *   `reapGroups()` kills the groups still alive there, naming them so the run fails.
 *
 * Invariants: a group leaves the registry only once it is confirmed gone; every wait
 * is bounded. A group is signalled as a whole (`kill(-pgid)`), because wrangler,
 * workerd and Chromium all start children of their own. On Linux a registration keeps
 * the leader's start time, so a PID the system has since given to an unrelated
 * process is never signalled.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "./wait";

/** How long a group gets between SIGTERM and SIGKILL unless its owner says otherwise. */
export const STOP_GRACE_MS = 5_000;
/** How long a SIGKILLed group may take to disappear before that is an error. */
const KILL_WAIT_MS = 5_000;
const POLL_MS = 50;

export interface GroupRecord {
  pid: number;
  /** What the group is, in words ("wrangler dev on port 41234"). */
  label: string;
  /** The test file that started it, when known. */
  testFile?: string;
  /** The leader's start time in clock ticks after boot (Linux), to recognise PID reuse. */
  startTicks?: number;
}

const registered = new Map<number, GroupRecord>();
let runDir: string | undefined;
let currentTestFile: string | undefined;

/**
 * Called once per test file by the setup file: where this run's registrations go
 * on disk (from the globalSetup), and which file is running.
 */
export function configureProcessGroups(options: { runDir?: string; testFile?: string }): void {
  runDir = options.runDir;
  currentTestFile = options.testFile;
}

/** Registers the group led by `pid`; call it before anything else can happen. */
export function trackGroup(pid: number, label: string): void {
  const record: GroupRecord = {
    pid,
    label,
    testFile: currentTestFile,
    startTicks: startTicks(pid),
  };
  registered.set(pid, record);
  if (registered.size === 1) process.on("exit", killAllOnExit);
  if (runDir) writeFileSync(join(runDir, `${pid}.json`), JSON.stringify(record));
}

/**
 * `spawn` as the leader of a new process group, registered before this returns.
 * Throws (after nothing was left running) if the process could not be started.
 */
export function spawnGroup(
  label: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess & { pid: number } {
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid === undefined) {
    // Spawning failed (ENOENT, EAGAIN...): the error event carries why; nothing runs.
    child.on("error", () => {});
    throw new Error(`${label} did not start: ${command} has no PID`);
  }
  trackGroup(pid, label);
  return child as ChildProcess & { pid: number };
}

/** SIGTERM to the group, SIGKILL after `graceMs`; resolves once every member is gone. */
export async function stopGroup(pid: number, graceMs = STOP_GRACE_MS): Promise<void> {
  if (groupAlive(pid)) {
    killGroup(pid, "SIGTERM");
    if (!(await waitUntilGone(pid, graceMs))) await killGroupNow(pid);
  }
  forget(pid);
}

/** SIGKILL to the whole group at once; resolves once every member is gone. */
export async function killGroupNow(pid: number): Promise<void> {
  killGroup(pid, "SIGKILL");
  if (!(await waitUntilGone(pid, KILL_WAIT_MS))) {
    const label = registered.get(pid)?.label ?? "process group";
    throw new Error(`${label} (group ${pid}) survived SIGKILL for ${KILL_WAIT_MS} ms`);
  }
  forget(pid);
}

/**
 * Stops every group this worker registered and has not seen stopped, in parallel.
 * Returns the records of those that were still running.
 */
export async function stopAllGroups(): Promise<GroupRecord[]> {
  const left = [...registered.values()].filter((record) => groupAlive(record.pid));
  for (const record of registered.values()) if (!left.includes(record)) forget(record.pid);
  const stopped = await Promise.allSettled(left.map((record) => stopGroup(record.pid)));
  const failed = stopped.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return left;
}

/**
 * The run's last word: kills every group registered in `dir` that is still alive
 * and returns what they were (label, file, and the command lines still running).
 */
export async function reapGroups(dir: string): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith(".json"));
  const reaped: string[] = [];
  for (const name of names) {
    const record = JSON.parse(await readFile(join(dir, name), "utf8")) as GroupRecord;
    await rm(join(dir, name), { force: true });
    if (!isSameGroup(record) || !groupAlive(record.pid)) continue;
    const members = groupMembers(record.pid);
    killGroup(record.pid, "SIGKILL");
    const gone = await waitUntilGone(record.pid, KILL_WAIT_MS);
    reaped.push(describeGroup(record, members, gone));
  }
  return reaped;
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/** Whether any member of the process group led by `pid` is still alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function forget(pid: number): void {
  if (!registered.delete(pid)) return;
  if (registered.size === 0) process.off("exit", killAllOnExit);
  if (runDir) rmSync(join(runDir, `${pid}.json`), { force: true });
}

function killAllOnExit(): void {
  for (const pid of registered.keys()) killGroup(pid, "SIGKILL");
}

function describeGroup(record: GroupRecord, members: string[], gone: boolean): string {
  const from = record.testFile ? ` from ${record.testFile}` : "";
  const state = gone ? "killed" : "STILL ALIVE after SIGKILL";
  const running = members.length > 0 ? `: ${members.join(" | ")}` : "";
  return `${record.label} (group ${record.pid})${from}, ${state}${running}`;
}

/** False when the group's leader PID now belongs to a process started later (Linux only). */
function isSameGroup(record: GroupRecord): boolean {
  const now = startTicks(record.pid);
  return record.startTicks === undefined || now === undefined || now === record.startTicks;
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc or no such process. */
function startTicks(pid: number): number | undefined {
  const fields = procStat(pid);
  const ticks = fields?.[19];
  return ticks === undefined ? undefined : Number(ticks);
}

/** The fields after the command name in /proc/<pid>/stat (state is [0], pgrp [2]). */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Command lines of the group's members (Linux; empty elsewhere), each cut to 120 chars. */
function groupMembers(pgid: number): string[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const members: string[] = [];
  for (const entry of entries) {
    if (procStat(Number(entry))?.[2] !== String(pgid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      members.push(`${entry} ${cmdline.slice(0, 120)}`);
    } catch {
      // Exited while we looked.
    }
  }
  return members;
}
