/**
 * One object per principal (idFromName(principal)): it counts the principal's
 * live sessions, so MAX_SESSIONS_PER_PRINCIPAL holds across every session
 * object, and it holds the principal's upstream OAuth authorizations (grants
 * and flows in progress, upstream-auth/grant-keeper.ts), so every session of
 * the principal shares them and no other principal can reach them.
 *
 * The router reserves a session slot before it creates a session; a session
 * releases its slot when it ends (DELETE, expiry, failed initialize). An
 * ended session keeps its storage until the release is done: a release that a
 * crash or a failed call cut short is made again by the session's alarm, so the
 * count can overstate the live sessions for a while (fail closed), never
 * understate them.
 *
 * Tasks: one slot per stored task of the principal (storage/task-slot-table.ts),
 * so MAX_TASKS_PER_PRINCIPAL holds across every task object; also the index
 * session-era `tasks/list` pages through.
 *
 * Storage: storage/principal-storage.ts (live_session, upstream_grant,
 * oauth_flow) and storage/task-slot-table.ts (task_slot). The alarm deletes expired flows. The principal is passed with
 * every OAuth call (an object cannot read its own name); sealed rows open only
 * under the principal they were sealed for.
 */
import { DurableObject } from "cloudflare:workers";
import { withTrace } from "../observability/trace";
import { PrincipalStorage } from "../storage/principal-storage";
import { type TaskSlotPage, TaskSlotTable } from "../storage/task-slot-table";
import { GrantKeeper } from "../upstream-auth/grant-keeper";
import type {
  AccessTokenOutcome,
  AuthorizationView,
  AuthorizeOutcome,
  CallbackOutcome,
  FlowView,
  GrantWait,
  StartOutcome,
} from "../upstream-auth/messages";
import { Sealer } from "../upstream-auth/sealing";

/** Longest a call may wait here for a grant (the user is in the browser). */
export const MAX_GRANT_WAIT_MS = 10 * 60_000;

export class PrincipalObject extends DurableObject<Env> {
  readonly #storage: PrincipalStorage;
  readonly #keeper: GrantKeeper;
  readonly #tasks: TaskSlotTable;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#storage = new PrincipalStorage(ctx.storage);
    this.#tasks = new TaskSlotTable(ctx.storage.sql);
    this.#keeper = new GrantKeeper({
      storage: this.#storage,
      sealer: new Sealer(env.UPSTREAM_TOKEN_KEY ?? ""),
      env,
      scheduleAlarm: async (at) => {
        const current = await ctx.storage.getAlarm();
        if (current === null || current > at) await ctx.storage.setAlarm(at);
      },
      register: (request) =>
        env.REGISTRATIONS.get(env.REGISTRATIONS.idFromName(request.upstream)).register(request),
    });
  }

  /** Reserves a slot for `sessionId`; false when the principal is at `limit`. */
  async reserve(sessionId: string, limit: number): Promise<boolean> {
    if (this.#storage.countSessions() >= limit) return false;
    this.#storage.addSession(sessionId, Date.now());
    return true;
  }

  async release(sessionId: string): Promise<void> {
    this.#storage.removeSession(sessionId);
  }

  async count(): Promise<number> {
    return this.#storage.countSessions();
  }

  // --- task slots (MAX_TASKS_PER_PRINCIPAL, the session-era tasks/list index)

  /** Reserves a slot for a new task; false when the principal holds `limit` live tasks. */
  async reserveTask(
    taskId: string,
    sessionId: string | null,
    createdAt: number,
    expiresAt: number,
    limit: number,
  ): Promise<boolean> {
    return this.#tasks.reserve(taskId, sessionId, createdAt, expiresAt, limit);
  }

  async releaseTask(taskId: string): Promise<void> {
    this.#tasks.release(taskId);
  }

  async countTasks(): Promise<number> {
    return this.#tasks.count();
  }

  /** One page of the principal's live tasks, newest first; null for a foreign cursor. */
  async listTasks(cursor: string | null, limit: number): Promise<TaskSlotPage | null> {
    return this.#tasks.page(cursor, limit);
  }

  // --- upstream authorization (each call may name the trace it belongs to, for the log)

  accessToken(
    principal: string,
    upstream: string,
    stale?: string,
    traceId?: string,
  ): Promise<AccessTokenOutcome> {
    return traced(traceId, () => this.#keeper.accessToken(principal, upstream, stale));
  }

  authorize(
    principal: string,
    upstream: string,
    challenge: string | null,
    traceId?: string,
  ): Promise<AuthorizeOutcome> {
    return traced(traceId, () => this.#keeper.authorize(principal, upstream, challenge));
  }

  /** `waitId` (any string the caller chooses) lets cancelGrantWait end this wait early. */
  awaitGrant(upstream: string, timeoutMs: number, waitId?: string): Promise<GrantWait> {
    const bounded = Math.min(Math.max(timeoutMs, 0), MAX_GRANT_WAIT_MS);
    const id = typeof waitId === "string" && waitId.length <= 128 ? waitId : undefined;
    return this.#keeper.awaitGrant(upstream, bounded, id);
  }

  cancelGrantWait(waitId: string): void {
    this.#keeper.cancelGrantWait(waitId);
  }

  describeFlow(principal: string, flowId: string): Promise<FlowView | null> {
    return this.#keeper.describeFlow(principal, flowId);
  }

  startFlow(principal: string, flowId: string, binderHash: string): Promise<StartOutcome> {
    return this.#keeper.startFlow(principal, flowId, binderHash);
  }

  completeFlow(
    principal: string,
    flowId: string,
    nonce: string,
    binderHash: string | null,
    response: { code: string; iss: string | null } | { error: string },
  ): Promise<CallbackOutcome> {
    return this.#keeper.completeFlow(principal, flowId, nonce, binderHash, response);
  }

  authorizations(principal: string): Promise<AuthorizationView[]> {
    return this.#keeper.authorizations(principal);
  }

  revoke(principal: string, upstream: string): Promise<boolean> {
    return this.#keeper.revoke(principal, upstream);
  }

  override async alarm(): Promise<void> {
    const next = this.#keeper.purge();
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }
}

function traced<R>(traceId: string | undefined, fn: () => R): R {
  if (!traceId || !/^[0-9a-f]{32}$/.test(traceId)) return fn();
  return withTrace({ traceId, spanId: "0000000000000000", flags: "01" }, fn);
}
