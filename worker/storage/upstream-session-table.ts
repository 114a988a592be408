/**
 * The `upstream_session` table of a session object: upstream name -> the
 * federated upstream session this session holds (its Mcp-Session-Id, the
 * negotiated version, the upstream's capabilities, the client capabilities
 * declared to it), so a woken object continues the same upstream session.
 *
 * At most one row per configured upstream (MAX_UPSTREAMS). Created at the first
 * save (lazy in schema.ts), so sessions stored before federation existed need no
 * migration; purged with the rest of the session's storage.
 */
import type { SchemaTables } from "./schema";
import { cappedJson, parseJsonObject } from "./stored-json";
import type { UpstreamSessionState, UpstreamSessionStore } from "./upstream-session-state";

interface UpstreamRow extends Record<string, SqlStorageValue> {
  name: string;
  session_id: string | null;
  protocol_version: string;
  capabilities: string;
  declared: string;
  updated_at: number;
}

export class UpstreamSessionTable implements UpstreamSessionStore {
  constructor(
    private readonly sql: SqlStorage,
    /** Which tables exist: this one is created at the first save. */
    private readonly tables: SchemaTables,
  ) {}

  loadUpstream(name: string): UpstreamSessionState | null {
    if (!this.tables.has("upstream_session")) return null;
    const row = this.sql
      .exec<UpstreamRow>("SELECT * FROM upstream_session WHERE name = ?", name)
      .toArray()[0];
    if (!row) return null;
    return {
      sessionId: row.session_id,
      protocolVersion: row.protocol_version,
      capabilities: parseJsonObject<Record<string, unknown>>(row.capabilities) ?? {},
      declared: parseJsonObject<Record<string, unknown>>(row.declared) ?? {},
    };
  }

  saveUpstream(name: string, state: UpstreamSessionState): void {
    this.tables.ensure("upstream_session");
    this.sql.exec(
      `INSERT OR REPLACE INTO upstream_session
         (name, session_id, protocol_version, capabilities, declared, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      name,
      state.sessionId,
      state.protocolVersion,
      cappedJson(state.capabilities),
      cappedJson(state.declared),
      Date.now(),
    );
  }

  deleteUpstream(name: string): void {
    if (!this.tables.has("upstream_session")) return;
    this.sql.exec("DELETE FROM upstream_session WHERE name = ?", name);
  }

  listUpstreams(): string[] {
    if (!this.tables.has("upstream_session")) return [];
    return this.sql
      .exec<{ name: string }>("SELECT name FROM upstream_session ORDER BY name")
      .toArray()
      .map((row) => row.name);
  }
}
