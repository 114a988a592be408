/**
 * Stateless 2026-07-28 requests over Streamable HTTP, served in the Worker
 * itself: no session, no Durable Object, nothing stored. The same dispatcher
 * and handlers as sessions run against an EphemeralStore, so per-session tool
 * state (the counter) starts afresh on every request.
 */
import type { DecodedFrame } from "../../shared/codec";
import { asJsonRpcError, errorEnvelope, TOO_MANY_IN_FLIGHT } from "../../shared/errors";
import { isRecord, META_CLIENT_CAPABILITIES } from "../../shared/protocol";
import type { AccessPolicy } from "../config/access-policy";
import { configuredUpstreams } from "../config/configuration";
import { Federation } from "../federation/federation";
import { pooledUpstreamStore } from "../federation/store";
import { announceListChange } from "../feed/change-feed";
import type { HotState, SessionContext } from "../mcp/context";
import { Dispatcher, settled } from "../mcp/dispatcher";
import type { SessionRecord, SessionStore } from "../storage/session-storage";
import type { TaskService } from "../tasks/task-service";
import type { ToolRegistry } from "../tools/registry";
import { HttpExchange } from "../transports/streamable-http";
import { principalCredentials } from "../upstream-auth/credentials";
import { modernStatusFor } from "./era-checks";
import { openListenStream } from "./listen";

const STATELESS_ID = "stateless";

export interface StatelessOptions {
  registry: ToolRegistry;
  /** Key material for requestState (REQUEST_STATE_SECRET). */
  requestStateSecret: string | undefined;
  /** Interval of keepalive comments on an SSE reply or a listen stream. */
  keepaliveMs: number;
  /** Longest an SSE reply may stay open. */
  maxOpenMs: number;
  /** Longest a request may run (REQUEST_DEADLINE_MS). */
  deadlineMs: number;
  /** Upstreams this request may relay to (null without UPSTREAMS). */
  federation: Federation | null;
  /** Called once the request's work is over (its reply sent, or nothing left to run). */
  onSettled(): void;
  /** ACCESS_POLICY (null: everything allowed). */
  policy: AccessPolicy | null;
  /** Durable tasks on behalf of the request's principal (SEP-2663). */
  tasks: TaskService;
  /** Who is calling (a listen stream may only watch this principal's tasks). */
  principal: string;
  /** Aborts when the client closes the connection: its request is then cancelled (spec, Cancellation). */
  signal?: AbortSignal | undefined;
}

export async function serveStateless(
  frame: DecodedFrame,
  options: StatelessOptions,
): Promise<Response> {
  const session = statelessContext(options);
  const dispatcher = new Dispatcher(session, {
    deadlineMs: options.deadlineMs,
    bridge: null,
    clientRequests: null,
    taskBridge: null,
    oneShot: true,
  });
  if (frame.kind !== "request") {
    await settled(dispatcher.handle(frame, { send: () => {} })).finally(options.onSettled);
    return new Response(null, { status: 202 });
  }
  if (frame.message.method === "subscriptions/listen") {
    // A listen stream is a subscription, not work in flight.
    options.onSettled();
    try {
      return await openListenStream(frame.message, {
        keepaliveMs: options.keepaliveMs,
        principal: options.principal,
      });
    } catch (thrown) {
      const error = asJsonRpcError(thrown);
      return Response.json(errorEnvelope(frame.message.id, error), {
        status: error.code === TOO_MANY_IN_FLIGHT ? 429 : modernStatusFor(error),
      });
    }
  }
  const exchange = new HttpExchange(frame.message.id, new Headers(), {
    keepaliveMs: options.keepaliveMs,
    maxOpenMs: options.maxOpenMs,
    statusFor: modernStatusFor,
  });
  // A client that hangs up cancels its request: the work stops and its in-flight place is freed.
  const request = frame.message;
  const work = dispatcher.run(request, exchange);
  if (work === undefined) {
    // Answered in this turn: there is nothing left for a hang-up to cancel.
    exchange.abandon();
    options.onSettled();
    return exchange.response;
  }
  const hangUp = () => dispatcher.cancel(request.id, "the client closed the connection");
  options.signal?.addEventListener("abort", hangUp, { once: true });
  work.finally(() => {
    options.signal?.removeEventListener("abort", hangUp);
    exchange.abandon();
    options.onSettled();
  });
  return exchange.response;
}

/**
 * Federation for one stateless request: upstream sessions come from the
 * isolate's pool, scoped to the principal and the capabilities the client
 * declared in its envelope.
 */
export function statelessFederation(
  env: Env,
  principal: string,
  body: Record<string, unknown>,
): Federation | null {
  const upstreams = configuredUpstreams(env);
  if (upstreams.length === 0) return null;
  const params = isRecord(body.params) ? body.params : {};
  const meta = isRecord(params._meta) ? params._meta : {};
  const declared = meta[META_CLIENT_CAPABILITIES];
  return new Federation({
    upstreams,
    secrets: env as unknown as Record<string, unknown>,
    store: pooledUpstreamStore(principal, isRecord(declared) ? declared : {}),
    cacheLists: false,
    publishListChange: announceListChange,
    credentials: upstreams.some((upstream) => upstream.auth?.type === "oauth")
      ? principalCredentials(env, () => principal)
      : null,
  });
}

function statelessContext(options: StatelessOptions): SessionContext {
  const hot: HotState = { phase: "ready", protocolVersion: null, logLevel: "info" };
  const now = Date.now();
  const record: SessionRecord = {
    sessionId: STATELESS_ID,
    createdAt: now,
    phase: "ready",
    protocolVersion: null,
    clientInfo: null,
    clientCapabilities: null,
    logLevel: "info",
    wakes: 0,
    attachGen: 0,
    lastActiveAt: now,
    principal: options.principal,
  };
  return {
    sessionId: STATELESS_ID,
    requestStateSecret: options.requestStateSecret,
    storage: new EphemeralStore(),
    registry: options.registry,
    federation: options.federation,
    tasks: () => options.tasks,
    policy: options.policy,
    principal: () => options.principal,
    hot: () => hot,
    updateHot: () => {},
    record: () => record,
  };
}

/** Per-request state for stateless requests: nothing outlives the request. */
class EphemeralStore implements SessionStore {
  readonly #toolState = new Map<string, unknown>();

  saveHandshake(): void {}
  savePhase(): void {}
  saveLogLevel(): void {}
  getToolState(toolset: string, key: string): unknown {
    return this.#toolState.get(`${toolset}\u0000${key}`);
  }
  setToolState(toolset: string, key: string, value: unknown): void {
    this.#toolState.set(`${toolset}\u0000${key}`, value);
  }
  addSubscription(): boolean {
    return false;
  }
  removeSubscription(): void {}
  listSubscriptions(): string[] {
    return [];
  }
}
