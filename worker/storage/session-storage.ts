/**
 * The session's SQLite storage. This module and the two table modules it owns
 * (pending-call-table.ts for the input bridge, upstream-session-table.ts for
 * federation) are the only code that touches `ctx.storage`.
 *
 * Layout (schema version 1):
 *   session     one row (id = 1): the session's durable state, the source of truth
 *               for the attachment cache. Columns: session_id, schema_version,
 *               created_at, phase, protocol_version, client_info (JSON),
 *               client_capabilities (JSON), log_level, wakes, attach_gen,
 *               last_active_at, principal (the creator; isolation key).
 *   tool_state  (toolset, key) -> JSON value: per-session state of stateful tools
 *               (the `counter` tool). Keys are chosen by tool code, never by
 *               clients, so the table is bounded by the number of stateful tools.
 *   pending_call  call_key -> a session-era request waiting for client input
 *               (elicitation, sampling, roots): the original request, the sealed
 *               requestState, the expected input keys and the answers so far.
 *               At most MAX_PENDING_CALLS rows; a row is deleted when the call
 *               resumes or is cancelled.
 *   subscription  uri: resources the client subscribed to (resources/subscribe);
 *               at most MAX_SUBSCRIPTIONS rows.
 *   pending_input  server-issued request id -> (call_key, input key): routes a
 *               client's response to its waiting call. At most one row per
 *               expected input of a pending call.
 *   upstream_session  upstream name -> the federated upstream session this
 *               session holds, so a woken object reuses it; one row per
 *               configured upstream at most, created lazily (see
 *               upstream-session-table.ts).
 *
 * Growth bound: O(1) rows per session plus one row per stateful tool key; client
 * info and capabilities are capped at MAX_CLIENT_JSON_BYTES each.
 *
 * Writes are synchronous SQLite statements; the runtime's output gate holds
 * any reply until they are durable, so an acknowledged change is never lost.
 * A session "exists" exactly when its `session` row does.
 */

import { PHASES, type Phase } from "../../shared/lifecycle";
import {
  type ClientCapabilities,
  type Implementation,
  LOG_LEVELS,
  type LogLevel,
} from "../../shared/protocol";
import { cappedJson, parseJsonObject } from "./stored-json";

export { MAX_CLIENT_JSON_BYTES } from "./stored-json";

import { PendingCallTable } from "./pending-call-table";
import { UpstreamSessionTable } from "./upstream-session-table";

export { MAX_PENDING_CALLS, type PendingCall } from "./pending-call-table";

const SCHEMA_VERSION = 1;
/** Bound on resources/subscribe entries per session. */
export const MAX_SUBSCRIPTIONS = 256;

export interface SessionRecord {
  sessionId: string;
  createdAt: number;
  phase: Phase;
  protocolVersion: string | null;
  clientInfo: Implementation | null;
  clientCapabilities: ClientCapabilities | null;
  logLevel: LogLevel;
  wakes: number;
  attachGen: number;
  lastActiveAt: number;
  /** Who created the session; only they may reach it (another principal gets 404). */
  principal: string;
}

interface SessionRow extends Record<string, SqlStorageValue> {
  session_id: string;
  created_at: number;
  phase: string;
  protocol_version: string | null;
  client_info: string | null;
  client_capabilities: string | null;
  log_level: string;
  wakes: number;
  attach_gen: number;
  last_active_at: number;
  principal: string;
}

export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/**
 * What method handlers and tools may change about a session. SessionStorage
 * implements it over SQLite; stateless 2026-07-28 HTTP requests, which have no
 * session object, get an EphemeralStore that forgets everything after the request.
 */
export interface SessionStore {
  saveHandshake(input: {
    phase: Phase;
    protocolVersion: string;
    clientInfo: Implementation;
    clientCapabilities: ClientCapabilities;
  }): void;
  savePhase(phase: Phase): void;
  saveLogLevel(level: LogLevel): void;
  getToolState(toolset: string, key: string): unknown;
  setToolState(toolset: string, key: string, value: unknown): void;
  addSubscription(uri: string): boolean;
  removeSubscription(uri: string): void;
  listSubscriptions(): string[];
}

