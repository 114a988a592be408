/**
 * resources/read, resources/subscribe and resources/unsubscribe, and what a
 * session's own resource tells its subscribers. One resolver (`servedHere`)
 * says which resource a URI is, for reading and subscribing alike: the
 * caller's authorizations, a built-in resource, or a template's match;
 * anything else is an upstream's, or unknown.
 */
import * as v from "valibot";
import {
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  notificationEnvelope,
  RESOURCE_NOT_FOUND,
} from "../../shared/errors";
import { MAX_SUBSCRIPTIONS } from "../storage/session-storage";
import { SESSION_RESOURCE_URI } from "../tools/default-toolset";
import { matchTemplate } from "../tools/registry";
import { allowed } from "./access";
import type { CallContext } from "./context";
import { parseParams } from "./params";
import { relayCall } from "./relay-call";
import { toolContext } from "./tool-call";

type Handler = (params: Record<string, unknown>, call: CallContext) => Promise<object> | object;

/** The caller's authorized OAuth upstreams, served when an upstream uses OAuth. */
export const AUTHORIZATIONS_RESOURCE = {
  uri: "dormouse://authorizations",
  name: "authorizations",
  description:
    "Upstream servers you have authorized (OAuth), without any token; revoke with DELETE /oauth/authorizations/<upstream>.",
  mimeType: "application/json",
};

/** How to read a resource this gateway serves itself (its `contents`), or null for any other URI. */
function servedHere(call: CallContext, uri: string): (() => Promise<object> | object) | null {
  const { registry, federation } = call.session;
  if (uri === AUTHORIZATIONS_RESOURCE.uri && federation?.oauth) {
    return async () => {
      const text = JSON.stringify({ authorizations: await federation.authorizations() });
      return { contents: [{ uri, mimeType: AUTHORIZATIONS_RESOURCE.mimeType, text }] };
    };
  }
  const owned = registry.resources.get(uri);
  if (owned) {
    return () => {
      const body = owned.item.read(toolContext(owned.toolset, call));
      return { contents: [{ uri, mimeType: owned.item.mimeType, ...body }] };
    };
  }
  for (const { toolset, item } of registry.resourceTemplates.values()) {
    const variables = matchTemplate(item.uriTemplate, uri);
    if (!variables) continue;
    return () => {
      const body = item.read(variables, toolContext(toolset, call));
      return { contents: [{ uri, mimeType: item.mimeType, ...body }] };
    };
  }
  return null;
}

/** Resource not found: -32002 in the session era, -32602 since 2026-07-28 (SEP-2164). */
function resourceNotFound(call: CallContext, uri: string): JsonRpcError {
  const code = call.era.kind === "modern" ? INVALID_PARAMS : RESOURCE_NOT_FOUND;
  return new JsonRpcError(code, `Resource not found: ${uri}`, { uri });
}

const ReadResourceSchema = v.looseObject({ uri: v.string() });

const readResource: Handler = (params, call) => {
  const { uri } = parseParams(ReadResourceSchema, params, "resources/read");
  if (!allowed(call, "resources", uri)) throw resourceNotFound(call, uri);
  const read = servedHere(call, uri);
  if (read) return read();
  const target = call.session.federation?.resolve(uri, "resource");
  if (target) return call.session.federation?.readResource(target, relayCall(call)) ?? {};
  throw resourceNotFound(call, uri);
};

const SubscribeSchema = v.looseObject({ uri: v.pipe(v.string(), v.maxLength(2048)) });

const subscribe: Handler = (params, call) => {
  const { uri } = parseParams(SubscribeSchema, params, "resources/subscribe");
  // A hidden resource is subscribed to like any unknown URI (nothing reveals it).
  if (!allowed(call, "resources", uri)) throw resourceNotFound(call, uri);
  const upstream = call.session.federation?.resolve(uri, "resource");
  if (upstream) {
    // Updates would arrive on a standing upstream stream, which the gateway never holds
    // (it would keep the session awake): say so instead of accepting a silent subscription.
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Subscriptions to upstream resources are not supported (${uri} belongs to upstream "${upstream.upstream.name}"); read it again instead`,
    );
  }
  if (!servedHere(call, uri)) throw resourceNotFound(call, uri);
  if (!call.session.storage.addSubscription(uri)) {
    throw new JsonRpcError(
      INVALID_REQUEST,
      `Too many resource subscriptions (at most ${MAX_SUBSCRIPTIONS} per session)`,
    );
  }
  sessionResourceChanged(call);
  return {};
};

const unsubscribe: Handler = (params, call) => {
  const { uri } = parseParams(SubscribeSchema, params, "resources/unsubscribe");
  call.session.storage.removeSubscription(uri);
  sessionResourceChanged(call);
  return {};
};

/**
 * The session's own resource (dormouse://session: its log level, its
 * subscriptions) changed through this request: a client subscribed to it is
 * told, on the request's own channel (the socket, or the POST's stream), before
 * the reply. Other changes of that resource (a wake's count) are not announced.
 */
export function sessionResourceChanged(call: CallContext): void {
  if (!call.session.storage.listSubscriptions().includes(SESSION_RESOURCE_URI)) return;
  call.channel.send(
    notificationEnvelope("notifications/resources/updated", { uri: SESSION_RESOURCE_URI }),
  );
}

export const RESOURCE_HANDLERS: Record<string, Handler> = {
  "resources/read": readResource,
  "resources/subscribe": subscribe,
  "resources/unsubscribe": unsubscribe,
};
