/**
 * One object per authenticated principal (idFromName(principal)) counting its
 * live sessions, so MAX_SESSIONS_PER_PRINCIPAL holds across every session
 * object. The router reserves a slot before it creates a session; a session
 * releases its slot when it ends (DELETE, expiry, failed initialize).
 *
 * Storage: table `live_session(session_id PRIMARY KEY, created_at)`, at most
 * the configured limit of rows. A slot whose release was lost (a crash between
 * the session's end and the release) is reclaimed by the idle TTL of that
 * session only if it ever wakes again; the count can therefore overstate, never
 * understate, the live sessions (fail closed).
 *
 * Tasks (issue #13): table `task_slot` (DDL in storage/schema.ts), one row per
 * stored task of the principal, at most MAX_TASKS_PER_PRINCIPAL: reserved before
 * a task object is created, released when the task deletes itself, and purged
 * at the next reservation once past its task's expiry (a lost release). It is
 * also the index session-era `tasks/list` pages through (newest first).
 */
import { DurableObject } from "cloudflare:workers";
import { TASK_SLOT_DDL } from "../storage/schema";

export interface TaskSlotPage {
  taskIds: string[];
  nextCursor: string | null;
}

const CURSOR_PATTERN = /^(\d{1,16}):([0-9a-f.]{1,128})$/;

export class PrincipalObject extends DurableObject<Env> {
  #ready = false;

  /** Reserves a slot for `sessionId`; false when the principal is at `limit`. */
  async reserve(sessionId: string, limit: number): Promise<boolean> {
    this.#migrate();
    const sql = this.ctx.storage.sql;
    const count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM live_session").one().n;
    if (count >= limit) return false;
    sql.exec(
      "INSERT OR IGNORE INTO live_session (session_id, created_at) VALUES (?, ?)",
      sessionId,
      Date.now(),
    );
    return true;
  }

  async release(sessionId: string): Promise<void> {
    this.#migrate();
    this.ctx.storage.sql.exec("DELETE FROM live_session WHERE session_id = ?", sessionId);
  }

  async count(): Promise<number> {
    this.#migrate();
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM live_session").one()
      .n;
  }

  /** Reserves a slot for a new task; false when the principal holds `limit` live tasks. */
  async reserveTask(
    taskId: string,
    sessionId: string | null,
    createdAt: number,
    expiresAt: number,
    limit: number,
  ): Promise<boolean> {
    this.#migrate();
    const sql = this.ctx.storage.sql;
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

  async releaseTask(taskId: string): Promise<void> {
    this.#migrate();
    this.ctx.storage.sql.exec("DELETE FROM task_slot WHERE task_id = ?", taskId);
  }

  async countTasks(): Promise<number> {
    this.#migrate();
    return this.ctx.storage.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM task_slot WHERE expires_at > ?", Date.now())
      .one().n;
  }

  /**
   * One page of the principal's live tasks, newest first; null for a cursor this
   * object did not issue. The cursor is `<created_at>:<task id>` of the last row.
   */
  async listTasks(cursor: string | null, limit: number): Promise<TaskSlotPage | null> {
    this.#migrate();
    const sql = this.ctx.storage.sql;
    let rows: { task_id: string; created_at: number }[];
    if (cursor === null) {
      rows = sql
        .exec<{ task_id: string; created_at: number }>(
          "SELECT task_id, created_at FROM task_slot WHERE expires_at > ? ORDER BY created_at DESC, task_id DESC LIMIT ?",
          Date.now(),
          limit + 1,
        )
        .toArray();
    } else {
      const match = CURSOR_PATTERN.exec(cursor);
      if (!match) return null;
      rows = sql
        .exec<{ task_id: string; created_at: number }>(
          `SELECT task_id, created_at FROM task_slot
           WHERE expires_at > ? AND (created_at < ? OR (created_at = ? AND task_id < ?))
           ORDER BY created_at DESC, task_id DESC LIMIT ?`,
          Date.now(),
          Number(match[1]),
          Number(match[1]),
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

  #migrate(): void {
    if (this.#ready) return;
    this.ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS live_session (session_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)",
    );
    this.ctx.storage.sql.exec(TASK_SLOT_DDL);
    this.#ready = true;
  }
}
