/**
 * The `upstream_session` table of a session object: upstream name -> the
 * federated upstream session this session holds (its Mcp-Session-Id, the
 * negotiated version, the upstream's capabilities, the client capabilities
 * declared to it), so a woken object continues the same upstream session.
 *
 * At most one row per configured upstream (MAX_UPSTREAMS). Created at the first
 * save, so sessions stored before federation existed need no migration; it
 * goes with the rest of the session's storage (deleteAll).
 */
import type { UpstreamSessionState, UpstreamSessionStore } from "../federation/store";
import { cappedJson, parseJsonObject } from "./stored-json";

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
      this.sql.exec(`
        CREATE TABLE IF NOT EXISTS upstream_session (
          name TEXT PRIMARY KEY,
          session_id TEXT,
          protocol_version TEXT NOT NULL,
          capabilities TEXT NOT NULL,
          declared TEXT NOT NULL DEFAULT '{}',
          updated_at INTEGER NOT NULL
        )`);
      this.#hasTable = true;
      return true;
    }
    this.#hasTable =
      this.sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'upstream_session'")
        .toArray().length > 0;
    return this.#hasTable;
  }
}
