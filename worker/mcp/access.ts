/**
 * ACCESS_POLICY applied to one call: what the caller's principal may not use
 * is left out of its lists, and every request naming it is answered exactly
 * as for a name that does not exist (the callers check here first, before
 * validating arguments or reaching an upstream, so nothing leaks existence).
 */
import type { AccessKind } from "../config/access-policy";
import type { CallContext } from "./context";

/** Whether the call's principal may see and use the `kind` item served as `name`. */
export function allowed(call: CallContext, kind: AccessKind, name: string): boolean {
  const policy = call.session.policy;
  return !policy || policy.allows(call.session.principal(), kind, name);
}

/** `items` without those the principal may not see (`field` holds the served name). */
export function visible<T extends Record<string, unknown>>(
  call: CallContext,
  kind: AccessKind,
  field: string,
  items: T[],
): T[] {
  if (!call.session.policy) return items;
  return items.filter((item) => {
    const name = item[field];
    return typeof name === "string" && allowed(call, kind, name);
  });
}
