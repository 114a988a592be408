/**
 * The Worker's checked configuration: UPSTREAMS validated against the
 * built-ins TOOLSETS enables (an upstream prefix must not shadow them).
 * Throws ConfigError naming the field and the reason.
 *
 * Memoised per isolate on the vars themselves (a string compares by value, a
 * JSON value by identity), so the router's per-request check and a woken
 * object's constructor cost one comparison.
 */
import { registryFor } from "../tools/registry";
import { type Upstream, upstreamsFor } from "./upstreams";

let memo: { toolsets: string | undefined; raw: unknown; upstreams: Upstream[] } | null = null;

export function configuredUpstreams(env: { TOOLSETS?: string }): Upstream[] {
  const raw = (env as { UPSTREAMS?: unknown }).UPSTREAMS;
  if (memo && memo.raw === raw && memo.toolsets === env.TOOLSETS) return memo.upstreams;
  const registry = registryFor(env.TOOLSETS);
  const upstreams = upstreamsFor(env as unknown as Record<string, unknown>, [
    ...registry.tools.keys(),
    ...registry.prompts.keys(),
  ]);
  memo = { toolsets: env.TOOLSETS, raw, upstreams };
  return upstreams;
}
