/**
 * The task bridge: what a session does for its session-era clients about the
 * tasks they created (2025-11-25 experimental tasks). The task object calls the
 * session's `taskChanged` on every change, and the bridge turns it into:
 *
 * - `notifications/tasks/status` (and `notifications/progress` for a call that
 *   carried a progress token) on the session's WebSocket when one is attached,
 *   and on the stream of any `tasks/result` waiting over Streamable HTTP. The
 *   standalone GET stream carries none (the Worker holds it, not the object).
 * - For `input_required`: the task's input requests as real server->client
 *   requests (`elicitation/create` ...) tagged with the related-task `_meta`,
 *   on the socket when one is attached, else on the next `tasks/result`
 *   stream (the v1 SDK calls tasks/result as soon as it sees input_required).
 *   With neither, the task simply stays input_required. The client's answer
 *   comes back under a `dormouse-task-<uuid>` id and becomes a tasks/update.
 * - The reply to every `tasks/result` waiting for the task once it ends.
 *   Over WebSocket the waiter is a SQLite row and the object may hibernate,
 *   and a socket's attach asks each waiter's task where it stands, in case its
 *   news was lost (`recheckSocketWaiters`); over HTTP the waiting stream holds
 *   the object awake (REPLY_STREAM_MAX_MS).
 */
import {
  errorEnvelope,
  INVALID_REQUEST,
  JsonRpcError,
  notificationEnvelope,
  requestEnvelope,
  resultEnvelope,
} from "../../shared/errors";
import { MAX_TASK_WAITERS_PER_SESSION } from "../../shared/limits";
import {
  CAPABILITY_FOR_CLIENT_REQUEST,
  isRecord,
  type JsonRpcRequest,
  type JsonRpcResponse,
  requestKey,
  responseError,
} from "../../shared/protocol";
import { isTerminal, META_RELATED_TASK, sessionTask, type TaskView } from "../../shared/tasks";
import { logEvent } from "../observability/log";
import type { TaskWaiter, TaskWaiterTable } from "../storage/task-waiter-table";
import type { TaskService } from "../tasks/task-service";
import type { Channel } from "../transports/channel";
import { mintServerRequestId } from "./server-request-ids";
import { finishedReply } from "./task-wire";

export interface TaskBridgeOptions {
  table: TaskWaiterTable;
  /** The session's WebSocket as a channel (replies go to whichever socket is current). */
  socket: Channel;
  socketAttached(): boolean;
  tasks(): TaskService;
  /** The capabilities the session's client declared at initialize. */
  clientCapabilities(): Record<string, unknown>;
}

export class TaskBridge {
  /** `tasks/result` requests waiting over Streamable HTTP in this object lifetime. */
  readonly #http = new Map<string, { waiter: TaskWaiter; channel: Channel }>();
  /** The keys of the socket's waiters (SQLite, all lifetimes), once read (see `holds`). */
  #socketWaiters: Set<string> | null = null;

  constructor(private readonly options: TaskBridgeOptions) {}

  /** Holds a `tasks/result` until its task ends (and offers the task's open input requests). */
  async park(request: JsonRpcRequest, channel: Channel, view: TaskView): Promise<void> {
    const { table, socket } = this.options;
    if (this.#http.size + table.countWaiters() >= MAX_TASK_WAITERS_PER_SESSION) {
      throw new JsonRpcError(
        INVALID_REQUEST,
        `Too many tasks/result requests waiting on this session (at most ${MAX_TASK_WAITERS_PER_SESSION}); poll with tasks/get instead`,
      );
    }
    const waiter: TaskWaiter = {
      requestKey: requestKey(request.id),
      requestId: request.id,
      taskId: view.taskId,
    };
    if (channel === socket) {
      table.addWaiter(waiter);
      this.#socketWaiters?.add(waiter.requestKey);
    } else {
      this.#http.set(waiter.requestKey, { waiter, channel });
      channel.hold?.();
    }
    if (view.status === "input_required") this.#sendInputs(view, channel, true);
    // The task may have ended while this request was on its way here.
    const fresh = await this.options
      .tasks()
      .get(view.taskId)
      .catch(() => null);
    if (fresh && isTerminal(fresh.status)) this.#finish(fresh);
  }

