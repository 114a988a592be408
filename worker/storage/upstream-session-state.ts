/**
 * The shape of a federated upstream session as a gateway session remembers it,
 * and the store interface both keepers implement: the upstream_session table of
 * a session object (upstream-session-table.ts) and the isolate pool of stateless
 * requests (federation/store.ts). Plain types, importable from Node tests.
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

/**
 * Where a gateway session keeps the upstream sessions it holds: this table in a
 * session object, an isolate-wide pool for stateless requests (federation/store.ts).
 */
export interface UpstreamSessionStore {
  loadUpstream(name: string): UpstreamSessionState | null;
  saveUpstream(name: string, state: UpstreamSessionState): void;
  deleteUpstream(name: string): void;
  /** Names of the upstreams this session holds a session with. */
  listUpstreams(): string[];
}
