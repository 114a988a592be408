/**
 * The session's SQLite storage: the `session` row (its shape in
 * session-record.ts), plus the table modules it owns: tool-state-table.ts and
 * subscription-table.ts (behind the SessionStore methods), pending-call-table.ts
 * for the input bridge, upstream-session-table.ts for federation,
 * outbox-table.ts for replay, task-waiter-table.ts for tasks. With
 * attachment.ts, this folder is the only code that touches `ctx.storage`;
 * every table's DDL and the purge order are in schema.ts.
 *
 * Growth bound: O(1) rows per session plus one row per stateful tool key; client
 * info and capabilities are capped at MAX_CLIENT_JSON_BYTES each.
 *
 * Writes are synchronous SQLite statements; the runtime's output gate holds
 * any reply until they are durable, so an acknowledged change is never lost.
 * A session "exists" exactly when its `session` row does, or, created by
 * createSoon(), while that row waits in memory for the session's first write.
 */

import type { Phase } from "../../shared/lifecycle";
import type { ClientCapabilities, Implementation, LogLevel } from "../../shared/protocol";
import { PURGE_ORDER, SCHEMA_VERSION, SchemaTables } from "./schema";
import {
  DEFAULT_LOG_LEVEL,
  newSessionRecord,
  type SessionRecord,
  type SessionRow,
  toRecord,
} from "./session-record";
import { cappedJson } from "./stored-json";

export { MAX_CLIENT_JSON_BYTES } from "./stored-json";

import { OutboxTable } from "./outbox-table";
import { PendingCallTable } from "./pending-call-table";
import { SubscriptionTable } from "./subscription-table";
import { TaskWaiterTable } from "./task-waiter-table";
import { ToolStateTable } from "./tool-state-table";
import { UpstreamSessionTable } from "./upstream-session-table";

