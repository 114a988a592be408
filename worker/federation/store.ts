/**
 * Where a gateway session keeps the upstream sessions it holds.
 *
 * Session objects keep them in SQLite (SessionStorage), so an evicted object
 * reconnects to the same upstream session. Stateless 2026-07-28 requests have
 * no session: they share an isolate-wide pool keyed by principal and by the
 * client capabilities declared upstream (an upstream may offer different tools
 * to a client that can answer elicitations), so one principal never reaches
 * another principal's upstream state. The pool is bounded (LRU).
 */

/** What we remember of an upstream session between calls and object lifetimes. */
export interface UpstreamSessionState {
  /** Mcp-Session-Id the upstream issued; null for an upstream that keeps no sessions. */
  sessionId: string | null;
  protocolVersion: string;
  /** The upstream's declared capabilities (which lists it serves). */
  capabilities: Record<string, unknown>;
  /**
   * The client capabilities the gateway declared when it opened the session (the
   * caller's elicitation/sampling/roots): a session-era client that changes them
   * gets a new upstream session, since an upstream may offer other tools.
   */
  declared: Record<string, unknown>;
}

export interface UpstreamSessionStore {
  loadUpstream(name: string): UpstreamSessionState | null;
  saveUpstream(name: string, state: UpstreamSessionState): void;
  deleteUpstream(name: string): void;
  /** Names of the upstreams this session holds a session with. */
  listUpstreams(): string[];
}

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