  /** A task this session created changed (called by the task object). */
  onTaskChanged(view: TaskView): void {
    const { socket } = this.options;
    const attached = this.options.socketAttached();
    const waiting = [...this.#http.values()].filter((entry) => entry.waiter.taskId === view.taskId);
    const channels = [...(attached ? [socket] : []), ...waiting.map((entry) => entry.channel)];
    for (const channel of channels) {
      channel.send(notificationEnvelope("notifications/tasks/status", sessionTask(view)));
      if (view.progressToken !== null && view.progress) {
        channel.send(
          notificationEnvelope("notifications/progress", {
            progressToken: view.progressToken,
            ...view.progress,
            ...(view.statusMessage !== null ? { message: view.statusMessage } : {}),
          }),
        );
      }
    }
    if (view.status === "input_required") {
      for (const channel of channels) this.#sendInputs(view, channel, false);
    }
    if (isTerminal(view.status)) this.#finish(view);
  }

  /**
   * Asks the task of every `tasks/result` waiting on the socket where it stands,
   * and answers those whose task has ended. A task tells its session of each
   * change once, without retrying: a crash between its last write and that call
   * (or the call failing) would leave its waiters waiting for good. Run when a
   * socket attaches, the moment a client that lost its socket asks again.
   */
  async recheckSocketWaiters(): Promise<void> {
    const taskIds = this.options.table.waitedTasks();
    await Promise.all(
      taskIds.map(async (taskId) => {
        const view = await this.options
          .tasks()
          .get(taskId)
          .catch(() => null);
        if (view && isTerminal(view.status)) this.#finish(view);
      }),
    );
  }

  /** A client's answer to a task's input request; false when the id is not one of ours. */
  async onResponse(response: JsonRpcResponse): Promise<boolean> {
    if (typeof response.id !== "string") return false;
    const link = this.options.table.inputOf(response.id);
    if (!link) return false;
    const error = responseError(response);
    if (error) {
      // The task stays input_required: another answer (tasks/result again, a 2026 client) may come.
      logEvent("warn", "task_input_refused", { taskId: link.taskId, code: error.code });
      return true;
    }
    const answer = (response as { result?: unknown }).result;
    try {
      await this.options.tasks().update(link.taskId, { [link.inputKey]: answer });
      // Answered: the same answer sent again is no longer routed (and costs the task
      // object nothing); a later round that asks this input again gets a new id.
      this.options.table.forgetInput(response.id);
    } catch (thrown) {
      logEvent("warn", "task_input_rejected", { taskId: link.taskId, error: thrown });
    }
    return true;
  }

  isParked(requestKey: string): boolean {
    return this.#http.has(requestKey);
  }

  /**
   * Whether a `tasks/result` with this key waits for its task, on a stream or
   * on the socket (whichever lifetime parked it). Asked for every new request,
   * so answered from memory: the socket's waiters are read once per lifetime.
   */
  holds(requestKey: string): boolean {
    return this.#http.has(requestKey) || this.#socketKeys().has(requestKey);
  }

  /** The keys of every waiting `tasks/result`. */
  waitingKeys(): string[] {
    return [...this.#http.keys(), ...this.#socketKeys()];
  }

  /** Forgets a waiting `tasks/result` (the client cancelled it, or its stream expired). */
  forget(requestKey: string): void {
    this.#http.get(requestKey)?.channel.abandon?.();
    this.#http.delete(requestKey);
    this.#removeSocketWaiter(requestKey);
  }

  #socketKeys(): Set<string> {
    this.#socketWaiters ??= new Set(this.options.table.waiterKeys());
    return this.#socketWaiters;
  }

  #removeSocketWaiter(requestKey: string): boolean {
    this.#socketWaiters?.delete(requestKey);
    return this.options.table.removeWaiter(requestKey);
  }

  /**
   * The session is ending: every `tasks/result` waiting on a stream is answered
   * with `error` (SESSION_ENDED) and its stream ends; the tasks go on, and the
   * socket waiters' rows go with the session's storage.
   */
  endAll(error: JsonRpcError): void {
    for (const { waiter, channel } of this.#http.values()) {
      channel.send(errorEnvelope(waiter.requestId, error));
      channel.abandon?.();
    }
    this.#http.clear();
  }

  #finish(view: TaskView): void {
    const reply = finishedReply(view);
    const answer = (waiter: TaskWaiter) =>
      reply instanceof JsonRpcError
        ? errorEnvelope(waiter.requestId, reply)
        : resultEnvelope(waiter.requestId, reply);
    for (const waiter of this.options.table.waitersOf(view.taskId)) {
      if (this.#removeSocketWaiter(waiter.requestKey)) this.options.socket.send(answer(waiter));
    }
    for (const [key, entry] of this.#http) {
      if (entry.waiter.taskId !== view.taskId) continue;
      this.#http.delete(key);
      entry.channel.send(answer(entry.waiter));
    }
    this.options.table.forgetInputs(view.taskId);
  }

  /** Sends the task's open input requests the client can answer; `force` repeats ones already sent. */
  #sendInputs(view: TaskView, channel: Channel, force: boolean): void {
    const declared = this.options.clientCapabilities();
    for (const [key, input] of Object.entries(view.inputRequests)) {
      const capability = CAPABILITY_FOR_CLIENT_REQUEST[input.method];
      if (capability && !(capability in declared)) continue;
      const sent = this.options.table.sentInput(view.taskId, key);
      if (sent !== null && !force) continue;
      // A repeat goes under the id it was first sent with: one row per input,
      // however often the client asks (each tasks/result repeats the requests).
      const serverId = sent ?? mintServerRequestId("task");
      if (sent === null) this.options.table.recordInput(serverId, view.taskId, key);
      const meta = isRecord(input.params._meta) ? input.params._meta : {};
      channel.send(
        requestEnvelope(serverId, input.method, {
          ...input.params,
          _meta: { ...meta, [META_RELATED_TASK]: { taskId: view.taskId } },
        }),
      );
    }
  }
}
