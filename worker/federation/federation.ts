/**
 * Federation: one gateway session's view of the configured upstream MCP
 * servers. Lists are merged under `<prefix>__` names, calls are routed to the
 * owning upstream, and everything an upstream sends on a call's stream
 * (progress, logs, list changes, elicitation/sampling/roots requests) is
 * relayed to the caller.
 *
 * Upstream sessions are opened lazily, one per upstream, and remembered in
 * the session's store, so a woken object continues the same upstream session.
 * An upstream that forgot the session (404) is re-initialised transparently
 * and the request retried once.
 *
 * Client input: a session-era caller gets the upstream's request relayed
 * live (new id, answer sent back upstream). A 2026-07-28 caller gets an
 * `input_required` result instead; on its retry the upstream call is made
 * again and the upstream's requests are answered from the answers collected
 * so far (kept in the sealed requestState) - the same re-execution model
 * multi-round-trip requests use for native tools.
 *
 * Failure isolation: every upstream request is bounded by the upstream's
 * `timeoutMs` of silence; a list that fails leaves the others intact and is
 * reported in `_meta["dormouse/unavailableUpstreams"]`.
 */
import {
  INVALID_PARAMS,
  JsonRpcError,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  requestEnvelope,
  UPSTREAM_INVALID,
  UPSTREAM_TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "../../shared/errors";
import {
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  LOG_LEVELS,
  type LogLevel,
} from "../../shared/protocol";
import { publishListChange } from "../change-feed";
import { logEvent } from "../log";
import type { CallContext } from "../mcp/context";
import { toolContext } from "../mcp/tool-call";
import { fullBucket, take } from "../rate-limit";
import { InputRequired, type ToolResult } from "../tools/types";
import type { Upstream } from "../upstreams";
import {
  type CallHooks,
  type ClientReply,
  StopCall,
  UpstreamClient,
  UpstreamFailure,
  UpstreamRpcError,
} from "./client";
import { recordFailure, recordSuccess, skipReason } from "./health";
import type { UpstreamSessionStore } from "./store";

export const NAME_SEPARATOR = "__";
export const UNAVAILABLE_META = "dormouse/unavailableUpstreams";
/** Id prefix of requests relayed from an upstream to the client. */
const RELAY_ID_PREFIX = "dormouse-up-";
/** Relayed server->client requests waiting for the client at once, per session. */
export const MAX_RELAYED_REQUESTS = 16;
/**
 * Notifications relayed from one upstream call to the client (progress, logs,
 * list changes): a token bucket per call, so a flooding upstream cannot fill the
 * client's socket or stream. What exceeds it is dropped and counted in the log.
 */
export const RELAYED_NOTIFICATIONS_PER_SECOND = 100;
export const RELAYED_NOTIFICATIONS_BURST = 200;
/** Pages followed per upstream list, and items kept. */
const MAX_LIST_PAGES = 32;
const MAX_LIST_ITEMS = 2_000;
/** Rounds of client input a 2026-07-28 caller may be asked for in one upstream call. */
const MAX_INPUT_ROUNDS = 8;
/** Client capabilities the gateway can relay upstream. */
const RELAYABLE_CAPABILITIES = ["elicitation", "sampling", "roots"] as const;
const CAPABILITY_FOR: Record<string, string> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

export type ListKind = "tools" | "prompts" | "resources" | "resourceTemplates";

interface ListSpec {
  method: string;
  key: string;
  capability: string;
  /** The field that is namespaced. */
  field: "name" | "uri" | "uriTemplate";
}

const LISTS: Record<ListKind, ListSpec> = {
  tools: { method: "tools/list", key: "tools", capability: "tools", field: "name" },
  prompts: { method: "prompts/list", key: "prompts", capability: "prompts", field: "name" },
  resources: { method: "resources/list", key: "resources", capability: "resources", field: "uri" },
  resourceTemplates: {
    method: "resources/templates/list",
    key: "resourceTemplates",
    capability: "resources",
    field: "uriTemplate",
  },
};

export interface Unavailable {
  upstream: string;
  reason: string;
}

export interface MergedList {
  items: Record<string, unknown>[];
  unavailable: Unavailable[];
}

/** An upstream name resolved from a namespaced tool, prompt or resource name. */
export interface Target {
  upstream: Upstream;
  name: string;
}

interface PendingRelay {
  resolve(reply: ClientReply): void;
}

export class Federation {
  readonly #clients = new Map<string, UpstreamClient>();
  readonly #connecting = new Map<string, Promise<UpstreamClient>>();
  /** Lists fetched in this object lifetime, per upstream and kind; dropped on list_changed. */
  readonly #lists = new Map<string, Record<string, unknown>[]>();
  readonly #relayed = new Map<string, PendingRelay>();

  constructor(
    readonly upstreams: readonly Upstream[],
    private readonly secrets: Record<string, unknown>,
    private readonly store: UpstreamSessionStore,
    /** Whether lists may be cached for this object's lifetime (session objects). */
    private readonly cacheLists: boolean,
  ) {}

  /** The upstream owning a namespaced name (longest prefix wins), or null. */
  resolve(namespaced: string, kind: "tool" | "other" = "other"): Target | null {
    let best: Target | null = null;
    for (const upstream of this.upstreams) {
      const head = upstream.prefix + NAME_SEPARATOR;
      if (!namespaced.startsWith(head)) continue;
      if (best && best.upstream.prefix.length >= upstream.prefix.length) continue;
      best = { upstream, name: namespaced.slice(head.length) };
    }
    if (best && kind === "tool" && !toolAllowed(best.upstream, best.name)) return null;
    return best;
  }

  /** Every upstream's list of `kind`, namespaced; failures are reported, not thrown. */
  async list(kind: ListKind, call: CallContext): Promise<MergedList> {
    const spec = LISTS[kind];
    const settled = await Promise.all(
      this.upstreams.map(async (upstream) => {
        const skip = skipReason(upstream);
        if (skip) return { unavailable: { upstream: upstream.name, reason: skip } };
        try {
          return { items: await this.#listOne(upstream, spec, kind, call) };
        } catch (error) {
          if (call.signal.aborted) throw error;
          const reason = describe(error);
          if (error instanceof UpstreamFailure) recordFailure(upstream, reason);
          logEvent("warn", "upstream_list_failed", { upstream: upstream.name, kind, reason });
          return { unavailable: { upstream: upstream.name, reason } };
        }
      }),
    );
    const merged: MergedList = { items: [], unavailable: [] };
    for (const entry of settled) {
      if (entry.items) merged.items.push(...entry.items);
      if (entry.unavailable) merged.unavailable.push(entry.unavailable);
    }
    return merged;
  }

  async callTool(
    target: Target,
    args: Record<string, unknown>,
    call: CallContext,
  ): Promise<ToolResult | InputRequired> {
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

  async getPrompt(
    target: Target,
    args: Record<string, string>,
    call: CallContext,
  ): Promise<Record<string, unknown> | InputRequired> {
    return this.#relayWithInput(
      target,
      "prompts/get",
      { name: target.name, arguments: args },
      call,
    );
  }

  async readResource(target: Target, call: CallContext): Promise<Record<string, unknown>> {
    const result = await this.#relayPlain(
      target.upstream,
      "resources/read",
      { uri: target.name },
      call,
    );
    const contents = Array.isArray(result.contents) ? result.contents : [];
    return {
      ...result,
      contents: contents.map((item) =>
        isRecord(item) && typeof item.uri === "string"
          ? { ...item, uri: target.upstream.prefix + NAME_SEPARATOR + item.uri }
          : item,
      ),
    };
  }

  async complete(
    target: Target,
    params: Record<string, unknown>,
    call: CallContext,
  ): Promise<Record<string, unknown>> {
    return this.#relayPlain(target.upstream, "completion/complete", params, call);
  }

  /** Routes a client's answer to a relayed request; false when it is not one. */
  onResponse(response: JsonRpcResponse): boolean {
    if (typeof response.id !== "string" || !response.id.startsWith(RELAY_ID_PREFIX)) return false;
    const pending = this.#relayed.get(response.id);
    if (!pending) return true;
    this.#relayed.delete(response.id);
    if ("error" in response && isRecord(response.error)) {
      const { code, message } = response.error;
      pending.resolve({
        error: {
          code: typeof code === "number" ? code : -32603,
          message: typeof message === "string" ? message : "error",
        },
      });
    } else {
      const result = (response as { result?: unknown }).result;
      pending.resolve({ result: isRecord(result) ? result : {} });
    }
    return true;
  }

  /** Ends every upstream session this session holds (the session is ending); best effort. */
  async terminateAll(): Promise<void> {
    const names = new Set([...this.store.listUpstreams(), ...this.#clients.keys()]);
    await Promise.all(
      [...names].map(async (name) => {
        const upstream = this.upstreams.find((u) => u.name === name);
        const state = this.store.loadUpstream(name) ?? this.#clients.get(name)?.state ?? null;
        this.store.deleteUpstream(name);
        this.#clients.delete(name);
        if (upstream && state) await this.#newClient(upstream, state).terminate();
      }),
    );
  }

  // ---------------------------------------------------------------------------

  async #listOne(
    upstream: Upstream,
    spec: ListSpec,
    kind: ListKind,
    call: CallContext,
  ): Promise<Record<string, unknown>[]> {
    const cacheKey = `${upstream.name}\u0000${kind}`;
    const cached = this.#lists.get(cacheKey);
    if (cached) return cached;
    const client = await this.#client(upstream, call);
    if (!(spec.capability in (client.state?.capabilities ?? {}))) return [];
    const hooks = this.#hooks(upstream, call, null);
    const items: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (let page = 0; page < MAX_LIST_PAGES && items.length < MAX_LIST_ITEMS; page++) {
      let result: Record<string, unknown>;
      try {
        result = await this.#relay(upstream, spec.method, cursor ? { cursor } : {}, call, hooks);
      } catch (error) {
        // An upstream without this list (e.g. no resource templates) simply has none.
        if (error instanceof UpstreamRpcError && error.code === -32601) break;
        throw error;
      }
      const batch = result[spec.key];
      if (!Array.isArray(batch)) {
        throw new UpstreamFailure("invalid", `answered ${spec.method} without a ${spec.key} array`);
      }
      for (const item of batch) {
        if (!isRecord(item) || typeof item[spec.field] !== "string") continue;
        const original = item[spec.field] as string;
        if (kind === "tools" && !toolAllowed(upstream, original)) continue;
        items.push({ ...item, [spec.field]: upstream.prefix + NAME_SEPARATOR + original });
      }
      const next = result.nextCursor;
      if (typeof next !== "string" || next === "" || seen.has(next)) break;
      seen.add(next);
      cursor = next;
    }
    const bounded = items.slice(0, MAX_LIST_ITEMS);
    if (this.cacheLists) this.#lists.set(cacheKey, bounded);
    return bounded;
  }

  /** A request with no client input expected (lists, reads, completion). */
  async #relayPlain(
    upstream: Upstream,
    method: string,
    params: Record<string, unknown>,
    call: CallContext,
  ): Promise<Record<string, unknown>> {
    try {
      return await this.#relay(upstream, method, params, call, this.#hooks(upstream, call, null));
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
    call: CallContext,
  ): Promise<Record<string, unknown> | InputRequired> {
    const { upstream } = target;
    const replay = call.era.kind === "modern" ? replayAnswers(upstream, call) : null;
    try {
      return await this.#relay(upstream, method, params, call, this.#hooks(upstream, call, replay));
    } catch (error) {
      if (error instanceof StopCall && error.value instanceof InputRequired) return error.value;
      if (call.signal.aborted) throw error;
      throw wireError(upstream, error);
    }
  }

  async #relay(
    upstream: Upstream,
    method: string,
    params: Record<string, unknown>,
    call: CallContext,
    hooks: CallHooks,
  ): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const client = await this.#client(upstream, call);
        const result = await client.request(method, params, hooks);
        recordSuccess(upstream);
        return result;
      } catch (error) {
        // An answer, even an error, shows the upstream is up; a failure is remembered for lists.
        if (error instanceof UpstreamRpcError) recordSuccess(upstream);
        if (error instanceof UpstreamFailure && error.kind !== "expired") {
          recordFailure(upstream, error.detail);
        }
        if (!(error instanceof UpstreamFailure && error.kind === "expired") || attempt > 0)
          throw error;
        // The upstream forgot the session (restart, expiry): open a new one and retry once.
        logEvent("info", "upstream_session_expired", {
          sessionId: call.session.sessionId,
          upstream: upstream.name,
        });
        this.#forget(upstream.name);
      }
    }
  }

  #forget(name: string): void {
    this.#clients.delete(name);
    this.store.deleteUpstream(name);
    for (const key of this.#lists.keys())
      if (key.startsWith(`${name}\u0000`)) this.#lists.delete(key);
  }

  async #client(upstream: Upstream, call: CallContext): Promise<UpstreamClient> {
    const existing = this.#clients.get(upstream.name);
    if (existing?.state) return existing;
    const pending = this.#connecting.get(upstream.name);
    if (pending) return pending;
    const connecting = (async () => {
      const stored = this.store.loadUpstream(upstream.name);
      const client = this.#newClient(upstream, stored);
      if (!stored) {
        const state = await client.initialize(relayableCapabilities(call), call.signal);
        this.store.saveUpstream(upstream.name, state);
        logEvent("info", "upstream_session_opened", {
          sessionId: call.session.sessionId,
          upstream: upstream.name,
          protocolVersion: state.protocolVersion,
        });
      }
      this.#clients.set(upstream.name, client);
      return client;
    })();
    this.#connecting.set(upstream.name, connecting);
    try {
      return await connecting;
    } finally {
      this.#connecting.delete(upstream.name);
    }
  }

  #newClient(
    upstream: Upstream,
    state: ReturnType<UpstreamSessionStore["loadUpstream"]>,
  ): UpstreamClient {
    const headers: Record<string, string> = {};
    for (const [header, secret] of Object.entries(upstream.headers)) {
      const value = this.secrets[secret];
      if (typeof value === "string") headers[header] = value;
    }
    return new UpstreamClient({ url: upstream.url, headers, timeoutMs: upstream.timeoutMs }, state);
  }

  /** Hooks that relay what the upstream sends on a call's stream to the caller. */
  #hooks(upstream: Upstream, call: CallContext, replay: Replay | null): CallHooks {
    const tool = toolContext(`upstream:${upstream.name}`, call);
    let asked = 0;
    let bucket = fullBucket(RELAYED_NOTIFICATIONS_BURST, Date.now());
    let dropped = 0;
    return {
      signal: call.signal,
      onNotification: (notification) => {
        const taken = take(
          bucket,
          Date.now(),
          RELAYED_NOTIFICATIONS_PER_SECOND,
          RELAYED_NOTIFICATIONS_BURST,
        );
        bucket = taken.bucket;
        if (taken.allowed) {
          this.#onNotification(upstream, call, notification, tool.log);
          return;
        }
        dropped += 1;
        if (dropped === 1 || dropped % 1_000 === 0) {
          logEvent("warn", "upstream_notifications_dropped", {
            sessionId: call.session.sessionId,
            upstream: upstream.name,
            dropped,
          });
        }
      },
      onRequest: async (request, signal) => {
        const capability = CAPABILITY_FOR[request.method];
        if (!capability) {
          return { error: { code: -32601, message: `Method not found: ${request.method}` } };
        }
        if (!replay) return this.#relayToClient(upstream, call, request, capability, signal);
        // 2026-07-28 caller: answer from earlier rounds, or stop and ask it.
        const index = asked++;
        const answer = replay.answers[index];
        if (answer !== undefined) return { result: answer };
        if (index >= MAX_INPUT_ROUNDS) {
          throw new StopCall(
            new JsonRpcError(
              INVALID_PARAMS,
              `Upstream "${upstream.name}" asked for client input more than ${MAX_INPUT_ROUNDS} times`,
            ),
          );
        }
        throw new StopCall(
          new InputRequired(
            {
              [inputKey(index)]: {
                method: request.method as "elicitation/create",
                params: request.params ?? {},
              },
            },
            { upstream: upstream.name, answers: replay.answers },
          ),
        );
      },
    };
  }

  #onNotification(
    upstream: Upstream,
    call: CallContext,
    notification: JsonRpcNotification,
    log: (level: LogLevel, data: unknown, logger?: string) => boolean,
  ): void {
    const params = isRecord(notification.params) ? notification.params : {};
    switch (notification.method) {
      case "notifications/progress": {
        if (call.progressToken === undefined || call.signal.aborted) return;
        const { progress, total, message } = params;
        if (typeof progress !== "number") return;
        call.channel.send(
          notificationEnvelope("notifications/progress", {
            progressToken: call.progressToken,
            progress,
            ...(typeof total === "number" ? { total } : {}),
            ...(typeof message === "string" ? { message } : {}),
          }),
        );
        return;
      }
      case "notifications/message": {
        const level = params.level;
        if (typeof level !== "string" || !(LOG_LEVELS as readonly string[]).includes(level)) return;
        const logger =
          typeof params.logger === "string" ? `${upstream.name}/${params.logger}` : upstream.name;
        log(level as LogLevel, params.data, logger);
        return;
      }
      case "notifications/tools/list_changed":
      case "notifications/prompts/list_changed":
      case "notifications/resources/list_changed": {
        const kind = notification.method.split("/")[1] as "tools" | "prompts" | "resources";
        for (const key of [...this.#lists.keys()]) {
          if (key.startsWith(`${upstream.name}\u0000`)) this.#lists.delete(key);
        }
        // Every listen stream of the deployment (2026-07-28 clients) hears of it too.
        publishListChange(kind).catch((error: unknown) => {
          logEvent("warn", "list_change_publish_failed", { upstream: upstream.name, error });
        });
        if (call.era.kind === "session")
          call.channel.send(notificationEnvelope(notification.method));
        return;
      }
      default:
        logEvent("debug", "upstream_notification_dropped", {
          upstream: upstream.name,
          method: notification.method,
        });
    }
  }

  /** Session era: sends the upstream's request to the client under a new id and waits for the answer. */
  async #relayToClient(
    upstream: Upstream,
    call: CallContext,
    request: JsonRpcRequest,
    capability: string,
    signal: AbortSignal,
  ): Promise<ClientReply> {
    const declared = call.session.record().clientCapabilities ?? {};
    if (!(capability in declared)) {
      return {
        error: {
          code: MISSING_CLIENT_CAPABILITY,
          message: `The client behind the gateway did not declare the ${capability} capability`,
        },
      };
    }
    if (this.#relayed.size >= MAX_RELAYED_REQUESTS) {
      return { error: { code: -32603, message: "Too many requests waiting for the client" } };
    }
    const id = `${RELAY_ID_PREFIX}${crypto.randomUUID()}`;
    const answer = new Promise<ClientReply>((resolve) => {
      this.#relayed.set(id, { resolve });
      signal.addEventListener(
        "abort",
        () => {
          this.#relayed.delete(id);
          resolve({ error: { code: -32800, message: "Request cancelled" } });
        },
        { once: true },
      );
    });
    logEvent("debug", "upstream_request_relayed", {
      upstream: upstream.name,
      method: request.method,
    });
    call.channel.send(requestEnvelope(id, request.method, request.params));
    return answer;
  }
}

