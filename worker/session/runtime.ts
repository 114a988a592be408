/**
 * The session runtime inside one Durable Object: builds the parts once per
 * object lifetime (cheap: the constructor runs on every wake) and wires them
 * in one direction:
 *
 *   SessionState (hot state + attachment mirror; what the dispatcher sees)
 *     <- SocketChannel <- InputBridge, ClientRequests <- Dispatcher
 *     <- Expiry (TTL, end, purge) <- Sockets (WebSocket), HttpExchanges (HTTP)
 *
 * Every state change is written to SQLite before the reply that depends on it
 * is sent; the runtime's output gate holds the reply until the write is durable.
 */
import type { AccessPolicy } from "../config/access-policy";
import type { RateLimit } from "../config/vars";
import type { Federation } from "../federation/federation";
import { ClientRequests } from "../mcp/client-requests";
import { Dispatcher } from "../mcp/dispatcher";
import { InputBridge } from "../mcp/input-bridge";
import { TaskBridge } from "../mcp/task-bridge";
import { logEvent } from "../observability/log";
import type { SessionStorage } from "../storage/session-storage";
import type { TaskService } from "../tasks/task-service";
import type { ToolRegistry } from "../tools/registry";
import { AlarmClock } from "./alarm-clock";
import { Expiry } from "./expiry";
import { HttpExchanges } from "./http-exchanges";
import { MessageRate, OutboundBudget, type OutboundLimit } from "./rate-limit";
import { DEFERRED_WRITE_MS, SocketReplay } from "./replay";
import { ReplyStreams } from "./reply-streams";
import { SocketChannel } from "./socket-channel";
import { SOCKET_TAG, Sockets } from "./sockets";
import { SessionState } from "./state";

export interface RuntimeOptions {
  sessionId: string;
  storage: SessionStorage;
  registry: ToolRegistry;
  /** Upstream servers this session relays to (null without UPSTREAMS). */
  federation: Federation | null;
  /** ACCESS_POLICY (null: everything allowed). */
  policy: AccessPolicy | null;
  requestStateSecret: string | undefined;
  keepaliveMs: number;
  rateLimit: RateLimit | null;
  outboundLimit: OutboundLimit | null;
  /** Keep the WebSocket replay store (the REPLAY var; off only to measure its cost). */
  replay: boolean;
  idleTtlMs: number;
  requestDeadlineMs: number;
  replyStreamMaxMs: number;
  /** Frees the creator's slot in MAX_SESSIONS_PER_PRINCIPAL when the session ends. */
  releaseSlot(principal: string, sessionId: string): Promise<void>;
  /** Durable tasks on behalf of a principal. */
  taskService(principal: string): TaskService;
}

export class SessionRuntime {
  readonly sessionId: string;
  readonly sockets: Sockets;
  readonly http: HttpExchanges;
  readonly expiry: Expiry;
  readonly tasks: TaskBridge;
  readonly #storage: SessionStorage;
  readonly #replay: SocketReplay;
  readonly #clock: AlarmClock;
  #writeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, options: RuntimeOptions) {
    this.sessionId = options.sessionId;
    this.#storage = options.storage;
    const sockets = () => ctx.getWebSockets(SOCKET_TAG);
    const state = new SessionState({
      sessionId: options.sessionId,
      storage: options.storage,
      registry: options.registry,
      federation: options.federation,
      policy: options.policy,
      requestStateSecret: options.requestStateSecret,
      rate: new MessageRate(options.rateLimit),
      outbound: new OutboundBudget(options.outboundLimit),
      sockets,
      taskService: options.taskService,
    });
    const clock = new AlarmClock((at) => options.storage.scheduleAlarm(at));
    this.#clock = clock;
    const replay = new SocketReplay({
      outbox: options.storage.outbox,
      enabled: options.replay,
      flushSoon: () => this.#writeSoon(),
      afterHibernation: sockets().length > 0,
      createdHere: () => options.storage.createdHere(),
      attached: () => state.hasCurrentSocket(),
    });
    this.#replay = replay;
    const channel = new SocketChannel(state, replay);
    const replies = new ReplyStreams(ctx, options.storage.outbox);
    this.tasks = new TaskBridge({
      table: options.storage.taskWaiters,
      socket: channel,
      socketAttached: () => state.currentSocket() !== null,
      tasks: () => state.tasks(),
      clientCapabilities: () => options.storage.read()?.clientCapabilities ?? {},
    });
    const dispatcher = new Dispatcher(state, {
      deadlineMs: options.requestDeadlineMs,
      bridge: new InputBridge(
        options.storage.pending,
        options.requestStateSecret,
        channel,
        (stream, requestId) => replies.channel(stream, requestId),
      ),
      clientRequests: new ClientRequests(),
      taskBridge: this.tasks,
    });
    this.expiry = new Expiry({
      state,
      clock,
      dispatcher,
      idleTtlMs: options.idleTtlMs,
      sockets,
      lastKeepaliveAt: () => latestKeepalive(ctx, sockets()),
      endStreams: () => replies.endAll(),
      dropReplay: () => replay.drop(),
      releaseSlot: options.releaseSlot,
    });
    this.sockets = new Sockets({
      ctx,
      state,
      dispatcher,
      expiry: this.expiry,
      channel,
      replay,
      recheckTaskWaiters: () => this.tasks.recheckSocketWaiters(),
    });
    this.http = new HttpExchanges({
      state,
      dispatcher,
      expiry: this.expiry,
      socketChannel: channel,
      replies,
      keepaliveMs: options.keepaliveMs,
      replyStreamMaxMs: options.replyStreamMaxMs,
    });
    // A construction is a wake (unless it creates the session): counted now, written soon.
    options.storage.deferWritesTo(() => this.#writeSoon());
    options.storage.countWake();
  }

  /** Whether a live session is stored here (a task's news for an ended session is dropped). */
  sessionAlive(): boolean {
    const record = this.#storage.read();
    return record !== null && record.phase !== "ended";
  }

  /**
   * The object's alarm: what is held in memory is written first, then the idle
   * TTL (which re-arms the alarm for the next expiry) or the purge.
   */
  async onAlarm(): Promise<void> {
    this.#clock.fired();
    this.#writeDeferred();
    await this.expiry.onAlarm();
  }

  /**
   * Writes what the session holds in memory for now (the replay ring, the wake
   * count, the `ready` phase, a new session's row and alarm) within
   * DEFERRED_WRITE_MS, in one commit off the path of any reply.
   * A timer, not the alarm: arming an alarm is itself a storage write (it was
   * 8% of a wake), and a pending timer keeps the object in memory until it
   * fires (an eviction needs 10 s without events or timers), so nothing held
   * is lost but to a crash.
   */
  #writeSoon(): void {
    if (this.#writeTimer !== null) return;
    this.#writeTimer = setTimeout(() => {
      this.#writeTimer = null;
      this.#writeDeferred();
    }, DEFERRED_WRITE_MS);
  }

  #writeDeferred(): void {
    try {
      this.#replay.flush();
      this.#storage.flushDeferred();
    } catch (error) {
      logEvent("error", "deferred_write_failed", { sessionId: this.sessionId, error });
    }
  }
}

/** The last time the runtime answered a keepalive on any of `sockets` (ms), or null. */
function latestKeepalive(ctx: DurableObjectState, sockets: WebSocket[]): number | null {
  let latest: number | null = null;
  for (const ws of sockets) {
    const at = ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null;
    if (at !== null && (latest === null || at > latest)) latest = at;
  }
  return latest;
}