export class SessionStorage implements SessionStore {
  readonly #sql: SqlStorage;
  readonly #storage: DurableObjectStorage;
  /** Memo of "the schema exists": once true it stays true until destroy(). */
  #hasSchema = false;
  /** Session-era calls waiting for client input (pending_call, pending_input). */
  readonly pending: PendingCallTable;
  /** The federated upstream sessions this session holds (upstream_session). */
  readonly upstreams: UpstreamSessionTable;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.pending = new PendingCallTable(storage, () => this.#tableExists());
    this.upstreams = new UpstreamSessionTable(storage.sql);
  }

  /** Whether this object holds a live session (never creates anything). */
  exists(): boolean {
    return (
      this.#tableExists() &&
      this.#sql.exec("SELECT 1 FROM session WHERE id = 1").toArray().length > 0
    );
  }

  /** Creates the session row; idempotent for the same id. */
  create(sessionId: string, now: number, principal: string): SessionRecord {
    this.#migrate();
    this.#sql.exec(
      `INSERT OR IGNORE INTO session (id, session_id, schema_version, created_at, phase, log_level,
         wakes, attach_gen, last_active_at, principal)
       VALUES (1, ?, ?, ?, 'new', ?, 1, 0, ?, ?)`,
      sessionId,
      SCHEMA_VERSION,
      now,
      DEFAULT_LOG_LEVEL,
      now,
      principal,
    );
    return this.read() as SessionRecord;
  }

  read(): SessionRecord | null {
    if (!this.#tableExists()) return null;
    const row = this.#sql.exec<SessionRow>("SELECT * FROM session WHERE id = 1").toArray()[0];
    return row ? toRecord(row) : null;
  }

  /** Counts one construction of the object (a wake). No-op when no session lives here. */
  countWake(): void {
    if (!this.#tableExists()) return;
    this.#sql.exec("UPDATE session SET wakes = wakes + 1 WHERE id = 1");
  }

  /** Bumps and returns the attach generation for a newly attached socket. */
  nextAttachGeneration(now: number): number {
    this.#sql.exec(
      "UPDATE session SET attach_gen = attach_gen + 1, last_active_at = ? WHERE id = 1",
      now,
    );
    const row = this.#sql
      .exec<{ attach_gen: number }>("SELECT attach_gen FROM session WHERE id = 1")
      .one();
    return row.attach_gen;
  }

  saveHandshake(input: {
    phase: Phase;
    protocolVersion: string;
    clientInfo: Implementation;
    clientCapabilities: ClientCapabilities;
  }): void {
    this.#sql.exec(
      `UPDATE session SET phase = ?, protocol_version = ?, client_info = ?, client_capabilities = ?
       WHERE id = 1`,
      input.phase,
      input.protocolVersion,
      cappedJson(input.clientInfo),
      cappedJson(input.clientCapabilities),
    );
  }

  savePhase(phase: Phase): void {
    this.#sql.exec("UPDATE session SET phase = ? WHERE id = 1", phase);
  }

  saveLogLevel(level: LogLevel): void {
    this.#sql.exec("UPDATE session SET log_level = ? WHERE id = 1", level);
  }

  getToolState(toolset: string, key: string): unknown {
    if (!this.#tableExists()) return undefined;
    const row = this.#sql
      .exec<{ value: string }>(
        "SELECT value FROM tool_state WHERE toolset = ? AND key = ?",
        toolset,
        key,
      )
      .toArray()[0];
    return row ? JSON.parse(row.value) : undefined;
  }

  setToolState(toolset: string, key: string, value: unknown): void {
    this.#sql.exec(
      `INSERT INTO tool_state (toolset, key, value) VALUES (?, ?, ?)
       ON CONFLICT (toolset, key) DO UPDATE SET value = excluded.value`,
      toolset,
      key,
      JSON.stringify(value),
    );
  }

  /** Adds a subscription; false when the session is at MAX_SUBSCRIPTIONS. */
  addSubscription(uri: string): boolean {
    const n = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscription").one().n;
    const exists =
      this.#sql.exec("SELECT 1 FROM subscription WHERE uri = ?", uri).toArray().length > 0;
    if (exists) return true;
    if (n >= MAX_SUBSCRIPTIONS) return false;
    this.#sql.exec("INSERT INTO subscription (uri) VALUES (?)", uri);
    return true;
  }

  removeSubscription(uri: string): void {
    this.#sql.exec("DELETE FROM subscription WHERE uri = ?", uri);
  }

  listSubscriptions(): string[] {
    if (!this.#tableExists()) return [];
    return this.#sql
      .exec<{ uri: string }>("SELECT uri FROM subscription ORDER BY uri")
      .toArray()
      .map((row) => row.uri);
  }

  /** Records activity and (re)arms the expiry alarm at `expiresAt`. */
  touch(now: number, expiresAt: number): void {
    if (!this.#tableExists()) return;
    this.#sql.exec("UPDATE session SET last_active_at = ? WHERE id = 1", now);
    void this.#storage.setAlarm(expiresAt);
  }

  scheduleAlarm(at: number): void {
    void this.#storage.setAlarm(at);
  }

  /**
   * Deletes up to `budget` rows of session data (everything but the session
   * row, which keeps the ended phase so the id answers 404 meanwhile).
   * Returns true when nothing is left but the session row. Resumable: each
   * call picks up where the last one stopped.
   */
  purgeStep(budget: number): boolean {
    if (!this.#tableExists()) return true;
    let left = budget;
    for (const table of ["tool_state", "subscription", "pending_input", "pending_call"]) {
      if (left <= 0) break;
      left -= this.#sql.exec(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} LIMIT ?)`,
        left,
      ).rowsWritten;
    }
    if (left <= 0) return false;
    const remaining = ["tool_state", "subscription", "pending_input", "pending_call"].some(
      (table) => this.#sql.exec(`SELECT 1 FROM ${table} LIMIT 1`).toArray().length > 0,
    );
    return !remaining;
  }

  /** Removes every trace of the session (tables, alarms, KV). */
  async destroy(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#hasSchema = false;
    this.upstreams.forget();
  }

  #tableExists(): boolean {
    if (this.#hasSchema) return true;
    this.#hasSchema =
      this.#sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'")
        .toArray().length > 0;
    return this.#hasSchema;
  }

  #migrate(): void {
    this.#hasSchema = true;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS session (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        session_id TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        phase TEXT NOT NULL,
        protocol_version TEXT,
        client_info TEXT,
        client_capabilities TEXT,
        log_level TEXT NOT NULL,
        wakes INTEGER NOT NULL,
        attach_gen INTEGER NOT NULL,
        last_active_at INTEGER NOT NULL,
        principal TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE IF NOT EXISTS tool_state (
        toolset TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (toolset, key)
      );
      CREATE TABLE IF NOT EXISTS pending_call (
        call_key TEXT PRIMARY KEY,
        request TEXT NOT NULL,
        expected TEXT NOT NULL,
        responses TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS subscription (uri TEXT PRIMARY KEY);
      CREATE TABLE IF NOT EXISTS pending_input (
        server_id TEXT PRIMARY KEY,
        call_key TEXT NOT NULL,
        input_key TEXT NOT NULL
      );
    `);
  }
}

function toRecord(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    createdAt: row.created_at,
    phase: (PHASES as readonly string[]).includes(row.phase) ? (row.phase as Phase) : "new",
    protocolVersion: row.protocol_version,
    clientInfo: parseJsonObject<Implementation>(row.client_info),
    clientCapabilities: parseJsonObject<ClientCapabilities>(row.client_capabilities),
    logLevel: (LOG_LEVELS as readonly string[]).includes(row.log_level)
      ? (row.log_level as LogLevel)
      : DEFAULT_LOG_LEVEL,
    wakes: row.wakes,
    attachGen: row.attach_gen,
    lastActiveAt: row.last_active_at,
    principal: row.principal,
  };
}