interface Replay {
  answers: Record<string, unknown>[];
}

/** Answers a 2026-07-28 caller gave in earlier rounds of this upstream call. */
function replayAnswers(upstream: Upstream, call: CallContext): Replay {
  const state = call.requestState;
  let answers: Record<string, unknown>[] = [];
  if (state !== undefined) {
    if (
      !isRecord(state) ||
      state.upstream !== upstream.name ||
      !Array.isArray(state.answers) ||
      !state.answers.every(isRecord)
    ) {
      throw new JsonRpcError(INVALID_PARAMS, "Invalid requestState: it belongs to another call");
    }
    answers = state.answers as Record<string, unknown>[];
  }
  const next = call.inputResponses?.[inputKey(answers.length)];
  if (isRecord(next)) answers = [...answers, next];
  return { answers };
}

function inputKey(index: number): string {
  return `upstream-input-${index}`;
}

function relayableCapabilities(call: CallContext): Record<string, unknown> {
  const declared = toolContext("", call).clientCapabilities;
  const picked: Record<string, unknown> = {};
  for (const name of RELAYABLE_CAPABILITIES) if (name in declared) picked[name] = declared[name];
  return picked;
}

function toolAllowed(upstream: Upstream, name: string): boolean {
  if (upstream.allowTools && !upstream.allowTools.includes(name)) return false;
  return !upstream.denyTools?.includes(name);
}

