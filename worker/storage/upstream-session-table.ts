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
import { tableExists, tableSpec } from "./schema";
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
  /** Memo of "the table exists"; reset by forget() when the storage is deleted. */
  #hasTable = false;

  constructor(private readonly sql: SqlStorage) {}

  /** The storage was deleted: the table is gone. */
  forget(): void {
    this.#hasTable = false;
  }

  loadUpstream(name: string): UpstreamSessionState | null {
    if (!this.#table(false)) return null;
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
    this.#table(true);
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
    if (!this.#table(false)) return;
    this.sql.exec("DELETE FROM upstream_session WHERE name = ?", name);
  }

  listUpstreams(): string[] {
    if (!this.#table(false)) return [];
    return this.sql
      .exec<{ name: string }>("SELECT name FROM upstream_session ORDER BY name")
      .toArray()
      .map((row) => row.name);
  }

  /** Whether the upstream_session table exists; creates it when `create`. */
  #table(create: boolean): boolean {
    if (this.#hasTable) return true;
    if (create) {
      this.sql.exec(tableSpec("upstream_session").ddl);
      this.#hasTable = true;
      return true;
    }
    this.#hasTable = tableExists(this.sql, "upstream_session");
    return this.#hasTable;
  }
}
