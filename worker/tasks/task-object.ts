/**
 * The task Durable Object: one task per object, addressed by the first half of
 * its task id (a `newUniqueId()`), so any Worker or session reaches it
 * directly with no lookup. A shell over TaskEngine (steps, alarm) and
 * TaskRequests (owner checks, answers, cancel); RPC methods return plain data
 * (errors do not keep their class across RPC, so wire errors travel as data).
 *
 * Listeners: a `subscriptions/listen` stream (2026-07-28) watching this task
 * holds a hibernatable WebSocket to it (fetch with Upgrade); each change is
 * sent to every listener as the DetailedTask JSON, and to the creating session
 * (session era) through its `taskChanged` RPC. Sockets hibernate, so a task
 * with listeners still costs no awake time between steps.
 *
 * The constructor runs on every wake: it counts the wake in SQLite (the e2e
 * eviction test reads it back) and builds two small objects.
 */
import { DurableObject } from "cloudflare:workers";
import { JsonRpcError } from "../../shared/errors";
import { MAX_LISTENERS_PER_TASK } from "../../shared/limits";
import { modernTask } from "../../shared/tasks";
import { logEvent } from "../observability/log";
import { type TaskRecord, TaskStorage, viewOf } from "../storage/task-storage";
import { registryFor } from "../tools/registry";
import { closeQuietly } from "../transports/websocket";
import { TaskEngine } from "./task-engine";
import {
  type CancelOutcome,
  type TaskAccess,
  TaskRequests,
  type UpdateOutcome,
} from "./task-requests";

/** Internal URL and headers of a listener upgrade (set by the Worker, never by a client). */
export const TASK_LISTEN_URL = "https://task.internal/listen";
export const TASK_ID_HEADER = "Dormouse-Task-Id";
export const TASK_PRINCIPAL_HEADER = "Dormouse-Principal";
const LISTENER_TAG = "listener";

export type WireError = { code: number; message: string; data?: unknown };

export class TaskObject extends DurableObject<Env> {
  readonly #storage: TaskStorage;
  readonly #engine: TaskEngine;
  readonly #requests: TaskRequests;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#storage = new TaskStorage(ctx.storage);
    this.#storage.countWake();
    this.#engine = new TaskEngine({
      storage: this.#storage,
      registry: registryFor(env.TOOLSETS),
      publish: (record) => this.#publish(record),
      releaseSlot: (record) => this.#releaseSlot(record),
      closeListeners: (reason) => {
        for (const ws of ctx.getWebSockets(LISTENER_TAG)) closeQuietly(ws, 1000, reason);
      },
    });
    this.#requests = new TaskRequests(this.#storage, this.#engine);
  }

  /** Stores the task (durable when this resolves); null if this object already holds one. */
  async create(record: TaskRecord): Promise<ReturnType<typeof viewOf> | null> {
    return this.#engine.create(record) ? viewOf(record) : null;
  }

  /** The task was handed out (its principal's slot is held): its first step may run. */
  async start(): Promise<boolean> {
    return this.#engine.start();
  }

  /** Deletes a task that was never handed out (its principal was at its cap). */
  async discard(): Promise<void> {
    await this.#storage.destroy();
  }

  async read(access: TaskAccess): Promise<ReturnType<typeof viewOf> | null> {
    return this.#requests.read(access);
  }

  async update(
    access: TaskAccess,
    inputResponses: Record<string, unknown>,
  ): Promise<UpdateOutcome | { error: WireError } | null> {
    try {
      return this.#requests.update(access, inputResponses);
    } catch (error) {
      if (!(error instanceof JsonRpcError)) throw error;
      return { error: { code: error.code, message: error.message } };
    }
  }

  async cancel(access: TaskAccess, reason: string): Promise<CancelOutcome | null> {
    return this.#requests.cancel(access, reason);
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.url !== TASK_LISTEN_URL || request.headers.get("Upgrade") !== "websocket") {
      return new Response("Not found\n", { status: 404 });
    }
    const record = this.#requests.record({
      taskId: request.headers.get(TASK_ID_HEADER) ?? "",
      principal: request.headers.get(TASK_PRINCIPAL_HEADER) ?? "",
    });
    if (!record) return new Response("Unknown task\n", { status: 404 });
    if (this.ctx.getWebSockets(LISTENER_TAG).length >= MAX_LISTENERS_PER_TASK) {
      return new Response("Too many listeners on this task\n", { status: 503 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [LISTENER_TAG]);
    // The current state first: a listener learns where the task stands without polling.
    pair[1].send(JSON.stringify(modernTask(viewOf(record), true)));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async alarm(): Promise<void> {
    try {
      await this.#engine.onAlarm();
    } catch (error) {
      // Rethrow: alarms are retried with backoff, and every step is resumable.
      logEvent("error", "task_alarm_failed", { error });
      throw error;
    }
  }

  override async webSocketMessage(): Promise<void> {
    // Listeners send nothing; anything they send is ignored.
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeQuietly(ws, code, reason);
  }

  #publish(record: TaskRecord): void {
    const view = viewOf(record);
    const listeners = this.ctx.getWebSockets(LISTENER_TAG);
    if (listeners.length > 0) {
      const frame = JSON.stringify(modernTask(view, true));
      for (const ws of listeners) {
        try {
          ws.send(frame);
        } catch {
          // A listener going away: its stream is ending anyway.
        }
      }
    }
    const sessionId = record.sessionId;
    if (sessionId === null) return;
    // Not awaited: the session may be calling this object right now (an answer), and a
    // notification must never hold up the transition it reports.
    this.ctx.waitUntil(
      (async () => {
        try {
          const sessions = this.env.SESSIONS;
          const alive = await sessions.get(sessions.idFromString(sessionId)).taskChanged(view);
          if (!alive) this.#forgetSession(sessionId);
        } catch (error) {
          logEvent("warn", "task_session_notify_failed", { taskId: record.taskId, error });
        }
      })(),
    );
  }

  /** The creating session ended: stop telling it (the task itself goes on). */
  #forgetSession(sessionId: string): void {
    const record = this.#storage.read();
    if (record?.sessionId === sessionId) this.#storage.write({ ...record, sessionId: null });
  }

  async #releaseSlot(record: TaskRecord): Promise<void> {
    try {
      const principals = this.env.PRINCIPALS;
      await principals.get(principals.idFromName(record.principal)).releaseTask(record.taskId);
    } catch (error) {
      // The slot's own expiry reclaims it at the principal's next reservation.
      logEvent("warn", "task_slot_release_failed", { taskId: record.taskId, error });
    }
  }
}
