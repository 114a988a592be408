/**
 * The isolate-wide pool of upstream sessions for stateless requests.
 *
 * Session objects keep theirs in SQLite (storage/upstream-session-table.ts), so an evicted object
 * reconnects to the same upstream session. Stateless 2026-07-28 requests have
 * no session: they share an isolate-wide pool keyed by principal and by the
 * client capabilities declared upstream (an upstream may offer different tools
 * to a client that can answer elicitations), so one principal never reaches
 * another principal's upstream state. The pool is bounded (LRU).
 */
import type { UpstreamSessionState, UpstreamSessionStore } from "../storage/upstream-session-state";

export type { UpstreamSessionState, UpstreamSessionStore };

/** Upstream sessions kept per isolate for stateless requests. */
export const MAX_POOLED_UPSTREAM_SESSIONS = 1_024;

const pool = new Map<string, UpstreamSessionState>();

/** A view of the isolate pool for one principal and one capability set. */
export function pooledUpstreamStore(
  principal: string,
  capabilities: Record<string, unknown>,
): UpstreamSessionStore {
  const scope = `${principal}\u0000${JSON.stringify(Object.keys(capabilities).sort())}\u0000`;
  return {
    loadUpstream(name) {
      const key = scope + name;
      const state = pool.get(key);
      if (!state) return null;
      // Refresh recency: Map iteration order is insertion order.
      pool.delete(key);
      pool.set(key, state);
      return state;
    },
    saveUpstream(name, state) {
      pool.delete(scope + name);
      pool.set(scope + name, state);
      while (pool.size > MAX_POOLED_UPSTREAM_SESSIONS) {
        const oldest = pool.keys().next().value;
        if (oldest === undefined) break;
        pool.delete(oldest);
      }
    },
    deleteUpstream(name) {
      pool.delete(scope + name);
    },
    listUpstreams() {
      return [...pool.keys()]
        .filter((key) => key.startsWith(scope))
        .map((key) => key.slice(scope.length));
    },
  };
}
