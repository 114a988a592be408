/**
 * The method table: one function per MCP request method, each validating its
 * params with valibot and returning a plain result (era shaping and envelopes
 * happen in the dispatcher). Handlers throw `JsonRpcError` for wire errors.
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError, METHOD_NOT_FOUND } from "../../shared/errors";
import { transition } from "../../shared/lifecycle";
import {
  InitializeParamsSchema,
  isRecord,
  isSessionEraVersion,
  JsonObjectSchema,
  LATEST_SESSION_ERA_VERSION,
  LogLevelSchema,
  META_AUTHORIZATION_REQUIRED,
  META_SESSION_ID,
  META_UNAVAILABLE_UPSTREAMS,
  MODERN_VERSIONS,
} from "../../shared/protocol";
import type { AccessKind } from "../config/access-policy";
import type { ListKind, MergedList } from "../federation/federation";
import { InputRequired } from "../tools/types";
import { allowed, visible } from "./access";
import type { CallContext } from "./context";
import { parseParams } from "./params";
import { relayCall } from "./relay-call";
import {
  AUTHORIZATIONS_RESOURCE,
  RESOURCE_HANDLERS,
  sessionResourceChanged,
} from "./resource-handlers";
import {
  FEDERATED_SERVER_CAPABILITIES,
  INSTRUCTIONS,
  MODERN_SERVER_CAPABILITIES,
  SERVER_CAPABILITIES,
  SERVER_INFO,
} from "./server-info";
import {
  TASK_HANDLERS,
  TASK_METHODS_MODERN_ONLY,
  TASK_METHODS_REMOVED_IN_MODERN,
} from "./task-handlers";
import { callTool, toolContext } from "./tool-call";

type Handler = (params: Record<string, unknown>, call: CallContext) => Promise<object> | object;

/** Session-era methods that 2026-07-28 removed; a modern request naming them gets -32601. */
const REMOVED_IN_MODERN = new Set([
  "ping",
  "logging/setLevel",
  "initialize",
  "resources/subscribe",
  "resources/unsubscribe",
  ...TASK_METHODS_REMOVED_IN_MODERN,
]);

/** 2026-07-28 methods a session-era request may not use (-32601). */
const MODERN_ONLY = new Set(TASK_METHODS_MODERN_ONLY);

export { parseParams };

const initialize: Handler = (params, call) => {
  const input = parseParams(InitializeParamsSchema, params, "initialize");
  const session = call.session;
  // Spec (lifecycle, version negotiation): answer with the requested version when
  // supported, otherwise with the latest one the server supports.
  const protocolVersion = isSessionEraVersion(input.protocolVersion)
    ? input.protocolVersion
    : LATEST_SESSION_ERA_VERSION;
  const phase = transition(session.hot().phase, "initialize");
  if (phase === null) throw new JsonRpcError(INVALID_PARAMS, "Session has ended");
  session.storage.saveHandshake({
    phase,
    protocolVersion,
    clientInfo: input.clientInfo,
    clientCapabilities: input.capabilities,
  });
  session.updateHot({ phase, protocolVersion });
  session.federation?.clientChanged();
  return {
    protocolVersion,
    // With upstreams, lists can change (an upstream's list_changed is forwarded).
    capabilities: session.federation ? FEDERATED_SERVER_CAPABILITIES : SERVER_CAPABILITIES,
    serverInfo: SERVER_INFO,
    instructions: INSTRUCTIONS,
    _meta: { [META_SESSION_ID]: session.sessionId },
  };
};

const discover: Handler = () => ({
  supportedVersions: [...MODERN_VERSIONS],
  capabilities: MODERN_SERVER_CAPABILITIES,
  instructions: INSTRUCTIONS,
});

const ping: Handler = () => ({});

const PaginatedSchema = v.looseObject({ cursor: v.optional(v.string()) });

/** The ACCESS_POLICY kind and the field holding the served name, per list. */
const POLICY_OF: Record<ListKind, { kind: AccessKind; field: string }> = {
  tools: { kind: "tools", field: "name" },
  prompts: { kind: "prompts", field: "name" },
  resources: { kind: "resources", field: "uri" },
  resourceTemplates: { kind: "resources", field: "uriTemplate" },
};

/**
 * Built-in items followed by every upstream's (namespaced, passed through
 * unchanged otherwise), less what ACCESS_POLICY hides from the caller;
 * upstreams that could not answer are named in `_meta`.
 */
