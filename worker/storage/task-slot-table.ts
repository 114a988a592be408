/**
 * A principal's task slots, in its PrincipalObject (beside principal-storage.ts):
 *
 *   task_slot  task_id -> session_id, created_at, expires_at: one row per stored
 *              task of the principal, at most MAX_TASKS_PER_PRINCIPAL. Reserved
 *              when a task is created, released when the task deletes itself;
 *              a row past its task's expiry (a lost release) is purged at the
 *              next reservation, so the count may overstate live tasks for a
 *              while, never understate them. Also the index session-era
 *              `tasks/list` pages through, newest first.
 */

const DDL = `CREATE TABLE IF NOT EXISTS task_slot (
  task_id TEXT PRIMARY KEY,
  session_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
)`;

export interface TaskSlotPage {
  taskIds: string[];
  nextCursor: string | null;
}

/** `<created_at>:<task id>` of the last row of the previous page. */
const CURSOR_PATTERN = /^(\d{1,16}):([0-9a-f.]{1,128})$/;

interface SlotRow extends Record<string, SqlStorageValue> {
  task_id: string;
  created_at: number;
}

export class TaskSlotTable {
  readonly #sql: SqlStorage;
  #ready = false;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Reserves a slot; false when the principal already holds `limit` live tasks. */
  reserve(
    taskId: string,
    sessionId: string | null,
    createdAt: number,
    expiresAt: number,
    limit: number,
  ): boolean {
    const sql = this.#db();
    sql.exec("DELETE FROM task_slot WHERE expires_at <= ?", Date.now());
    const count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_slot").one().n;
    if (count >= limit) return false;
    sql.exec(
      "INSERT OR IGNORE INTO task_slot (task_id, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      taskId,
      sessionId,
      createdAt,
      expiresAt,
    );
    return true;
  }

  release(taskId: string): void {
    this.#db().exec("DELETE FROM task_slot WHERE task_id = ?", taskId);
  }

  count(): number {
    return this.#db()
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_slot WHERE expires_at > ?", Date.now())
      .one().n;
  }

  /** One page of live tasks, newest first; null for a cursor this table did not issue. */
  page(cursor: string | null, limit: number): TaskSlotPage | null {
    const now = Date.now();
    let rows: SlotRow[];
    if (cursor === null) {
      rows = this.#db()
        .exec<SlotRow>(
          "SELECT task_id, created_at FROM task_slot WHERE expires_at > ? ORDER BY created_at DESC, task_id DESC LIMIT ?",
          now,
          limit + 1,
        )
        .toArray();
    } else {
      const match = CURSOR_PATTERN.exec(cursor);
      if (!match) return null;
      const createdAt = Number(match[1]);
      rows = this.#db()
        .exec<SlotRow>(
          `SELECT task_id, created_at FROM task_slot
           WHERE expires_at > ? AND (created_at < ? OR (created_at = ? AND task_id < ?))
           ORDER BY created_at DESC, task_id DESC LIMIT ?`,
          now,
          createdAt,
          createdAt,
          match[2] ?? "",
          limit + 1,
        )
        .toArray();
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      taskIds: page.map((row) => row.task_id),
      nextCursor: rows.length > limit && last ? `${last.created_at}:${last.task_id}` : null,
    };
  }

  #db(): SqlStorage {
    if (!this.#ready) {
      this.#sql.exec(DDL);
      this.#ready = true;
    }
    return this.#sql;
  }
}
