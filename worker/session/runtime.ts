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
import type { RateLimit } from "../config/vars";
import type { Federation } from "../federation/federation";
import { ClientRequests } from "../mcp/client-requests";
import { Dispatcher } from "../mcp/dispatcher";
import { InputBridge } from "../mcp/input-bridge";
import { TaskBridge } from "../mcp/task-bridge";
import type { SessionStorage } from "../storage/session-storage";
import type { TaskService } from "../tasks/task-service";
import type { ToolRegistry } from "../tools/registry";
import { Expiry } from "./expiry";
import { HttpExchanges } from "./http-exchanges";
import { MessageRate } from "./rate-limit";
import { SocketChannel } from "./socket-channel";
import { SOCKET_TAG, Sockets } from "./sockets";
import { SessionState } from "./state";

export interface RuntimeOptions {
  sessionId: string;
  storage: SessionStorage;
  registry: ToolRegistry;
  /** Upstream servers this session relays to (null without UPSTREAMS). */
  federation: Federation | null;
  requestStateSecret: string | undefined;
  keepaliveMs: number;
  rateLimit: RateLimit | null;
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

  constructor(ctx: DurableObjectState, options: RuntimeOptions) {
    this.sessionId = options.sessionId;
    this.#storage = options.storage;
    const sockets = () => ctx.getWebSockets(SOCKET_TAG);
    const state = new SessionState({
      sessionId: options.sessionId,
      storage: options.storage,
      registry: options.registry,
      federation: options.federation,
      requestStateSecret: options.requestStateSecret,
      rate: new MessageRate(options.rateLimit),
      sockets,
      taskService: options.taskService,
    });
    const channel = new SocketChannel(state);
    this.tasks = new TaskBridge({
      table: options.storage.taskWaiters,
      socket: channel,
      socketAttached: () => state.currentSocket() !== null,
      tasks: () => state.tasks(),
      clientCapabilities: () => options.storage.read()?.clientCapabilities ?? {},
    });
    const dispatcher = new Dispatcher(state, {
      deadlineMs: options.requestDeadlineMs,
      bridge: new InputBridge(options.storage.pending, options.requestStateSecret, channel),
      clientRequests: new ClientRequests(),
      taskBridge: this.tasks,
    });
    this.expiry = new Expiry({
      state,
      dispatcher,
      idleTtlMs: options.idleTtlMs,
      sockets,
      releaseSlot: options.releaseSlot,
    });
    this.sockets = new Sockets({ ctx, state, dispatcher, expiry: this.expiry, channel });
    this.http = new HttpExchanges({
      state,
      dispatcher,
      expiry: this.expiry,
      socketChannel: channel,
      keepaliveMs: options.keepaliveMs,
      replyStreamMaxMs: options.replyStreamMaxMs,
    });
  }

  /** Whether a live session is stored here (a task's news for an ended session is dropped). */
  sessionAlive(): boolean {
    const record = this.#storage.read();
    return record !== null && record.phase !== "ended";
  }
}
