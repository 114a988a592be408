/**
 * The session Durable Object: a shell over SessionRuntime. Each handler guards
 * its input, delegates, and catches with context; sockets are closed quietly.
 *
 * The constructor runs on every wake, so it only builds cheap objects, counts
 * the wake and registers the keepalive auto-response (answered by the runtime
 * without waking the object).
 */
import { DurableObject } from "cloudflare:workers";
import { CLOSE_INTERNAL_ERROR, KEEPALIVE_REQUEST, KEEPALIVE_RESPONSE } from "../../shared/limits";
import type { TaskView } from "../../shared/tasks";
import { configuredUpstreams } from "../config/configuration";
import {
  maxTasksPerPrincipal,
  rateLimit,
  replyStreamMaxMs,
  requestDeadlineMs,
  sessionIdleTtlMs,
  sseKeepaliveMs,
} from "../config/vars";
import { Federation } from "../federation/federation";
import { announceListChange } from "../feed/change-feed";
import { logEvent } from "../observability/log";
import { SessionStorage } from "../storage/session-storage";
import { DurableTaskService } from "../tasks/task-service";
import { registryFor } from "../tools/registry";
import { closeQuietly } from "../transports/websocket";
import { HTTP_OPS, type HttpOp } from "./http-exchanges";
import { SessionRuntime } from "./runtime";
import type { AttachMode } from "./sockets";

/** Internal paths the router uses to address the object (never reachable from outside). */
export const INTERNAL_WS_CREATE = "https://session.internal/ws/create";
export const INTERNAL_WS_ATTACH = "https://session.internal/ws/attach";
export const INTERNAL_HTTP = "https://session.internal/http/";
/** Set by the router on every internal request (overwriting anything a client sent). */
export const PRINCIPAL_HEADER = "Dormouse-Principal";

export class SessionObject extends DurableObject<Env> {
  readonly #runtime: SessionRuntime;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = new SessionStorage(ctx.storage);
    storage.countWake();
    // Memoised per isolate; the router refuses every request while the configuration is invalid.
    const upstreams = configuredUpstreams(env);
    const federation =
      upstreams.length > 0
        ? new Federation({
            upstreams,
            secrets: env as unknown as Record<string, unknown>,
            store: storage.upstreams,
            cacheLists: true,
            publishListChange: announceListChange,
          })
        : null;
    this.#runtime = new SessionRuntime(ctx, {
      sessionId: ctx.id.toString(),
      storage,
      registry: registryFor(env.TOOLSETS),
      federation,
      requestStateSecret: env.REQUEST_STATE_SECRET,
      keepaliveMs: sseKeepaliveMs(env),
      rateLimit: rateLimit(env),
      idleTtlMs: sessionIdleTtlMs(env),
      requestDeadlineMs: requestDeadlineMs(env),
      replyStreamMaxMs: replyStreamMaxMs(env),
      releaseSlot: (principal, sessionId) =>
        env.PRINCIPALS.get(env.PRINCIPALS.idFromName(principal)).release(sessionId),
      taskService: (principal) => new DurableTaskService(env, principal, maxTasksPerPrincipal(env)),
    });
    ctx.setWebSocketAutoResponse(
      new WebSocketRequestResponsePair(KEEPALIVE_REQUEST, KEEPALIVE_RESPONSE),
    );
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.url.startsWith(INTERNAL_HTTP)) return this.#http(request);
    const mode = attachModeOf(request.url);
    if (!mode || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Not found\n", { status: 404 });
    }
    try {
      return this.#runtime.sockets.accept(request, mode, principalOf(request));
    } catch (error) {
      logEvent("error", "accept_failed", { sessionId: this.#runtime.sessionId, error });
      return new Response("Internal error\n", { status: 500 });
    }
  }

  async #http(request: Request): Promise<Response> {
    const op = request.url.slice(INTERNAL_HTTP.length) as HttpOp;
    if (!HTTP_OPS.includes(op)) return new Response("Not found\n", { status: 404 });
    try {
      return await this.#runtime.http.handle(
        op,
        op === "post" || op === "create" ? await request.text() : "",
        principalOf(request),
      );
    } catch (error) {
      logEvent("error", "http_failed", { sessionId: this.#runtime.sessionId, op, error });
      return new Response("Internal error\n", { status: 500 });
    }
  }

  /**
   * RPC from a task this session created: it changed (status, progress, input,
   * end). False when the session is gone, so the task stops telling it.
   */
  async taskChanged(view: TaskView): Promise<boolean> {
    try {
      if (!this.#runtime.sessionAlive()) return false;
      this.#runtime.tasks.onTaskChanged(view);
    } catch (error) {
      logEvent("error", "task_event_failed", {
        sessionId: this.#runtime.sessionId,
        taskId: view.taskId,
        error,
      });
    }
    return true;
  }

  override async alarm(): Promise<void> {
    try {
      await this.#runtime.expiry.onAlarm();
    } catch (error) {
      // Rethrow: alarms are retried with backoff, and deletion is resumable.
      logEvent("error", "alarm_failed", { sessionId: this.#runtime.sessionId, error });
      throw error;
    }
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    try {
      await this.#runtime.sockets.onMessage(ws, message);
    } catch (error) {
      logEvent("error", "message_failed", { sessionId: this.#runtime.sessionId, error });
      closeQuietly(ws, CLOSE_INTERNAL_ERROR, "internal error");
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      this.#runtime.sockets.onClose(ws, code, reason);
    } catch (error) {
      logEvent("error", "close_failed", { sessionId: this.#runtime.sessionId, error });
    }
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    logEvent("warn", "socket_error", { sessionId: this.#runtime.sessionId, error });
    try {
      this.#runtime.sockets.onClose(ws, CLOSE_INTERNAL_ERROR, "socket error");
    } catch {
      // The socket is already gone.
    }
  }
}

function principalOf(request: Request): string {
  return request.headers.get(PRINCIPAL_HEADER) ?? "";
}

function attachModeOf(url: string): AttachMode | null {
  if (url === INTERNAL_WS_CREATE) return "create";
  if (url === INTERNAL_WS_ATTACH) return "attach";
  return null;
}
