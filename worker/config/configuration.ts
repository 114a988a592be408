/**
 * The Worker's checked configuration: UPSTREAMS validated against the
 * built-ins TOOLSETS enables (an upstream prefix must not shadow them), and
 * ACCESS_POLICY. Throws ConfigError naming the field and the reason.
 *
 * Memoised per isolate on the vars themselves (a string compares by value, a
 * JSON value by identity), so the router's per-request check and a woken
 * object's constructor cost one comparison.
 */
import { registryFor } from "../tools/registry";
import { type AccessPolicy, parseAccessPolicy } from "./access-policy";
import { type Upstream, upstreamsFor } from "./upstreams";

let memo: { toolsets: string | undefined; raw: unknown; upstreams: Upstream[] } | null = null;
let policyMemo: { raw: unknown; policy: AccessPolicy | null } | null = null;

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

/** ACCESS_POLICY, or null when unset (everything allowed). */
export function configuredPolicy(env: object): AccessPolicy | null {
  const raw = (env as { ACCESS_POLICY?: unknown }).ACCESS_POLICY;
  if (policyMemo && policyMemo.raw === raw) return policyMemo.policy;
  const policy = parseAccessPolicy(raw);
  policyMemo = { raw, policy };
  return policy;
}

/** Validates every checked var (TOOLSETS, UPSTREAMS, ACCESS_POLICY); throws ConfigError. */
export function checkConfiguration(env: { TOOLSETS?: string }): void {
  configuredUpstreams(env);
  configuredPolicy(env);
}
