/**
 * Reading one upstream's list (tools, prompts, resources, resource templates)
 * for the merged list: pages followed (bounded), items namespaced under the
 * upstream's prefix, tools filtered by allowTools/denyTools, everything else
 * passed through unchanged.
 *
 * Names: tools and prompts become `<prefix>__<name>`. Resource URIs (and
 * templates) become `upstream://<prefix>/<original URI>`: still a valid URI
 * (the prefix is a valid host, the original fits a path), which clients and
 * the spec's JSON schema check; `<prefix>__demo://x` would not be one.
 */
import { METHOD_NOT_FOUND } from "../../shared/errors";
import { isRecord } from "../../shared/protocol";
import { NAME_SEPARATOR, type Upstream } from "../config/upstreams";
import { UpstreamFailure, UpstreamRpcError } from "./failures";

/** Scheme of namespaced upstream resource URIs: `upstream://<prefix>/<original>`. */
export const UPSTREAM_URI_SCHEME = "upstream://";
/**
 * Pages followed per upstream list, and what is kept of it: items, and their
 * JSON in all (a list is cached for the session object's lifetime, per upstream
 * and kind, so 2,000 items of an upstream's choosing must not fill the isolate).
 */
export const MAX_LIST_PAGES = 32;
export const MAX_LIST_ITEMS = 2_000;
export const MAX_LIST_CHARS = 4 * 1024 * 1024;

export type ListKind = "tools" | "prompts" | "resources" | "resourceTemplates";

export interface ListSpec {
  method: string;
  key: string;
  /** The upstream capability that says it serves this list. */
  capability: string;
  /** The field that is namespaced. */
  field: "name" | "uri" | "uriTemplate";
}

export const LISTS: Record<ListKind, ListSpec> = {
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

/** An upstream the principal must authorize first, with the URL elicitation that starts it. */
export interface AuthorizationRequired {
  upstream: string;
  mode: "url";
  elicitationId: string;
  url: string;
  message: string;
}

export interface MergedList {
  items: Record<string, unknown>[];
  unavailable: Unavailable[];
  authorization: AuthorizationRequired[];
}

export function toolAllowed(upstream: Upstream, name: string): boolean {
  if (upstream.allowTools && !upstream.allowTools.includes(name)) return false;
  return !upstream.denyTools?.includes(name);
}

/** A tool's or prompt's name as clients see it. */
export function namespaced(upstream: Upstream, name: string): string {
  return upstream.prefix + NAME_SEPARATOR + name;
}

/** A resource URI (or URI template) as clients see it. */
export function namespacedUri(upstream: Upstream, uri: string): string {
  return `${UPSTREAM_URI_SCHEME}${upstream.prefix}/${uri}`;
}

/**
 * Reads every page of `kind` from one upstream through `fetchPage`. An upstream
 * that answers -32601 (it has no such list) has an empty one.
 */
export async function readList(
  upstream: Upstream,
  kind: ListKind,
  fetchPage: (params: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>[]> {
  const spec = LISTS[kind];
  const items: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let chars = 0;
  for (
    let page = 0;
    page < MAX_LIST_PAGES && items.length < MAX_LIST_ITEMS && chars < MAX_LIST_CHARS;
    page++
  ) {
    let result: Record<string, unknown>;
    try {
      result = await fetchPage(cursor ? { cursor } : {});
    } catch (error) {
      if (error instanceof UpstreamRpcError && error.code === METHOD_NOT_FOUND) break;
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
      const renamed =
        spec.field === "name" ? namespaced(upstream, original) : namespacedUri(upstream, original);
      const kept =
        kind === "tools"
          ? withoutParamHeaders({ ...item, [spec.field]: renamed })
          : { ...item, [spec.field]: renamed };
      chars += JSON.stringify(kept).length;
      if (chars > MAX_LIST_CHARS) break;
      items.push(kept);
    }
    const next = result.nextCursor;
    // A repeated cursor would loop forever: stop at the first repeat.
    if (typeof next !== "string" || next === "" || seen.has(next)) break;
    seen.add(next);
    cursor = next;
  }
  return items.slice(0, MAX_LIST_ITEMS);
}

/** An upstream name resolved from a namespaced tool, prompt or resource name. */
export interface Target {
  upstream: Upstream;
  name: string;
}

/**
 * The upstream owning a namespaced name, or null: `<prefix>__<name>` for tools
 * (allowTools/denyTools applied) and prompts, longest prefix first;
 * `upstream://<prefix>/<uri>` for resources.
 */
export function resolveName(
  upstreams: readonly Upstream[],
  name: string,
  kind: "tool" | "prompt" | "resource",
): Target | null {
  if (kind === "resource") {
    if (!name.startsWith(UPSTREAM_URI_SCHEME)) return null;
    const rest = name.slice(UPSTREAM_URI_SCHEME.length);
    const slash = rest.indexOf("/");
    const upstream = upstreams.find((u) => u.prefix === rest.slice(0, slash));
    return slash > 0 && upstream ? { upstream, name: rest.slice(slash + 1) } : null;
  }
  let best: Target | null = null;
  for (const upstream of upstreams) {
    const head = upstream.prefix + NAME_SEPARATOR;
    if (!name.startsWith(head)) continue;
    if (best && best.upstream.prefix.length >= upstream.prefix.length) continue;
    best = { upstream, name: name.slice(head.length) };
  }
  if (best && kind === "tool" && !toolAllowed(best.upstream, best.name)) return null;
  return best;
}

/**
 * A relayed tool without SEP-2243 `x-mcp-header` marks in its input schema:
 * the gateway checks `Mcp-Param-*` headers against its own tools' schemas
 * only, and relays to the upstream in the session era, where nobody would
 * check them either; a mark left in would let an intermediary route on a
 * header the body contradicts.
 */
function withoutParamHeaders(tool: Record<string, unknown>): Record<string, unknown> {
  const schema = tool.inputSchema;
  if (!isRecord(schema) || !isRecord(schema.properties)) return tool;
  let changed = false;
  const properties: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(schema.properties)) {
    if (isRecord(definition) && "x-mcp-header" in definition) {
      const { "x-mcp-header": _mark, ...rest } = definition;
      properties[name] = rest;
      changed = true;
    } else {
      properties[name] = definition;
    }
  }
  return changed ? { ...tool, inputSchema: { ...schema, properties } } : tool;
}