/** A failure as the client sees it: names the upstream, never its URL or credentials. */
export function wireError(upstream: Upstream, error: unknown): JsonRpcError {
  if (error instanceof JsonRpcError) return error;
  if (error instanceof StopCall && error.value instanceof JsonRpcError) return error.value;
  const data = { upstream: upstream.name };
  if (error instanceof UpstreamRpcError) {
    return new JsonRpcError(error.code, `Upstream "${upstream.name}": ${error.message}`, {
      ...data,
      ...(error.data !== undefined ? { upstreamData: error.data } : {}),
    });
  }
  if (error instanceof UpstreamFailure) {
    const code =
      error.kind === "timeout"
        ? UPSTREAM_TIMEOUT
        : error.kind === "invalid"
          ? UPSTREAM_INVALID
          : UPSTREAM_UNAVAILABLE;
    return new JsonRpcError(code, `Upstream "${upstream.name}" ${error.detail}`, {
      ...data,
      reason: error.kind,
    });
  }
  logEvent("error", "upstream_relay_failed", { upstream: upstream.name, error });
  return new JsonRpcError(UPSTREAM_UNAVAILABLE, `Upstream "${upstream.name}" failed`, {
    ...data,
    reason: "unavailable",
  });
}

function describe(error: unknown): string {
  if (error instanceof UpstreamFailure) return error.detail;
  if (error instanceof UpstreamRpcError) return `answered error ${error.code}: ${error.message}`;
  if (error instanceof JsonRpcError) return error.message;
  return "failed";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