async function withUpstreams(
  key: string,
  kind: ListKind,
  builtin: Record<string, unknown>[],
  call: CallContext,
): Promise<Record<string, unknown>> {
  const { kind: policyKind, field } = POLICY_OF[kind];
  const federation = call.session.federation;
  if (!federation) return { [key]: visible(call, policyKind, field, builtin) };
  const merged: MergedList = await federation.list(kind, relayCall(call));
  const meta: Record<string, unknown> = {};
  if (merged.unavailable.length > 0) meta[META_UNAVAILABLE_UPSTREAMS] = merged.unavailable;
  // Upstreams the principal must authorize (their URL elicitations), shown when the policy lets it
  // use the upstream's stand-in tool `<prefix>__authorize` (denying `<prefix>__*` hides them).
  const prefixOf = new Map(federation.upstreams.map((u) => [u.name, u.prefix]));
  const authorization = merged.authorization.filter((entry) =>
    allowed(call, "tools", `${prefixOf.get(entry.upstream) ?? ""}__authorize`),
  );
  if (authorization.length > 0) meta[META_AUTHORIZATION_REQUIRED] = authorization;
  return {
    [key]: visible(call, policyKind, field, [...builtin, ...merged.items]),
    ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}),
  };
}

const listTools: Handler = (params, call) => {
  rejectCursor(parseParams(PaginatedSchema, params, "tools/list").cursor);
  const tools = [...call.session.registry.tools.values()].map(({ item }) => ({
    name: item.name,
    ...(item.title ? { title: item.title } : {}),
    description: item.description,
    inputSchema: item.inputSchema,
    ...(item.annotations ? { annotations: item.annotations } : {}),
    // 2025-11-25 "Tool-Level Negotiation"; 2026-07-28 tools carry no `execution` (the server decides).
    ...(item.task && call.era.kind === "session"
      ? { execution: { taskSupport: item.task.support } }
      : {}),
  }));
  return withUpstreams("tools", "tools", tools, call);
};

const CallToolSchema = v.looseObject({
  name: v.string(),
  arguments: v.optional(JsonObjectSchema),
});

const toolsCall: Handler = (params, call) => {
  // The common shape by hand (CallToolSchema's rules); the schema judges, and words, any other.
  const { name, arguments: args } = params;
  if (typeof name === "string" && (args === undefined || isRecord(args))) {
    return callTool(name, (args as Record<string, unknown> | undefined) ?? {}, call, params);
  }
  const input = parseParams(CallToolSchema, params, "tools/call");
  return callTool(input.name, input.arguments ?? {}, call, params);
};

const listResources: Handler = (params, call) => {
  rejectCursor(parseParams(PaginatedSchema, params, "resources/list").cursor);
  const resources: Record<string, unknown>[] = [...call.session.registry.resources.values()].map(
    ({ item }) => ({
      uri: item.uri,
      name: item.name,
      description: item.description,
      mimeType: item.mimeType,
    }),
  );
  if (call.session.federation?.oauth) resources.push(AUTHORIZATIONS_RESOURCE);
  return withUpstreams("resources", "resources", resources, call);
};

const listResourceTemplates: Handler = (params, call) => {
  rejectCursor(parseParams(PaginatedSchema, params, "resources/templates/list").cursor);
  const resourceTemplates = [...call.session.registry.resourceTemplates.values()].map(
    ({ item }) => ({
      uriTemplate: item.uriTemplate,
      name: item.name,
      description: item.description,
      mimeType: item.mimeType,
    }),
  );
  return withUpstreams("resourceTemplates", "resourceTemplates", resourceTemplates, call);
};

const listPrompts: Handler = (params, call) => {
  rejectCursor(parseParams(PaginatedSchema, params, "prompts/list").cursor);
  const prompts = [...call.session.registry.prompts.values()].map(({ item }) => ({
    name: item.name,
    description: item.description,
    arguments: item.arguments,
  }));
  return withUpstreams("prompts", "prompts", prompts, call);
};

const GetPromptSchema = v.looseObject({
  name: v.string(),
  arguments: v.optional(v.record(v.string(), v.string())),
});

