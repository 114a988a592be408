/**
 * The tasks rows (issue #13), against one Dormouse under `wrangler dev`:
 *
 * 1. What a task costs over a plain call: a zero-length task (`sleep {ms: 0}`)
 *    created and fetched to completion against the same call made plainly, in
 *    the same run, interleaved in blocks of BLOCK_CALLS that rotate through
 *    the rows (so machine noise falls on every row alike). 2026-07-28 over
 *    Streamable HTTP: create, then tasks/get back to back until it completes
 *    (no poll interval: this measures the server, not a client's patience).
 *    Session era over WebSocket: create with params.task, then one tasks/result
 *    that waits for the end. Server CPU per operation is read from
 *    /proc/<pid>/task/<tid>/schedstat of every gateway process around each block.
 * 2. What waiting costs: WAITING tasks (`wait`, steps far longer than the
 *    measurement) created at once, then silence past the 10 s eviction; the
 *    gateway's RSS and open files before, right after creating, and after the
 *    silence; then every task is read once and counted as awake between steps
 *    when its object was not constructed again to answer (wake count unchanged).
 *
 * The gateway runs with MAX_TASKS_PER_PRINCIPAL raised (the default cap is
 * exactly 1,000 and this run creates more). Every request is bounded.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { discoverGateway, type GatewayProcess, sampleProcesses } from "../tools/load/gateway-procs";
import { LatencyRecorder, type LatencySummary, summarize } from "../tools/load/latency";
import { processCpuNs } from "./cpu";
import type { RunningTarget } from "./targets";

export const BLOCK_CALLS = 50;
const REQUEST_TIMEOUT_MS = 20_000;
const MODERN_VERSION = "2026-07-28";
const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** Past local workerd's 10 s idle eviction, with margin. */
const SILENCE_MS = 15_000;
const CREATE_CONCURRENCY = 16;

export type TaskMode = "http-plain" | "http-task" | "ws-plain" | "ws-task";
export const TASK_MODES: readonly TaskMode[] = ["http-plain", "http-task", "ws-plain", "ws-task"];

export interface TasksBenchOptions {
  /** Starts the gateway (MAX_TASKS_PER_PRINCIPAL raised, rate limit off). */
  startGateway(): Promise<RunningTarget>;
  /** Blocks of BLOCK_CALLS per row after one unmeasured block each. */
  blocks: number;
  waiting: number;
  resultsDir: string;
  signal: AbortSignal;
}

export interface TaskModeRow {
  mode: TaskMode;
  latencyMs: LatencySummary | null;
  cpuMsPerOp: number | null;
  /** http-task: tasks/get requests per task until it completed (mean). */
  pollsPerTask: number | null;
  errors: number;
}

export interface WaitingResult {
  tasks: number;
  createMs: number;
  rssKiB: { before: number; created: number; idle: number };
  openFiles: { before: number; created: number; idle: number };
  awakeBetweenSteps: number;
  evicted: number;
  unreadable: number;
}

export interface TasksBenchResult {
  startedAt: Date;
  finishedAt: Date;
  blocks: number;
  rows: TaskModeRow[];
  waiting: WaitingResult | null;
  processes: GatewayProcess[];
  interrupted: boolean;
}

type Json = Record<string, unknown>;

export async function runTasksBench(options: TasksBenchOptions): Promise<TasksBenchResult> {
  const startedAt = new Date();
  const gateway = await options.startGateway();
  try {
    const processes = discoverGateway(Number(new URL(gateway.url).port));
    const rows = await measureModes(gateway.url, options, processes);
    const waiting = options.signal.aborted
      ? null
      : await measureWaiting(gateway.url, options.waiting, processes);
    const result: TasksBenchResult = {
      startedAt,
      finishedAt: new Date(),
      blocks: options.blocks,
      rows,
      waiting,
      processes,
      interrupted: options.signal.aborted,
    };
    await writeFile(join(options.resultsDir, "tasks.json"), JSON.stringify(result, null, 2));
    return result;
  } finally {
    await gateway.stop();
  }
}

// ---------------------------------------------------------------------------
// 1. A task against a plain call.

async function measureModes(
  url: string,
  options: TasksBenchOptions,
  processes: readonly GatewayProcess[],
): Promise<TaskModeRow[]> {
  const socket = await WsRpc.open(url.replace(/^http/, "ws"));
  try {
    const ops: Record<TaskMode, () => Promise<number>> = {
      "http-plain": () => httpPlain(url),
      "http-task": () => httpTask(url),
      "ws-plain": () => socket.plain(),
      "ws-task": () => socket.task(),
    };
    const recorders = new Map(TASK_MODES.map((mode) => [mode, new LatencyRecorder()]));
    const cpuNs = new Map(TASK_MODES.map((mode) => [mode, 0]));
    const polls = { total: 0, tasks: 0 };
    const errors = new Map(TASK_MODES.map((mode) => [mode, 0]));
    for (let block = 0; block <= options.blocks && !options.signal.aborted; block += 1) {
      for (const mode of TASK_MODES) {
        const cpuBefore = cpuNsOf(processes);
        for (let i = 0; i < BLOCK_CALLS; i += 1) {
          const started = performance.now();
          try {
            const extra = await ops[mode]();
            if (block === 0) continue;
            recorders.get(mode)?.record(performance.now() - started);
            if (mode === "http-task") {
              polls.total += extra;
              polls.tasks += 1;
            }
          } catch {
            errors.set(mode, (errors.get(mode) ?? 0) + 1);
          }
        }
        if (block > 0) cpuNs.set(mode, (cpuNs.get(mode) ?? 0) + cpuNsOf(processes) - cpuBefore);
      }
    }
    return TASK_MODES.map((mode) => {
      const recorder = recorders.get(mode) as LatencyRecorder;
      const count = recorder.count;
      return {
        mode,
        latencyMs: count > 0 ? summarize(recorder.export()) : null,
        cpuMsPerOp: count > 0 && processes.length > 0 ? (cpuNs.get(mode) ?? 0) / 1e6 / count : null,
        pollsPerTask: mode === "http-task" && polls.tasks > 0 ? polls.total / polls.tasks : null,
        errors: errors.get(mode) ?? 0,
      };
    });
  } finally {
    socket.close();
  }
}

