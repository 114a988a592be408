/**
 * The `tool_state` table of a session object: (toolset, key) -> a JSON value a
 * stateful tool keeps for the session (the `counter` tool's count). Created at
 * the first write (lazy in schema.ts); one row per stateful tool key, so it is
 * bounded by the registry; purged with the rest of the session's storage.
 */
import type { SchemaTables } from "./schema";

export class ToolStateTable {
  readonly #sql: SqlStorage;
  readonly #tables: SchemaTables;

  constructor(sql: SqlStorage, tables: SchemaTables) {
    this.#sql = sql;
    this.#tables = tables;
  }

  get(toolset: string, key: string): unknown {
    if (!this.#tables.has("tool_state")) return undefined;
    const row = this.#sql
      .exec<{ value: string }>(
        "SELECT value FROM tool_state WHERE toolset = ? AND key = ?",
        toolset,
        key,
      )
      .toArray()[0];
    return row ? JSON.parse(row.value) : undefined;
  }

  set(toolset: string, key: string, value: unknown): void {
    this.#tables.ensure("tool_state");
    this.#sql.exec(
      `INSERT INTO tool_state (toolset, key, value) VALUES (?, ?, ?)
       ON CONFLICT (toolset, key) DO UPDATE SET value = excluded.value`,
      toolset,
      key,
      JSON.stringify(value),
    );
  }
}
