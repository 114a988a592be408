/**
 * The `subscription` table of a session object: the resource URIs the client
 * subscribed to (resources/subscribe), at most MAX_SUBSCRIPTIONS. Created at
 * the first subscription (lazy in schema.ts); purged with the rest of the
 * session's storage.
 */
import type { SchemaTables } from "./schema";

/** Bound on resources/subscribe entries per session. */
export const MAX_SUBSCRIPTIONS = 256;

export class SubscriptionTable {
  readonly #sql: SqlStorage;
  readonly #tables: SchemaTables;

  constructor(sql: SqlStorage, tables: SchemaTables) {
    this.#sql = sql;
    this.#tables = tables;
  }

  /** Adds `uri` (already there: a no-op); false when the session is at MAX_SUBSCRIPTIONS. */
  add(uri: string): boolean {
    this.#tables.ensure("subscription");
    const n = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM subscription").one().n;
    const exists =
      this.#sql.exec("SELECT 1 FROM subscription WHERE uri = ?", uri).toArray().length > 0;
    if (exists) return true;
    if (n >= MAX_SUBSCRIPTIONS) return false;
    this.#sql.exec("INSERT INTO subscription (uri) VALUES (?)", uri);
    return true;
  }

  remove(uri: string): void {
    if (!this.#tables.has("subscription")) return;
    this.#sql.exec("DELETE FROM subscription WHERE uri = ?", uri);
  }

  list(): string[] {
    if (!this.#tables.has("subscription")) return [];
    return this.#sql
      .exec<{ uri: string }>("SELECT uri FROM subscription ORDER BY uri")
      .toArray()
      .map((row) => row.uri);
  }
}
