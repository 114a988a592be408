/**
 * Every SQLite table of a principal's object (PrincipalObject), in one place:
 *
 *   live_session   session_id -> created_at: the principal's live sessions
 *                  (MAX_SESSIONS_PER_PRINCIPAL rows at most).
 *   upstream_grant upstream -> sealed grant (plan + access/refresh tokens),
 *                  expires_at in clear for scheduling only. One row per OAuth
 *                  upstream at most (UPSTREAMS holds at most 32).
 *   oauth_flow     flow_id -> an authorization in progress: upstream, expiry,
 *                  sealed plan and PKCE verifier, the state nonce and the hash
 *                  of the browser binder. At most MAX_OAUTH_FLOWS_PER_PRINCIPAL
 *                  rows; expired rows are deleted on every write and by the
 *                  object's alarm.
 *
 * Tokens, verifiers and client secrets are only ever stored sealed
 * (upstream-auth/sealing.ts: AES-GCM under UPSTREAM_TOKEN_KEY, bound to the
 * principal, the upstream and the purpose); this module stores the text it is
 * handed and never sees plaintext credentials.
 */

/** Authorizations in progress per principal; the oldest is dropped past it. */
export const MAX_OAUTH_FLOWS_PER_PRINCIPAL = 16;

const DDL = [
  "CREATE TABLE IF NOT EXISTS live_session (session_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)",
  `CREATE TABLE IF NOT EXISTS upstream_grant (
    upstream TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    expires_at INTEGER,
    updated_at INTEGER NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS oauth_flow (
    flow_id TEXT PRIMARY KEY,
    upstream TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    sealed TEXT NOT NULL,
    nonce TEXT,
    binder_hash TEXT
  )`,
];

export interface FlowRow {
  flowId: string;
  upstream: string;
  createdAt: number;
  expiresAt: number;
  sealed: string;
  nonce: string | null;
  binderHash: string | null;
}

export interface GrantRow {
  upstream: string;
  sealed: string;
  expiresAt: number | null;
  updatedAt: number;
}

interface FlowRecord extends Record<string, SqlStorageValue> {
  flow_id: string;
  upstream: string;
  created_at: number;
  expires_at: number;
  sealed: string;
  nonce: string | null;
  binder_hash: string | null;
}

export class PrincipalStorage {
  readonly #sql: SqlStorage;
  #ready = false;

  constructor(storage: DurableObjectStorage) {
    this.#sql = storage.sql;
  }

  // --- live sessions

  countSessions(): number {
    return this.#db().exec<{ n: number }>("SELECT COUNT(*) AS n FROM live_session").one().n;
  }

  addSession(sessionId: string, now: number): void {
    this.#db().exec(
      "INSERT OR IGNORE INTO live_session (session_id, created_at) VALUES (?, ?)",
      sessionId,
      now,
    );
  }

  removeSession(sessionId: string): void {
    this.#db().exec("DELETE FROM live_session WHERE session_id = ?", sessionId);
  }

  // --- grants

  grant(upstream: string): GrantRow | null {
    const row = this.#db()
      .exec<{ upstream: string; sealed: string; expires_at: number | null; updated_at: number }>(
        "SELECT * FROM upstream_grant WHERE upstream = ?",
        upstream,
      )
      .toArray()[0];
    return row
      ? {
          upstream: row.upstream,
          sealed: row.sealed,
          expiresAt: row.expires_at,
          updatedAt: row.updated_at,
        }
      : null;
  }

  grants(): GrantRow[] {
    return this.#db()
      .exec<{ upstream: string; sealed: string; expires_at: number | null; updated_at: number }>(
        "SELECT * FROM upstream_grant ORDER BY upstream",
      )
      .toArray()
      .map((row) => ({
        upstream: row.upstream,
        sealed: row.sealed,
        expiresAt: row.expires_at,
        updatedAt: row.updated_at,
      }));
  }

  saveGrant(upstream: string, sealed: string, expiresAt: number | null, now: number): void {
    this.#db().exec(
      `INSERT INTO upstream_grant (upstream, sealed, expires_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (upstream) DO UPDATE SET sealed = excluded.sealed,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      upstream,
      sealed,
      expiresAt,
      now,
    );
  }

  deleteGrant(upstream: string): boolean {
    return (
      this.#db().exec("DELETE FROM upstream_grant WHERE upstream = ?", upstream).rowsWritten > 0
    );
  }

  // --- flows

  flow(flowId: string): FlowRow | null {
    const row = this.#db()
      .exec<FlowRecord>("SELECT * FROM oauth_flow WHERE flow_id = ?", flowId)
      .toArray()[0];
    return row ? toFlow(row) : null;
  }

  /** A pending flow for `upstream` not yet started in a browser, if one is live. */
  unstartedFlow(upstream: string, now: number): FlowRow | null {
    const row = this.#db()
      .exec<FlowRecord>(
        "SELECT * FROM oauth_flow WHERE upstream = ? AND binder_hash IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
        upstream,
        now,
      )
      .toArray()[0];
    return row ? toFlow(row) : null;
  }

  /** Inserts a flow, dropping expired ones and the oldest beyond the bound. */
  insertFlow(flow: FlowRow, now: number): void {
    const sql = this.#db();
    sql.exec("DELETE FROM oauth_flow WHERE expires_at <= ?", now);
    sql.exec(
      `DELETE FROM oauth_flow WHERE flow_id IN (
         SELECT flow_id FROM oauth_flow ORDER BY created_at DESC LIMIT -1 OFFSET ?)`,
      MAX_OAUTH_FLOWS_PER_PRINCIPAL - 1,
    );
    sql.exec(
      `INSERT INTO oauth_flow (flow_id, upstream, created_at, expires_at, sealed, nonce, binder_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      flow.flowId,
      flow.upstream,
      flow.createdAt,
      flow.expiresAt,
      flow.sealed,
      flow.nonce,
      flow.binderHash,
    );
  }

  /** Marks a flow started in a browser: new sealed secrets (with the verifier), nonce and binder. */
  startFlow(flowId: string, sealed: string, nonce: string, binderHash: string): void {
    this.#db().exec(
      "UPDATE oauth_flow SET sealed = ?, nonce = ?, binder_hash = ? WHERE flow_id = ?",
      sealed,
      nonce,
      binderHash,
      flowId,
    );
  }

  /** Reads and deletes a flow in one step: a flow is consumed by the first callback that names it. */
  takeFlow(flowId: string): FlowRow | null {
    const flow = this.flow(flowId);
    if (flow) this.#db().exec("DELETE FROM oauth_flow WHERE flow_id = ?", flowId);
    return flow;
  }

  deleteFlowsOf(upstream: string): void {
    this.#db().exec("DELETE FROM oauth_flow WHERE upstream = ?", upstream);
  }

  /** Deletes expired flows; the earliest expiry left, or null. */
  purgeFlows(now: number): number | null {
    const sql = this.#db();
    sql.exec("DELETE FROM oauth_flow WHERE expires_at <= ?", now);
    const next = sql
      .exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM oauth_flow")
      .one().at;
    return next ?? null;
  }

  #db(): SqlStorage {
    if (!this.#ready) {
      for (const ddl of DDL) this.#sql.exec(ddl);
      this.#ready = true;
    }
    return this.#sql;
  }
}

function toFlow(row: FlowRecord): FlowRow {
  return {
    flowId: row.flow_id,
    upstream: row.upstream,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    sealed: row.sealed,
    nonce: row.nonce,
    binderHash: row.binder_hash,
  };
}
