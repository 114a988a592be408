/**
 * Every SQLite table of a session object, in one place: its DDL, and the order
 * in which an ended session's rows are purged. No other module creates a
 * table. Creating a session writes the `session` table and its one row; every
 * other table is created at its first write (SchemaTables.ensure), so a
 * session that never uses a table never pays for it.
 *
 * Layout (schema version 1; see each table module for its rows and bounds):
 *   session           one row (id = 1): the session's durable state and the
 *                     source of truth for the socket attachment (attachment.ts).
 *   tool_state        (toolset, key) -> JSON: state of stateful tools (counter).
 *   subscription      uri: resources/subscribe entries (MAX_SUBSCRIPTIONS).
 *   pending_call      a session-era call waiting for client input (input bridge).
 *   pending_input     server-issued request id -> (call_key, input key).
 *   upstream_session  upstream name -> the federated upstream session held;
 *                     lazy, so sessions stored before federation need no migration.
 *   outbox            the session's recent outgoing messages, numbered per stream
 *                     (the WebSocket sequence "ws", and each SSE reply stream), for
 *                     replay after a dropped connection; at most OUTBOX_MAX_ROWS
 *                     rows and OUTBOX_MAX_BYTES characters (outbox-table.ts). Lazy.
 *   outbox_stream     stream -> its last sequence number, whether its final reply
 *                     was sent, and the call it answers; at most
 *                     OUTBOX_MAX_STREAMS reply streams besides "ws". Lazy.
 *   task_waiter       a session-era `tasks/result` waiting for its task to end
 *                     (lazy; at most MAX_TASK_WAITERS_PER_SESSION rows).
 *   task_input        server-issued request id -> (task id, input key): routes a
 *                     client's answer to an elicitation a task asked for (lazy).
 *
 * A session "exists" exactly when its `session` row does; ending it purges the
 * other tables in bounded steps (PURGE_ORDER), then deletes everything.
 */

export const SCHEMA_VERSION = 1;

export interface TableSpec {
  name: string;
  ddl: string;
  /** Created at its first write rather than with the session. */
  lazy: boolean;
}

const SESSION_TABLE: TableSpec = {
  name: "session",
  lazy: false,
  ddl: `CREATE TABLE IF NOT EXISTS session (
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
  )`,
};

