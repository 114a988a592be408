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
import { configuredPolicy, configuredUpstreams } from "../config/configuration";
import {
  maxTasksPerPrincipal,
  outboundLimit,
  rateLimit,
  replayEnabled,
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
import { principalCredentials } from "../upstream-auth/credentials";
import { HTTP_OPS, type HttpOp } from "./http-exchanges";
import { RESUME_TAG } from "./reply-streams";
import { SessionRuntime } from "./runtime";
import type { AttachMode } from "./sockets";

/** Internal paths the router uses to address the object (never reachable from outside). */
export const INTERNAL_WS_CREATE = "https://session.internal/ws/create";
export const INTERNAL_WS_ATTACH = "https://session.internal/ws/attach";
export const INTERNAL_HTTP = "https://session.internal/http/";
/** A GET with Last-Event-ID: `?stream=<id>&after=<n>`, as an internal WebSocket upgrade. */
export const INTERNAL_RESUME = "https://session.internal/resume";
/** Set by the router on every internal request (overwriting anything a client sent). */
export const PRINCIPAL_HEADER = "Dormouse-Principal";
/** Set by the router on a re-attach: the client's `received` count, already checked as an integer. */
export const RECEIVED_HEADER = "Dormouse-Received";

export class SessionObject extends DurableObject<Env> {
  readonly #runtime: SessionRuntime;
  /** Which sockets are resumed reply streams (tags never change; read once per socket object). */
  readonly #resumers = new WeakMap<WebSocket, boolean>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const storage = new SessionStorage(ctx.storage);
    // Memoised per isolate; the router refuses every request while the configuration is invalid.
    const upstreams = configuredUpstreams(env);
    const oauth = upstreams.some((upstream) => upstream.auth?.type === "oauth");
    const federation =
      upstreams.length > 0
        ? new Federation({
            upstreams,
            secrets: env as unknown as Record<string, unknown>,
            store: storage.upstreams,
            cacheLists: true,
            publishListChange: announceListChange,
            credentials: oauth
              ? principalCredentials(env, () => storage.read()?.principal ?? "")
              : null,
          })
        : null;
    this.#runtime = new SessionRuntime(ctx, {
      sessionId: ctx.id.toString(),
      storage,
      registry: registryFor(env.TOOLSETS),
      federation,
      policy: configuredPolicy(env),
      requestStateSecret: env.REQUEST_STATE_SECRET,
      keepaliveMs: sseKeepaliveMs(env),
      rateLimit: rateLimit(env),
      outboundLimit: outboundLimit(env),
      replay: replayEnabled(env),
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
    if (request.url.startsWith(INTERNAL_RESUME)) return this.#resume(request);
    const mode = attachModeOf(request.url);
    if (!mode || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Not found\n", { status: 404 });
    }
    try {
      return this.#runtime.sockets.accept(request, mode, principalOf(request), receivedOf(request));
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

  #resume(request: Request): Response {
    const url = new URL(request.url);
    const stream = url.searchParams.get("stream") ?? "";
    const after = Number(url.searchParams.get("after"));
    if (
      request.headers.get("Upgrade")?.toLowerCase() !== "websocket" ||
      !Number.isSafeInteger(after)
    ) {
      return new Response("Not found\n", { status: 404 });
    }
    try {
      return this.#runtime.http.resume({ stream, after }, principalOf(request));
    } catch (error) {
      logEvent("error", "resume_failed", { sessionId: this.#runtime.sessionId, error });
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
      await this.#runtime.onAlarm();
    } catch (error) {
      // Rethrow: alarms are retried with backoff, and deletion is resumable.
      logEvent("error", "alarm_failed", { sessionId: this.#runtime.sessionId, error });
      throw error;
    }
  }

  /** Not async: a message answered at once returns nothing for the runtime to wait on. */
  override webSocketMessage(
    ws: WebSocket,
    message: string | ArrayBuffer,
  ): Promise<void> | undefined {
    // The Worker sends nothing on a resumed reply stream's internal socket.
    if (this.#isResumer(ws)) return undefined;
    try {
      return this.#runtime.sockets
        .onMessage(ws, message)
        ?.catch((error) => this.#failed(ws, error));
    } catch (error) {
      this.#failed(ws, error);
      return undefined;
    }
  }

  #failed(ws: WebSocket, error: unknown): void {
    logEvent("error", "message_failed", { sessionId: this.#runtime.sessionId, error });
    closeQuietly(ws, CLOSE_INTERNAL_ERROR, "internal error");
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    if (this.#isResumer(ws)) {
      closeQuietly(ws, code, reason);
      return;
    }
    try {
      this.#runtime.sockets.onClose(ws, code, reason);
    } catch (error) {
      logEvent("error", "close_failed", { sessionId: this.#runtime.sessionId, error });
    }
  }

  /** Whether `ws` is a resumed reply stream's internal socket; its tags read once per socket. */
  #isResumer(ws: WebSocket): boolean {
    let resumer = this.#resumers.get(ws);
    if (resumer === undefined) {
      resumer = this.ctx.getTags(ws).includes(RESUME_TAG);
      this.#resumers.set(ws, resumer);
    }
    return resumer;
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    if (this.#isResumer(ws)) return;
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

function receivedOf(request: Request): number | null {
  const value = request.headers.get(RECEIVED_HEADER);
  return value === null ? null : Number(value);
}

function attachModeOf(url: string): AttachMode | null {
  if (url === INTERNAL_WS_CREATE) return "create";
  if (url === INTERNAL_WS_ATTACH) return "attach";
  return null;
}