export { MAX_PENDING_CALLS, type PendingCall } from "./pending-call-table";
export { DEFAULT_LOG_LEVEL, type SessionRecord } from "./session-record";
export { MAX_SUBSCRIPTIONS } from "./subscription-table";

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
  /** Which tables exist (each but `session` is created at its first write). */
  readonly #tables: SchemaTables;
  /** Wakes counted in memory and not written yet (countWake). */
  #pendingWakes = 0;
  /** This object lifetime created the session (nothing of it existed before). */
  #createdHere = false;
  /** The client sent notifications/initialized; `ready` not written yet (savePhase). */
  #pendingReady = false;
  /** A session created by createSoon() whose row is not written yet. */
  #unwritten: { record: SessionRecord; alarmAt: number | null } | null = null;
  /** Schedules flushDeferred(); without a runtime (tests), writes at once. */
  #writeSoon: () => void = () => this.flushDeferred();
  readonly #toolState: ToolStateTable;
  readonly #subscriptions: SubscriptionTable;
  /** Session-era calls waiting for client input (pending_call, pending_input). */
  readonly pending: PendingCallTable;
  /** The federated upstream sessions this session holds (upstream_session). */
  readonly upstreams: UpstreamSessionTable;
  /** The replay store: recent outgoing messages per stream (outbox, outbox_stream). */
  readonly outbox: OutboxTable;
  /** Session-era links to tasks: waiting tasks/result, sent input requests (task_waiter, task_input). */
  readonly taskWaiters: TaskWaiterTable;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    // A table of the session's other state is created only after its row.
    this.#tables = new SchemaTables(storage.sql, () => this.#writeRow());
    this.#toolState = new ToolStateTable(storage.sql, this.#tables);
    this.#subscriptions = new SubscriptionTable(storage.sql, this.#tables);
    this.pending = new PendingCallTable(storage, this.#tables);
    this.upstreams = new UpstreamSessionTable(storage.sql, this.#tables);
    this.outbox = new OutboxTable(storage.sql, this.#tables);
    this.taskWaiters = new TaskWaiterTable(storage.sql, this.#tables);
  }

  /** Whether this object holds a live session (never creates anything). */
  exists(): boolean {
    if (this.#unwritten) return true;
    return (
      this.#tables.has("session") &&
      this.#sql.exec("SELECT 1 FROM session WHERE id = 1").toArray().length > 0
    );
  }

  /**
   * Creates the session row in one statement (the `session` table first, for a
   * new object): `attachGen` 1 for a session created by a socket upgrade, 0 by
   * an HTTP initialize. Idempotent for the same id: an existing row is kept
   * and returned.
   */
  create(sessionId: string, now: number, principal: string, attachGen = 0): SessionRecord {
    // No sqlite_master read first: the DDL is IF NOT EXISTS, and a row inserted
    // here means the database held no session, hence no other table (below).
    this.#tables.ensureBlind("session");
    const row = this.#sql
      .exec<SessionRow>(
        `INSERT OR IGNORE INTO session (id, session_id, schema_version, created_at, phase, log_level,
           wakes, attach_gen, last_active_at, principal)
         VALUES (1, ?, ?, ?, 'new', ?, 1, ?, ?, ?)
         RETURNING *`,
        sessionId,
        SCHEMA_VERSION,
        now,
        DEFAULT_LOG_LEVEL,
        attachGen,
        now,
        principal,
      )
      .toArray()[0];
    if (!row) return this.read() as SessionRecord;
    // Every other table is written only while the session row exists, and the
    // row goes only with the whole storage (purge, then deleteAll): a new row
    // means `session` is the only table.
    this.#tables.onlySession();
    // This construction created the session: its row already counts it (wakes = 1).
    this.#pendingWakes = 0;
    this.#createdHere = true;
    return toRecord(row);
  }

  /**
   * Creates a session whose row waits for the session's first write (its
   * `initialize` handshake, in practice), or for the deferred write within
   * DEFERRED_WRITE_MS, whichever comes first; an alarm set meanwhile waits
   * with it. A WebSocket session's setup so commits once, where the row
   * before the 101 and the handshake would commit twice. What a crash before
   * that write loses is a session nobody initialized: its client's re-attach
   * gets 404 and it starts another. read() and exists() answer from memory
   * meanwhile. Only for a new object (an id the router has just minted).
   */
  createSoon(sessionId: string, now: number, principal: string, attachGen: number): SessionRecord {
    const record = newSessionRecord(sessionId, now, principal, attachGen);
    this.#unwritten = { record, alarmAt: null };
    // A new object holds no table: what the first requests ask of storage (a
    // waiting call with their id?) is answered without reading sqlite_master.
    this.#tables.none();
    // This construction creates the session: its row will count it (wakes = 1).
    this.#pendingWakes = 0;
    this.#createdHere = true;
    this.#writeSoon();
    return { ...record };
  }

  /** Writes the row createSoon() held, and its alarm (nothing when there is none). */
  #writeRow(): void {
    const unwritten = this.#unwritten;
    if (!unwritten) return;
    this.#unwritten = null;
    const { record, alarmAt } = unwritten;
    this.create(record.sessionId, record.createdAt, record.principal, record.attachGen);
    if (alarmAt !== null) void this.#storage.setAlarm(alarmAt);
  }

  /** Whether this object lifetime created the session (so no earlier one sent anything). */
  createdHere(): boolean {
    return this.#createdHere;
  }

  read(): SessionRecord | null {
    if (this.#unwritten) return { ...this.#unwritten.record };
    if (!this.#tables.has("session")) return null;
    const row = this.#sql.exec<SessionRow>("SELECT * FROM session WHERE id = 1").toArray()[0];
    if (!row) return null;
    const record = toRecord(row);
    record.wakes += this.#pendingWakes;
    if (this.#pendingReady && record.phase === "initializing") record.phase = "ready";
    return record;
  }

  /**
   * Counts one construction of the object (a wake), in memory: written by
   * flushDeferred() (the runtime's deferred write, within seconds) so the
   * first reply after a wake does not wait for a commit; read() includes it.
   * A construction that then creates the session is not a wake (its row
   * starts at wakes = 1).
   */
  countWake(): void {
    this.#pendingWakes += 1;
    this.#writeSoon();
  }

  /** Who writes what is held (the runtime's timer): called whenever something is. */
  deferWritesTo(schedule: () => void): void {
    this.#writeSoon = schedule;
  }

  /**
   * Writes what is held in memory: the wakes counted, and the `ready` phase
   * (notifications/initialized), which changes nothing a request can do
   * (`initializing` serves the same requests), so it waits for this write
   * instead of costing a commit of its own; a crash before it leaves the
   * session `initializing`. Only over `initializing`: a session ended or
   * renegotiated in between keeps its phase.
   */
  flushDeferred(): void {
    this.#writeRow();
    if ((this.#pendingWakes === 0 && !this.#pendingReady) || !this.#tables.has("session")) {
      this.#pendingWakes = 0;
      this.#pendingReady = false;
      return;
    }
    this.#sql.exec(
      `UPDATE session SET wakes = wakes + ?,
         phase = CASE WHEN ? AND phase = 'initializing' THEN 'ready' ELSE phase END
       WHERE id = 1`,
      this.#pendingWakes,
      this.#pendingReady ? 1 : 0,
    );
    this.#pendingWakes = 0;
    this.#pendingReady = false;
  }

  /**
   * A write is being made anyway: what is held goes with it, in the same
   * commit (a statement more, no commit more), so anything acknowledged after
   * it cannot outlive it in a crash.
   */
  #alongside(): void {
    this.#writeRow();
    if (this.#pendingWakes > 0 || this.#pendingReady) this.flushDeferred();
  }

  /** Bumps and returns the attach generation for a newly attached socket. */
  nextAttachGeneration(now: number): number {
    this.#alongside();
    return this.#sql
      .exec<{ attach_gen: number }>(
        "UPDATE session SET attach_gen = attach_gen + 1, last_active_at = ? WHERE id = 1 RETURNING attach_gen",
        now,
      )
      .one().attach_gen;
  }

  saveHandshake(input: {
    phase: Phase;
    protocolVersion: string;
    clientInfo: Implementation;
    clientCapabilities: ClientCapabilities;
  }): void {
    this.#pendingReady = false;
    this.#alongside();
    this.#sql.exec(
      `UPDATE session SET phase = ?, protocol_version = ?, client_info = ?, client_capabilities = ?
       WHERE id = 1`,
      input.phase,
      input.protocolVersion,
      cappedJson(input.clientInfo),
      cappedJson(input.clientCapabilities),
    );
  }

  /** Saves the phase; `ready` is held for the deferred write (see flushDeferred). */
  savePhase(phase: Phase): void {
    this.#pendingReady = phase === "ready";
    if (phase === "ready") {
      this.#writeSoon();
      return;
    }
    this.#alongside();
    this.#sql.exec("UPDATE session SET phase = ? WHERE id = 1", phase);
  }

  saveLogLevel(level: LogLevel): void {
    this.#alongside();
    this.#sql.exec("UPDATE session SET log_level = ? WHERE id = 1", level);
  }

  getToolState(toolset: string, key: string): unknown {
    return this.#toolState.get(toolset, key);
  }

  setToolState(toolset: string, key: string, value: unknown): void {
    this.#alongside();
    this.#toolState.set(toolset, key, value);
  }

  /** Adds a subscription; false when the session is at MAX_SUBSCRIPTIONS. */
  addSubscription(uri: string): boolean {
    this.#alongside();
    return this.#subscriptions.add(uri);
  }

  removeSubscription(uri: string): void {
    this.#subscriptions.remove(uri);
  }

  listSubscriptions(): string[] {
    return this.#subscriptions.list();
  }

  /** Records activity (the idle TTL counts from it). */
  touch(now: number): void {
    this.#alongside();
    if (!this.#tables.has("session")) return;
    this.#sql.exec("UPDATE session SET last_active_at = ? WHERE id = 1", now);
  }

  scheduleAlarm(at: number): void {
    if (this.#unwritten) {
      this.#unwritten.alarmAt = at;
      return;
    }
    void this.#storage.setAlarm(at);
  }

  /**
   * Deletes up to `budget` rows of session data (everything but the session
   * row, which keeps the ended phase so the id answers 404 meanwhile).
   * Returns true when nothing is left but the session row. Resumable: each
   * call picks up where the last one stopped.
   */
  purgeStep(budget: number): boolean {
    if (!this.#tables.has("session")) return true;
    const tables = PURGE_ORDER.filter((table) => this.#tables.has(table));
    let left = budget;
    for (const table of tables) {
      if (left <= 0) break;
      left -= this.#sql.exec(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} LIMIT ?)`,
        left,
      ).rowsWritten;
    }
    if (left <= 0) return false;
    return !tables.some(
      (table) => this.#sql.exec(`SELECT 1 FROM ${table} LIMIT 1`).toArray().length > 0,
    );
  }

  /** Removes every trace of the session (tables, alarms, KV). */
  async destroy(): Promise<void> {
    this.#unwritten = null;
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#tables.forget();
    this.#pendingWakes = 0;
    this.#pendingReady = false;
    this.outbox.forget();
  }
}