export const TABLES: readonly TableSpec[] = [
  SESSION_TABLE,
  {
    name: "tool_state",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS tool_state (
      toolset TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      PRIMARY KEY (toolset, key)
    )`,
  },
  {
    name: "pending_call",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS pending_call (
      call_key TEXT PRIMARY KEY,
      request TEXT NOT NULL,
      expected TEXT NOT NULL,
      responses TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`,
  },
  {
    name: "subscription",
    lazy: true,
    ddl: "CREATE TABLE IF NOT EXISTS subscription (uri TEXT PRIMARY KEY)",
  },
  {
    name: "pending_input",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS pending_input (
      server_id TEXT PRIMARY KEY,
      call_key TEXT NOT NULL,
      input_key TEXT NOT NULL
    )`,
  },
  {
    name: "upstream_session",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS upstream_session (
      name TEXT PRIMARY KEY,
      session_id TEXT,
      protocol_version TEXT NOT NULL,
      capabilities TEXT NOT NULL,
      declared TEXT NOT NULL DEFAULT '{}',
      updated_at INTEGER NOT NULL
    )`,
  },
  {
    name: "outbox",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS outbox (
      n INTEGER PRIMARY KEY,
      stream TEXT NOT NULL,
      seq INTEGER NOT NULL,
      body TEXT,
      size INTEGER NOT NULL,
      delivered INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_by_stream ON outbox (stream, seq)`,
  },
  {
    name: "outbox_stream",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS outbox_stream (
      stream TEXT PRIMARY KEY,
      last_seq INTEGER NOT NULL,
      final INTEGER NOT NULL DEFAULT 0,
      call_key TEXT,
      created_at INTEGER NOT NULL
    )`,
  },
  {
    name: "task_waiter",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS task_waiter (
      request_key TEXT PRIMARY KEY,
      request_id TEXT NOT NULL,
      task_id TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`,
  },
  {
    name: "task_input",
    lazy: true,
    ddl: `CREATE TABLE IF NOT EXISTS task_input (
      server_id TEXT PRIMARY KEY,
      task_id TEXT NOT NULL,
      input_key TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`,
  },
];

/** Tables purged row by row when a session ends: every table but `session`. */
export const PURGE_ORDER: readonly string[] = TABLES.filter((t) => t !== SESSION_TABLE).map(
  (t) => t.name,
);

export function tableSpec(name: string): TableSpec {
  const spec = TABLES.find((t) => t.name === name);
  if (!spec) throw new Error(`no such table in the schema: ${name}`);
  return spec;
}

/** Whether `name` exists in this object's database. */
export function tableExists(sql: SqlStorage, name: string): boolean {
  return (
    sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray()
      .length > 0
  );
}

/**
 * Which tables exist in one object's database: read in one query the first
 * time it is asked (each statement is compiled anew in every object lifetime,
 * so one query on a wake beats one per table), then kept up to date by
 * ensure() and forget(). Every table is created through ensure() of the
 * object's one SessionStorage, and dropped only with the whole storage.
 */
export class SchemaTables {
  #present: Set<string> | null = null;

  /** `beforeCreate` runs before ensure() creates a table other than `session`. */
  constructor(
    private readonly sql: SqlStorage,
    private readonly beforeCreate: () => void = () => {},
  ) {}

  has(name: string): boolean {
    this.#present ??= new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((row) => row.name),
    );
    return this.#present.has(name);
  }

  /**
   * Creates `name` (with its indexes) when it does not exist yet; true when it
   * did not. Every other table belongs to a session row: where there is none (its
   * storage deleted when the session ended, under work that was still finishing)
   * this throws rather than leave tables that no alarm would ever delete.
   */
  ensure(name: string): boolean {
    if (this.has(name)) return false;
    if (name !== SESSION_TABLE.name) {
      this.beforeCreate();
      if (!this.has(SESSION_TABLE.name)) {
        throw new Error(`no session is stored in this object: table ${name} not created`);
      }
    }
    this.sql.exec(tableSpec(name).ddl);
    this.#present?.add(name);
    return true;
  }

  /**
   * Runs `name`'s DDL (IF NOT EXISTS) without first reading which tables exist:
   * cheaper where the caller is about to learn the answer anyway (creating a
   * session, see onlySession). Idempotent.
   */
  ensureBlind(name: string): void {
    if (this.#present?.has(name)) return;
    this.sql.exec(tableSpec(name).ddl);
    this.#present?.add(name);
  }

  /** The caller knows `session` is the only table (it has just created the first session row). */
  onlySession(): void {
    this.#present = new Set(["session"]);
  }

  /** The storage was deleted: no table exists any more. */
  forget(): void {
    this.#present = new Set();
  }

  /** The caller knows no table exists yet: a new object (an id the router has just minted). */
  none(): void {
    this.#present = new Set();
  }
}

/**
 * The tables of a task object (worker/tasks/task-object.ts), one task per
 * object (worker/storage/task-storage.ts):
 *   task    one row (id = 1): owner, tool, arguments, status, step state,
 *           outstanding input requests, result or error, times. Every JSON
 *           column is bounded (shared/limits.ts MAX_TASK_*).
 * Deleting a task deletes the object's whole storage (deleteAll).
 */
export const TASK_SCHEMA_DDL = `CREATE TABLE IF NOT EXISTS task (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  task_id TEXT NOT NULL,
  secret TEXT NOT NULL,
  principal TEXT NOT NULL,
  session_id TEXT,
  tool TEXT NOT NULL,
  arguments TEXT NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT,
  progress TEXT,
  progress_token TEXT,
  step INTEGER NOT NULL,
  step_state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_step_at INTEGER,
  input_requests TEXT NOT NULL,
  answers TEXT NOT NULL,
  used_keys TEXT NOT NULL,
  result TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ttl_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  poll_interval_ms INTEGER NOT NULL,
  wakes INTEGER NOT NULL
)`;
