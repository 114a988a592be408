/**
 * Federation: one gateway session's view of the configured upstream MCP
 * servers. Lists are merged under `<prefix>__` names (lists.ts), calls are
 * routed to the owning upstream, and what an upstream sends on a call's stream
 * is relayed to the caller (relay.ts).
 *
 * Upstream sessions are opened lazily, one per upstream (upstream-sessions.ts),
 * and remembered in the session's store, so a woken object continues the same
 * upstream session. An upstream that forgot the session (404) is re-initialised
 * transparently and the request retried once.
 *
 * Failure isolation: every upstream request is bounded by the upstream's
 * `timeoutMs` of silence; a list that fails leaves the others intact and is
 * reported in `_meta["dormouse/unavailableUpstreams"]`; for a while after a
 * failure, lists skip that upstream (health.ts).
 *
 * OAuth upstreams carry the principal's own access token on every request and
 * send the principal to authorize when it has none (authorization.ts).
 */
import { isRecord } from "../../shared/protocol";
import { UPSTREAM_LIST_MAX_MS, type Upstream } from "../config/upstreams";
import { logEvent } from "../observability/log";
import { withTrace } from "../observability/trace";
import { InputRequired, type ToolResult } from "../tools/types";
import {
  AUTHORIZE_TOOL,
  authorizeTool,
  isOAuth,
  NeedsAuthorization,
  UpstreamAuthorization,
} from "./authorization";
import type { CallHooks, UpstreamClient } from "./client";
import type { UpstreamCredentials } from "./credentials";
import { describeFailure, wireError } from "./errors";
import { StopCall, UpstreamFailure, UpstreamRpcError, UpstreamUnauthorized } from "./failures";
import { recordFailure, recordSuccess, skipReason } from "./health";
import {
  LISTS,
  type ListKind,
  type MergedList,
  namespaced,
  namespacedUri,
  readList,
  resolveName,
  type Target,
} from "./lists";
import { type Replay, relayHooks, replayAnswers } from "./relay";
import type { RelayCall } from "./relay-call";
import type { UpstreamSessionStore } from "./store";
import { UpstreamSessions } from "./upstream-sessions";
import { boundedSignal } from "./wire";

export type { ListKind, MergedList } from "./lists";

export type ListChangeKind = "tools" | "prompts" | "resources";

export interface FederationOptions {
  upstreams: readonly Upstream[];
  /** The Worker env: header values name secrets in it. */
  secrets: Record<string, unknown>;
  /** Where this gateway session keeps its upstream sessions. */
  store: UpstreamSessionStore;
  /** Whether lists may be cached for this object's lifetime (session objects). */
  cacheLists: boolean;
  /** Tells the deployment's listen streams that an upstream's list changed. */
  publishListChange?(kind: ListChangeKind): void;
  /** The principal's OAuth tokens (null: no OAuth upstream, or nobody to hold tokens for). */
  credentials?: UpstreamCredentials | null;
}

export type { Target } from "./lists";

export class Federation {
  readonly #sessions: UpstreamSessions;
  /** Lists fetched in this object lifetime, per upstream and kind; dropped on list_changed. */
  readonly #lists = new Map<string, Record<string, unknown>[]>();
  readonly upstreams: readonly Upstream[];
  readonly #cacheLists: boolean;
  readonly #publishListChange: (kind: ListChangeKind) => void;
  readonly #auth: UpstreamAuthorization | null;
  readonly #credentials: UpstreamCredentials | null;

