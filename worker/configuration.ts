/**
 * The Worker's checked configuration: UPSTREAMS validated against the
 * built-ins TOOLSETS enables (an upstream prefix must not shadow them).
 * Memoised per isolate; throws ConfigError naming the field and the reason.
 */
import { registryFor } from "./tools/registry";
import { type Upstream, upstreamsFor } from "./upstreams";

export function configuredUpstreams(env: { TOOLSETS?: string }): Upstream[] {
  const registry = registryFor(env.TOOLSETS);
  return upstreamsFor(env as unknown as Record<string, unknown>, [
    ...registry.tools.keys(),
    ...registry.prompts.keys(),
  ]);
}
