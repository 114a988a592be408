/**
 * Spreads a load run's sessions over client processes. One process can hold
 * only as many sockets as its open-file limit allows (`ulimit -n`, 20,000
 * here), so past that the coordinator forks children, each with its own
 * Shard, and runs every phase on all of them at once, splitting counts, rates
 * and concurrency. With one process the shard runs in-process.
 *
 * IPC uses Node's advanced serialization (latency samples travel as
 * Float64Array). A child whose parent disappears closes its sessions and
 * exits; a child ignores SIGINT (the coordinator turns Ctrl-C into an abort).
 */
import { type ChildProcess, fork } from "node:child_process";
import { LoadError } from "./errors";
import { type PhaseResult, Shard, type ShardCommand, type ShardProgress } from "./shard";
import type { Target } from "./target";

type ToChild =
  | { type: "init"; target: Target }
  | { type: "run"; id: number; command: ShardCommand }
  | { type: "abort" };
type FromChild =
  | { type: "ready" }
  | { type: "progress"; progress: ShardProgress }
  | { type: "result"; id: number; result: PhaseResult }
  | { type: "failed"; id: number; message: string };

const CHILD_FLAG = "--load-child";
const PROGRESS_INTERVAL_MS = 250;
const CHILD_START_TIMEOUT_MS = 15_000;

export interface Fleet {
  readonly size: number;
  /** Runs the command on every shard (each with its share) and returns each shard's result. */
  run(command: ShardCommand, signal: AbortSignal): Promise<PhaseResult[]>;
  progress(): ShardProgress;
  dispose(): Promise<void>;
}

export function isChildInvocation(argv: readonly string[]): boolean {
  return argv.includes(CHILD_FLAG);
}

export async function createFleet(target: Target, processes: number): Promise<Fleet> {
  if (processes <= 1) return new LocalFleet(target);
  const fleet = new ChildFleet(processes);
  await fleet.start(target);
  return fleet;
}

/** The share of `command` that shard `index` of `size` runs. */
export function shareOf(command: ShardCommand, index: number, size: number): ShardCommand {
  const part = (n: number) => Math.floor(n / size) + (index < n % size ? 1 : 0);
  const lanes = (n: number) => Math.max(1, Math.ceil(n / size));
  switch (command.op) {
    case "connect":
      return {
        ...command,
        count: part(command.count),
        ratePerS: command.ratePerS / size,
        concurrency: lanes(command.concurrency),
      };
    case "mix":
      return {
        ...command,
        concurrency: Math.max(0, part(command.concurrency)),
        maxCalls: lanes(command.maxCalls),
      };
    case "mark":
    case "wake":
      return { ...command, sample: part(command.sample), concurrency: lanes(command.concurrency) };
    default:
      return command;
  }
}

class LocalFleet implements Fleet {
  readonly size = 1;
  readonly #shard: Shard;

  constructor(target: Target) {
    this.#shard = new Shard(target);
  }

  async run(command: ShardCommand, signal: AbortSignal): Promise<PhaseResult[]> {
    return [await this.#shard.run(command, signal)];
  }

  progress(): ShardProgress {
    return { ...this.#shard.progress };
  }

  async dispose(): Promise<void> {}
}

class ChildFleet implements Fleet {
  readonly #children: ChildProcess[] = [];
  readonly #progress: ShardProgress[] = [];
  readonly #waiting = new Map<string, (message: FromChild) => void>();
  #nextId = 1;

  constructor(readonly size: number) {}

  async start(target: Target): Promise<void> {
    const script = process.argv[1];
    if (!script) throw new Error("cannot fork: no script path in process.argv[1]");
    await Promise.all(
      Array.from({ length: this.size }, (_, index) => {
        const child = fork(script, [CHILD_FLAG], {
          serialization: "advanced",
          stdio: ["ignore", "inherit", "inherit", "ipc"],
        });
        this.#children.push(child);
        this.#progress.push({ done: 0, errors: 0, open: 0 });
        child.on("message", (message: FromChild) => this.#onMessage(index, message));
        const ready = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error("a load child did not start")),
            CHILD_START_TIMEOUT_MS,
          );
          this.#waiting.set(`${index}:ready`, () => {
            clearTimeout(timer);
            resolve();
          });
          child.once("exit", (code) => reject(new Error(`a load child exited (${code})`)));
        });
        child.send({ type: "init", target } satisfies ToChild);
        return ready;
      }),
    );
  }

  async run(command: ShardCommand, signal: AbortSignal): Promise<PhaseResult[]> {
    const id = this.#nextId++;
    for (const p of this.#progress) p.done = 0;
    const onAbort = () => {
      for (const child of this.#children) send(child, { type: "abort" });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await Promise.all(
        this.#children.map(
          (child, index) =>
            new Promise<PhaseResult>((resolve, reject) => {
              const exited = () =>
                reject(new LoadError("client_process_died", `load child ${index} exited`));
              child.once("exit", exited);
              this.#waiting.set(`${index}:${id}`, (message) => {
                child.off("exit", exited);
                if (message.type === "result") resolve(message.result);
                else if (message.type === "failed") reject(new Error(message.message));
              });
              send(child, { type: "run", id, command: shareOf(command, index, this.size) });
            }),
        ),
      );
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  progress(): ShardProgress {
    return this.#progress.reduce(
      (sum, p) => ({
        done: sum.done + p.done,
        errors: sum.errors + p.errors,
        open: sum.open + p.open,
      }),
      { done: 0, errors: 0, open: 0 },
    );
  }

  async dispose(): Promise<void> {
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            child.disconnect();
          }),
      ),
    );
  }

  #onMessage(index: number, message: FromChild): void {
    if (message.type === "progress") {
      this.#progress[index] = message.progress;
      return;
    }
    const key = message.type === "ready" ? `${index}:ready` : `${index}:${message.id}`;
    const waiter = this.#waiting.get(key);
    this.#waiting.delete(key);
    waiter?.(message);
  }
}

function send(child: ChildProcess, message: ToChild): void {
  if (child.connected) child.send(message);
}

/**
 * Sends to the coordinator if it is still there. The callback form matters: a
 * pipe that breaks mid-send (the coordinator exiting) then reports to it
 * instead of crashing this child with an unhandled EPIPE.
 */
function toParent(message: FromChild): void {
  if (!process.connected || !process.send) return;
  process.send(message, undefined, {}, () => {});
}

/** The child side: one Shard driven over IPC until the parent disconnects. */
export function runChild(): void {
  let shard: Shard | null = null;
  let current: AbortController | null = null;
  process.on("SIGINT", () => {}); // The coordinator decides; see the module comment.
  const ticker = setInterval(() => {
    if (shard) toParent({ type: "progress", progress: shard.progress });
  }, PROGRESS_INTERVAL_MS);
  process.on("message", (message: ToChild) => {
    if (message.type === "init") {
      shard = new Shard(message.target);
      toParent({ type: "ready" });
    } else if (message.type === "abort") {
      current?.abort();
    } else if (message.type === "run" && shard) {
      const controller = new AbortController();
      current = controller;
      shard
        .run(message.command, controller.signal)
        .then((result) => toParent({ type: "result", id: message.id, result }))
        .catch((error: unknown) =>
          toParent({ type: "failed", id: message.id, message: String(error) }),
        );
    }
  });
  process.once("disconnect", () => {
    clearInterval(ticker);
    const closing = shard?.run({ op: "close" }, new AbortController().signal) ?? Promise.resolve();
    closing.finally(() => process.exit(0));
  });
}