  constructor(options: FederationOptions) {
    this.upstreams = options.upstreams;
    this.#cacheLists = options.cacheLists;
    this.#publishListChange = options.publishListChange ?? (() => {});
    this.#credentials = options.credentials ?? null;
    this.#auth = this.#credentials ? new UpstreamAuthorization(this.#credentials) : null;
    this.#sessions = new UpstreamSessions({
      secrets: options.secrets,
      store: options.store,
      auth: this.#auth,
      onForget: (name) => this.#dropLists(name),
    });
  }

  /** Whether some upstream is per-principal OAuth (and this federation can hold tokens). */
  get oauth(): boolean {
    return this.#credentials !== null && this.upstreams.some(isOAuth);
  }

  /** The principal's authorized OAuth upstreams (never a token); empty without OAuth. */
  async authorizations(): Promise<Record<string, unknown>[]> {
    return this.#credentials ? this.#credentials.authorizations() : [];
  }

  /** The upstream owning a namespaced name, or null (lists.ts: resolveName). */
  resolve(name: string, kind: "tool" | "prompt" | "resource"): Target | null {
    return resolveName(this.upstreams, name, kind);
  }

  /*
   * Each public operation below runs inside its call's trace (an async context,
   * RelayCall.trace), which every log line and upstream request under it reads.
   */

  /** Every upstream's list of `kind`, namespaced; failures are reported, not thrown. */
  list(kind: ListKind, call: RelayCall): Promise<MergedList> {
    return withTrace(call.trace, () => this.#list(kind, call));
  }

  callTool(
    target: Target,
    args: Record<string, unknown>,
    call: RelayCall,
  ): Promise<ToolResult | InputRequired> {
    return withTrace(call.trace, () => this.#callTool(target, args, call));
  }

  getPrompt(
    target: Target,
    args: Record<string, string>,
    call: RelayCall,
  ): Promise<Record<string, unknown> | InputRequired> {
    const params = { name: target.name, arguments: args };
    return withTrace(call.trace, () => this.#relayWithInput(target, "prompts/get", params, call));
  }

  readResource(target: Target, call: RelayCall): Promise<Record<string, unknown>> {
    return withTrace(call.trace, () => this.#readResource(target, call));
  }

  complete(
    target: Target,
    params: Record<string, unknown>,
    call: RelayCall,
  ): Promise<Record<string, unknown>> {
    return withTrace(call.trace, () =>
      this.#relayPlain(target.upstream, "completion/complete", params, call),
    );
  }

  async #list(kind: ListKind, call: RelayCall): Promise<MergedList> {
    const settled = await Promise.all(
      this.upstreams.map(async (upstream) => {
        const skip = skipReason(upstream);
        if (skip) return { unavailable: { upstream: upstream.name, reason: skip } };
        // Each upstream's list has a bound of its own, so one that never finishes (or
        // chatters without answering) cannot hold the merged list past it.
        const budgetMs = Math.min(2 * upstream.timeoutMs, UPSTREAM_LIST_MAX_MS);
        const bounded = boundedSignal(
          call.signal,
          budgetMs,
          new UpstreamFailure(
            "timeout",
            `did not answer ${LISTS[kind].method} within ${budgetMs} ms`,
          ),
        );
        try {
          return {
            items: await this.#listOne(upstream, kind, { ...call, signal: bounded.signal }),
          };
        } catch (thrown) {
          if (call.signal.aborted) throw thrown;
          // The list's own bound aborted it: that is this upstream's failure.
          const error = bounded.signal.aborted ? bounded.signal.reason : thrown;
          if (error instanceof NeedsAuthorization) {
            const stand =
              kind === "tools"
                ? [authorizeTool(upstream, namespaced(upstream, AUTHORIZE_TOOL))]
                : [];
            return {
              items: stand,
              authorization: { upstream: upstream.name, ...error.elicitation },
            };
          }
          const reason = describeFailure(error);
          if (error instanceof UpstreamFailure) recordFailure(upstream, reason);
          logEvent("warn", "upstream_list_failed", { upstream: upstream.name, kind, reason });
          return { unavailable: { upstream: upstream.name, reason } };
        } finally {
          bounded.clear();
        }
      }),
    );
    const merged: MergedList = { items: [], unavailable: [], authorization: [] };
    for (const entry of settled) {
      if (entry.items) merged.items.push(...entry.items);
      if (entry.unavailable) merged.unavailable.push(entry.unavailable);
      if (entry.authorization) merged.authorization.push(entry.authorization);
    }
    return merged;
  }

  async #callTool(
    target: Target,
    args: Record<string, unknown>,
    call: RelayCall,
  ): Promise<ToolResult | InputRequired> {
    if (target.name === AUTHORIZE_TOOL && this.#auth && isOAuth(target.upstream)) {
      const authorized = await this.#auth.authorizeOnly(target.upstream, call);
      if (authorized) return authorized;
    }
    const params: Record<string, unknown> = { name: target.name, arguments: args };
    if (call.progressToken !== undefined) params._meta = { progressToken: call.progressToken };
    const result = await this.#relayWithInput(target, "tools/call", params, call);
    if (result instanceof InputRequired) return result;
    if (!Array.isArray(result.content)) {
      throw wireError(
        target.upstream,
        new UpstreamFailure("invalid", "answered tools/call without content"),
      );
    }
    return result as unknown as ToolResult;
  }

  async #readResource(target: Target, call: RelayCall): Promise<Record<string, unknown>> {
    const { upstream } = target;
    const result = await this.#relayPlain(upstream, "resources/read", { uri: target.name }, call);
    const contents = Array.isArray(result.contents) ? result.contents : [];
    return {
      ...result,
      contents: contents.map((item) =>
        isRecord(item) && typeof item.uri === "string"
          ? { ...item, uri: namespacedUri(upstream, item.uri) }
          : item,
      ),
    };
  }

  /**
   * The client (re-)initialised, perhaps with other capabilities: the next use
   * of each upstream checks its stored session against them again.
   */
  clientChanged(): void {
    this.#sessions.clientChanged();
  }

  /** Ends every upstream session this session holds (the session is ending); best effort. */
  terminateAll(): Promise<void> {
    return this.#sessions.terminateAll(this.upstreams);
  }

  // ---------------------------------------------------------------------------

  async #listOne(
    upstream: Upstream,
    kind: ListKind,
    call: RelayCall,
  ): Promise<Record<string, unknown>[]> {
    // The client first: it re-opens the upstream session (and drops its lists) if it no longer fits.
    const client = await this.#listClient(upstream, call);
    const cacheKey = `${upstream.name}\u0000${kind}`;
    const cached = this.#lists.get(cacheKey);
    if (cached) return cached;
    if (!(LISTS[kind].capability in (client.state?.capabilities ?? {}))) return [];
    const hooks = this.#hooks(upstream, call, null);
    const items = await readList(upstream, kind, (params) =>
      this.#relay(upstream, LISTS[kind].method, params, call, hooks),
    );
    if (this.#cacheLists) this.#lists.set(cacheKey, items);
    return items;
  }

  /** A request with no client input expected (reads, completion). */
  async #relayPlain(
    upstream: Upstream,
    method: string,
    params: Record<string, unknown>,
    call: RelayCall,
  ): Promise<Record<string, unknown>> {
    const attempt = () =>
      this.#relay(upstream, method, params, call, this.#hooks(upstream, call, null));
    try {
      return await this.#authorized(upstream, call, attempt);
    } catch (error) {
      if (call.signal.aborted) throw error;
      throw wireError(upstream, error);
    }
  }

  /** A request that may make the upstream ask the client for input (tools/call, prompts/get). */
  async #relayWithInput(
    target: Target,
    method: string,
    params: Record<string, unknown>,
    call: RelayCall,
  ): Promise<Record<string, unknown> | InputRequired> {
    const { upstream } = target;
    const replay = call.era === "modern" ? replayAnswers(upstream, call) : null;
    const attempt = () =>
      this.#relay(upstream, method, params, call, this.#hooks(upstream, call, replay));
    try {
      if (this.#auth && isOAuth(upstream) && call.era === "modern") {
        await this.#auth.resume(upstream, call);
      }
      return await this.#authorized(upstream, call, attempt);
    } catch (error) {
      if (error instanceof StopCall && error.value instanceof InputRequired) return error.value;
      if (call.signal.aborted) throw error;
      throw wireError(upstream, error);
    }
  }

  /** One request on the upstream session; re-initialises once if the upstream forgot it. */
  async #relay(
    upstream: Upstream,
    method: string,
    params: Record<string, unknown>,
    call: RelayCall,
    hooks: CallHooks,
  ): Promise<Record<string, unknown>> {
    const oauth = this.#auth && isOAuth(upstream) ? this.#auth : null;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (oauth && !refreshed) await oauth.prepare(upstream);
        const client = await this.#sessions.client(upstream, call);
        const result = await client.request(method, params, hooks);
        recordSuccess(upstream);
        return result;
      } catch (error) {
        if (oauth && error instanceof UpstreamUnauthorized && !refreshed) {
          // A refreshed token is retried once; otherwise NeedsAuthorization goes up.
          await oauth.onUnauthorized(upstream, error);
          refreshed = true;
          continue;
        }
        // An answer, even an error, shows the upstream is up; a failure is remembered for lists.
        if (error instanceof UpstreamRpcError) recordSuccess(upstream);
        const expired = error instanceof UpstreamFailure && error.kind === "expired";
        if (error instanceof UpstreamFailure && !expired) recordFailure(upstream, error.detail);
        if (!expired || attempt > 0) throw error;
        logEvent("info", "upstream_session_expired", {
          sessionId: call.sessionId,
          upstream: upstream.name,
        });
        this.#sessions.forget(upstream.name);
      }
    }
  }

  /** `attempt`, sending the principal to authorize first when an OAuth upstream needs it. */
  #authorized<T>(upstream: Upstream, call: RelayCall, attempt: () => Promise<T>): Promise<T> {
    const auth = this.#auth && isOAuth(upstream) ? this.#auth : null;
    return auth ? auth.around(upstream, call, attempt) : attempt();
  }

  /** The client for a list, with a 401 turned into NeedsAuthorization for OAuth upstreams. */
  async #listClient(upstream: Upstream, call: RelayCall): Promise<UpstreamClient> {
    const oauth = this.#auth && isOAuth(upstream) ? this.#auth : null;
    for (let attempt = 0; ; attempt++) {
      try {
        if (oauth && attempt === 0) await oauth.prepare(upstream);
        return await this.#sessions.client(upstream, call);
      } catch (error) {
        if (!oauth || !(error instanceof UpstreamUnauthorized) || attempt > 0) throw error;
        await oauth.onUnauthorized(upstream, error);
      }
    }
  }

  #dropLists(name: string): void {
    for (const key of [...this.#lists.keys()]) {
      if (key.startsWith(`${name}\u0000`)) this.#lists.delete(key);
    }
  }

  #hooks(upstream: Upstream, call: RelayCall, replay: Replay | null): CallHooks {
    return relayHooks({
      upstream,
      call,
      replay,
      onListChanged: (kind) => {
        this.#dropLists(upstream.name);
        // Every listen stream of the deployment (2026-07-28 clients) hears of it too.
        this.#publishListChange(kind);
      },
    });
  }
}