async function httpPlain(url: string): Promise<number> {
  const result = await modern(url, "tools/call", { name: "sleep", arguments: { ms: 0 } }, false);
  if (!Array.isArray(result.content)) throw new Error("sleep returned no content");
  return 0;
}

/** Creates a zero-length task and reads it back to back until it completes; returns the reads. */
async function httpTask(url: string): Promise<number> {
  const created = await modern(url, "tools/call", { name: "sleep", arguments: { ms: 0 } }, true);
  const taskId = String(created.taskId);
  for (let reads = 1; reads <= 1_000; reads += 1) {
    const task = await modern(url, "tasks/get", { taskId }, true);
    if (task.status === "completed") return reads;
    if (task.status !== "working") throw new Error(`task ended ${String(task.status)}`);
  }
  throw new Error("task did not complete in 1,000 reads");
}

async function modern(url: string, method: string, params: Json, tasks: boolean): Promise<Json> {
  const name = method === "tools/call" ? params.name : params.taskId;
  const response = await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": MODERN_VERSION,
      "Mcp-Method": method,
      "Mcp-Name": String(name),
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method,
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
          "io.modelcontextprotocol/clientCapabilities": tasks
            ? { extensions: { [TASKS_EXTENSION]: {} } }
            : {},
        },
      },
    }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await response.json()) as Json;
  if (!body.result) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result as Json;
}

/** A session-era WebSocket session: plain calls, and tasks finished with tasks/result. */
class WsRpc {
  #next = 1;
  readonly #waiting = new Map<number, (message: Json) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as Json;
      const id = message.id;
      if (typeof id === "number") this.#waiting.get(id)?.(message);
    });
  }

  static async open(wsUrl: string): Promise<WsRpc> {
    const ws = new WebSocket(`${wsUrl}/ws`, "mcp");
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("WebSocket failed")), { once: true });
    });
    const rpc = new WsRpc(ws);
    await rpc.#call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "dormouse-bench-tasks", version: "1" },
    });
    ws.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    return rpc;
  }

  async plain(): Promise<number> {
    await this.#call("tools/call", { name: "sleep", arguments: { ms: 0 } });
    return 0;
  }

  async task(): Promise<number> {
    const created = await this.#call("tools/call", {
      name: "sleep",
      arguments: { ms: 0 },
      task: {},
    });
    const taskId = String((created.task as Json).taskId);
    await this.#call("tasks/result", { taskId });
    return 0;
  }

  close(): void {
    this.ws.close();
  }

  #call(method: string, params: Json): Promise<Json> {
    const id = this.#next++;
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${method} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.#waiting.set(id, (message) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        if (message.result) resolve(message.result as Json);
        else reject(new Error(`${method}: ${JSON.stringify(message.error)}`));
      });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }
}

/** Nanoseconds on CPU so far, summed over every thread of `processes`. */
function cpuNsOf(processes: readonly GatewayProcess[]): number {
  return processCpuNs(processes.map((p) => p.pid));
}

// ---------------------------------------------------------------------------
// 2. Many tasks waiting at once.

async function measureWaiting(
  url: string,
  count: number,
  processes: readonly GatewayProcess[],
): Promise<WaitingResult> {
  const sample = (label: string) => sampleProcesses(label, 0, processes);
  await pause(SILENCE_MS);
  const before = sample("before");
  const started = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < count) {
        next += 1;
        const created = await modern(
          url,
          "tools/call",
          { name: "wait", arguments: { seconds: 3_600, stepSeconds: 3_600 } },
          true,
        );
        ids.push(String(created.taskId));
      }
    }),
  );
  const createMs = performance.now() - started;
  const created = sample("created");
  await pause(SILENCE_MS);
  const idle = sample("idle");
  let awake = 0;
  let evicted = 0;
  let unreadable = 0;
  for (const taskId of ids) {
    try {
      const task = await modern(url, "tasks/get", { taskId }, true);
      const wakes = Number(((task._meta as Json)["dormouse/task"] as Json).wakes);
      // Created and first step in one lifetime: 1. Constructed again to answer this read: 2.
      if (wakes <= 1) awake += 1;
      else evicted += 1;
    } catch {
      unreadable += 1;
    }
  }
  return {
    tasks: ids.length,
    createMs,
    rssKiB: { before: before.rssKiB, created: created.rssKiB, idle: idle.rssKiB },
    openFiles: { before: before.openFiles, created: created.openFiles, idle: idle.openFiles },
    awakeBetweenSteps: awake,
    evicted,
    unreadable,
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
