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
 */
import { DurableObject } from "cloudflare:workers";

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

  #migrate(): void {
    if (this.#ready) return;
    this.ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS live_session (session_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)",
    );
    this.#ready = true;
  }
}
