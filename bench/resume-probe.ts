/**
 * Raw WebSocket probes for the resume benchmark (bench/resume.ts), on the
 * `ws` package so every timestamp is ours: a session that counts its numbered
 * messages as client/ does, and one measured re-attach (the time to the 101
 * and to the first replayed message), plus the CPU the gateway's processes
 * spent, from /proc/<pid>/task/<tid>/schedstat (Linux; 0 elsewhere).
 */
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { ReceivedCount } from "../client/received-count";
import { notificationEnvelope, requestEnvelope } from "../shared/errors";
import { MCP_SUBPROTOCOL } from "../shared/limits";
import { RECEIVED_PARAM } from "../shared/protocol-constants";
import { initializeParams } from "../tools/load/target";
import { processCpuNs } from "./cpu";

const OPEN_TIMEOUT_MS = 10_000;
const REPLY_TIMEOUT_MS = 10_000;

export interface Reattach {
  /** From `new WebSocket` to the open event (the 101 arrived). */
  openMs: number;
  /** From `new WebSocket` to the first message (a replayed one, when replay is on). */
  firstMs: number | null;
}

/** One Dormouse session over a raw socket, counting numbered messages. */
export class ProbeSession {
  readonly count = new ReceivedCount();
  #ws: WebSocket | null = null;
  #nextId = 1;
  #waiters = new Map<number, (message: Record<string, unknown>) => void>();
  #onFirst: (() => void) | null = null;
  sessionId = "";

  constructor(private readonly wsUrl: string) {}

  async open(): Promise<void> {
    await this.#attach(this.wsUrl);
    await this.request("initialize", initializeParams());
    this.#ws?.send(JSON.stringify(notificationEnvelope("notifications/initialized")));
  }

  /** Sends a request and waits for its answer. */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.send(method, params);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), REPLY_TIMEOUT_MS);
      this.#waiters.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  /** Sends a request without waiting; returns its id. */
  send(method: string, params: Record<string, unknown>): number {
    const id = this.#nextId++;
    this.#ws?.send(JSON.stringify(requestEnvelope(id, method, params)));
    return id;
  }

  /** Drops the connection without a close frame. */
  drop(): void {
    this.#ws?.terminate();
    this.#ws = null;
  }

  /**
   * Re-attaches with `received` and times the open event and, when a replay is
   * expected, the first message.
   */
  async reattach(expectReplay: boolean): Promise<Reattach> {
    const url = new URL(this.wsUrl);
    url.searchParams.set("session", this.sessionId);
    url.searchParams.set(RECEIVED_PARAM, String(this.count.value));
    const started = performance.now();
    let firstAt: number | null = null;
    const first = new Promise<void>((resolve) => {
      this.#onFirst = () => {
        firstAt = performance.now();
        resolve();
      };
    });
    const openedAt = await this.#attach(url.toString());
    if (expectReplay) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(resolve, REPLY_TIMEOUT_MS);
      });
      await Promise.race([first, timeout]);
      clearTimeout(timer);
    }
    this.#onFirst = null;
    return {
      openMs: openedAt - started,
      firstMs: firstAt === null ? null : (firstAt as number) - started,
    };
  }

  close(): void {
    this.#ws?.close(1000, "bench done");
    this.#ws = null;
  }

  async #attach(url: string): Promise<number> {
    const ws = new WebSocket(url, MCP_SUBPROTOCOL, {
      perMessageDeflate: false,
      handshakeTimeout: OPEN_TIMEOUT_MS,
    });
    ws.on("upgrade", (response) => {
      const id = response.headers["mcp-session-id"];
      if (typeof id === "string") this.sessionId = id;
    });
    ws.on("message", (data, isBinary) => {
      if (!isBinary) this.#onText(data.toString());
    });
    const openedAt = await new Promise<number>((resolve, reject) => {
      ws.once("open", () => resolve(performance.now()));
      ws.once("error", reject);
    });
    ws.on("error", () => {});
    this.#ws = ws;
    return openedAt;
  }

  #onText(text: string): void {
    this.#onFirst?.();
    const observed = this.count.observe(text);
    if (observed.kind !== "numbered") return;
    const message = observed.message as Record<string, unknown> | undefined;
    const id = message?.id;
    if (typeof id !== "number" || message === undefined || "method" in message) return;
    this.#waiters.get(id)?.(message);
    this.#waiters.delete(id);
  }
}

/** CPU time (ms) the given processes have spent so far, summed over their threads. */
export function cpuMs(pids: readonly number[]): number {
  return processCpuNs(pids) / 1e6;
}