const getPrompt: Handler = (params, call) => {
  const input = parseParams(GetPromptSchema, params, "prompts/get");
  if (!allowed(call, "prompts", input.name)) {
    throw new JsonRpcError(INVALID_PARAMS, `Unknown prompt: ${input.name}`);
  }
  const owned = call.session.registry.prompts.get(input.name);
  const federation = call.session.federation;
  const target = owned ? null : federation?.resolve(input.name, "prompt");
  if (target && federation)
    return federation.getPrompt(target, input.arguments ?? {}, relayCall(call));
  if (!owned) throw new JsonRpcError(INVALID_PARAMS, `Unknown prompt: ${input.name}`);
  const args = input.arguments ?? {};
  const missing = owned.item.arguments.filter((a) => a.required && !(a.name in args));
  if (missing.length > 0) {
    const names = missing.map((a) => a.name).join(", ");
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Missing required argument(s) for prompt ${input.name}: ${names}`,
    );
  }
  const rendered = owned.item.render(args, toolContext(owned.toolset, call));
  if (rendered instanceof InputRequired) return rendered;
  return { description: owned.item.description, messages: rendered };
};

const SetLevelSchema = v.looseObject({ level: LogLevelSchema });

const setLevel: Handler = (params, call) => {
  const { level } = parseParams(SetLevelSchema, params, "logging/setLevel");
  call.session.storage.saveLogLevel(level);
  call.session.updateHot({ logLevel: level });
  sessionResourceChanged(call);
  return {};
};

const CompleteSchema = v.looseObject({
  ref: v.variant("type", [
    v.looseObject({ type: v.literal("ref/prompt"), name: v.string() }),
    v.looseObject({ type: v.literal("ref/resource"), uri: v.string() }),
  ]),
  argument: v.looseObject({ name: v.string(), value: v.string() }),
});

const complete: Handler = (params, call) => {
  const { ref, argument } = parseParams(CompleteSchema, params, "completion/complete");
  const federation = call.session.federation;
  const namespaced = ref.type === "ref/prompt" ? ref.name : ref.uri;
  const permitted = allowed(call, ref.type === "ref/prompt" ? "prompts" : "resources", namespaced);
  if (!permitted && ref.type === "ref/prompt") {
    throw new JsonRpcError(INVALID_PARAMS, `Unknown prompt: ${ref.name}`);
  }
  const builtin = ref.type === "ref/prompt" ? call.session.registry.prompts.has(ref.name) : false;
  const target =
    builtin || !permitted
      ? null
      : federation?.resolve(namespaced, ref.type === "ref/prompt" ? "prompt" : "resource");
  if (target && federation) {
    const upstreamRef =
      ref.type === "ref/prompt" ? { ...ref, name: target.name } : { ...ref, uri: target.name };
    // Not the caller's _meta: a 2026-07-28 envelope means nothing to a session-era upstream.
    const { _meta: _envelope, ...rest } = params;
    return federation.complete(target, { ...rest, ref: upstreamRef }, relayCall(call));
  }
  let candidates: readonly string[] = [];
  if (ref.type === "ref/prompt") {
    const owned = call.session.registry.prompts.get(ref.name);
    if (!owned) throw new JsonRpcError(INVALID_PARAMS, `Unknown prompt: ${ref.name}`);
    const complete = owned.item.complete;
    // The argument's name is the client's: only the prompt's own entries count, not
    // what every object inherits (`constructor`, `__proto__`).
    if (complete && Object.hasOwn(complete, argument.name)) {
      candidates = complete[argument.name] ?? [];
    }
  }
  const values = candidates.filter((c) => c.startsWith(argument.value)).slice(0, 100);
  return { completion: { values, total: values.length, hasMore: false } };
};

function rejectCursor(cursor: string | undefined): void {
  // Every list fits one page; a cursor can only come from a confused client.
  if (cursor !== undefined) throw new JsonRpcError(INVALID_PARAMS, `Invalid cursor: ${cursor}`);
}

const HANDLERS: Record<string, Handler> = {
  initialize,
  "server/discover": discover,
  ping,
  "tools/list": listTools,
  "tools/call": toolsCall,
  "resources/list": listResources,
  "resources/templates/list": listResourceTemplates,
  ...RESOURCE_HANDLERS,
  "prompts/list": listPrompts,
  "prompts/get": getPrompt,
  "logging/setLevel": setLevel,
  "completion/complete": complete,
  ...TASK_HANDLERS,
};

export function findHandler(method: string, era: CallContext["era"]): Handler {
  const handler = Object.hasOwn(HANDLERS, method) ? HANDLERS[method] : undefined;
  const removed = era.kind === "modern" ? REMOVED_IN_MODERN : MODERN_ONLY;
  if (!handler || removed.has(method)) {
    throw new JsonRpcError(METHOD_NOT_FOUND, `Method not found: ${method}`);
  }
  return handler;
}
