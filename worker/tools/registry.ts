/**
 * The registry of tool sources for a Worker configuration. Built once per
 * isolate per TOOLSETS value (module-level memo), so a woken object pays
 * nothing to rebuild it. Names must be unique across enabled sources; a
 * clash fails loudly at build time rather than shadowing a tool.
 */

import { ConfigError } from "../config/config-error";
import { conformanceToolset } from "./conformance-toolset";
import { defaultToolset } from "./default-toolset";
import { extrasToolset } from "./extras-toolset";
import type {
  PromptDefinition,
  ResourceDefinition,
  ResourceTemplateDefinition,
  ToolDefinition,
  Toolset,
} from "./types";

export const TOOLSET_CATALOGUE: Record<string, Toolset> = {
  default: defaultToolset,
  extras: extrasToolset,
  conformance: conformanceToolset,
};

export interface Owned<T> {
  toolset: string;
  item: T;
}

export class ToolRegistry {
  readonly tools = new Map<string, Owned<ToolDefinition>>();
  readonly resources = new Map<string, Owned<ResourceDefinition>>();
  readonly resourceTemplates = new Map<string, Owned<ResourceTemplateDefinition>>();
  readonly prompts = new Map<string, Owned<PromptDefinition>>();

  constructor(readonly toolsets: readonly Toolset[]) {
    for (const set of toolsets) {
      addAll(this.tools, set.name, set.tools, (t) => t.name, "tool");
      addAll(this.resources, set.name, set.resources, (r) => r.uri, "resource");
      addAll(
        this.resourceTemplates,
        set.name,
        set.resourceTemplates ?? [],
        (t) => t.uriTemplate,
        "resource template",
      );
      addAll(this.prompts, set.name, set.prompts, (p) => p.name, "prompt");
    }
  }
}

/**
 * Matches `uri` against an RFC 6570 level-1 template; returns the variables or
 * null. A value that is not valid percent-encoding cannot come from expanding
 * the template, so such a URI does not match (resource not found, not a throw).
 */
export function matchTemplate(template: string, uri: string): Record<string, string> | null {
  const names: string[] = [];
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const variable = /^\{([^}]+)\}$/.exec(part);
      if (!variable?.[1]) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(variable[1]);
      return "([^/]+)";
    })
    .join("");
  const match = new RegExp(`^${pattern}$`).exec(uri);
  if (!match) return null;
  try {
    return Object.fromEntries(
      names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? "")]),
    );
  } catch {
    return null;
  }
}

function addAll<T>(
  into: Map<string, Owned<T>>,
  toolset: string,
  items: readonly T[],
  key: (item: T) => string,
  noun: string,
): void {
  for (const item of items) {
    const name = key(item);
    const existing = into.get(name);
    if (existing) {
      throw new ConfigError(
        `TOOLSETS: ${noun} "${name}" is defined by both "${existing.toolset}" and "${toolset}"`,
      );
    }
    into.set(name, { toolset, item });
  }
}

/** Parses the TOOLSETS var ("default,extras"); unknown names are a ConfigError. */
export function parseToolsets(value: string | undefined): Toolset[] {
  const names = (value ?? "default")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) names.push("default");
  const unique = [...new Set(names)];
  return unique.map((name) => {
    const set = TOOLSET_CATALOGUE[name];
    if (!set) {
      throw new ConfigError(
        `TOOLSETS: unknown toolset "${name}"; known: ${Object.keys(TOOLSET_CATALOGUE).join(", ")}`,
      );
    }
    return set;
  });
}

const memo = new Map<string, ToolRegistry>();

export function registryFor(toolsetsVar: string | undefined): ToolRegistry {
  const key = toolsetsVar ?? "";
  let registry = memo.get(key);
  if (!registry) {
    registry = new ToolRegistry(parseToolsets(toolsetsVar));
    memo.set(key, registry);
  }
  return registry;
}
