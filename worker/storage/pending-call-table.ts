/**
 * The input bridge's tables in a session object (created with the session
 * schema in worker/storage.ts):
 *   pending_call   call_key -> a session-era request waiting for client input
 *                  (elicitation, sampling, roots): the original request, the
 *                  sealed requestState, the expected input keys and the answers
 *                  so far. At most MAX_PENDING_CALLS rows; a row is deleted when
 *                  the call resumes or is cancelled.
 *   pending_input  server-issued request id -> (call_key, input key): routes a
 *                  client's response to its waiting call.
 */

import type { SchemaTables } from "./schema";

/** Bound on session-era calls waiting for client input at once. */
export const MAX_PENDING_CALLS = 32;
/**
 * Bounds on what one row holds (a SQLite row is at most 2 MB): the waiting
 * call's params, and each answer the client sends for it (a tool asks for one
 * or two inputs; sampling answers can carry images).
 */
export const MAX_WAITING_PARAMS_BYTES = 512 * 1024;
export const MAX_INPUT_ANSWER_BYTES = 512 * 1024;

export interface PendingCall {
  /** JSON of the original request id: the key `notifications/cancelled` names. */
  callKey: string;
  request: {
    id: string | number;
    method: string;
    params: Record<string, unknown>;
    /** The resumable HTTP reply stream the call answers on, when it came over HTTP. */
    stream?: string;
  };
  expected: string[];
  responses: Record<string, unknown>;
  createdAt: number;
}

interface PendingRow extends Record<string, SqlStorageValue> {
  call_key: string;
  request: string;
  expected: string;
  responses: string;
  created_at: number;
}

function toPendingCall(row: PendingRow): PendingCall {
  return {
    callKey: row.call_key,
    request: JSON.parse(row.request),
    expected: JSON.parse(row.expected),
    responses: JSON.parse(row.responses),
    createdAt: row.created_at,
  };
}

export class PendingCallTable {
  readonly #sql: SqlStorage;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** Which tables exist: both of these are created at the first call kept. */
    private readonly tables: SchemaTables,
  ) {
    this.#sql = storage.sql;
  }

  /** The JSON request ids of the calls waiting for client input. */
  callKeys(): string[] {
    if (!this.tables.has("pending_call")) return [];
    return this.#sql
      .exec<{ call_key: string }>("SELECT call_key FROM pending_call ORDER BY created_at")
      .toArray()
      .map((row) => row.call_key);
  }

  countPendingCalls(): number {
    if (!this.tables.has("pending_call")) return 0;
    return this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending_call").one().n;
  }

  savePendingCall(call: PendingCall, inputs: { serverId: string; inputKey: string }[]): void {
    this.tables.ensure("pending_call");
    this.tables.ensure("pending_input");
    this.storage.transactionSync(() => {
      this.#sql.exec(
        `INSERT OR REPLACE INTO pending_call (call_key, request, expected, responses, created_at)
         VALUES (?, ?, ?, ?, ?)`,
        call.callKey,
        JSON.stringify(call.request),
        JSON.stringify(call.expected),
        JSON.stringify(call.responses),
        call.createdAt,
      );
      for (const input of inputs) {
        this.#sql.exec(
          "INSERT OR REPLACE INTO pending_input (server_id, call_key, input_key) VALUES (?, ?, ?)",
          input.serverId,
          call.callKey,
          input.inputKey,
        );
      }
    });
  }

  /** Records one answer; returns the call with every answer so far, or null for an unknown id. */
  recordInput(serverId: string, response: unknown): PendingCall | null {
    if (!this.tables.has("pending_call")) return null;
    const input = this.#sql
      .exec<{ call_key: string; input_key: string }>(
        "SELECT call_key, input_key FROM pending_input WHERE server_id = ?",
        serverId,
      )
      .toArray()[0];
    if (!input) return null;
    const row = this.#sql
      .exec<PendingRow>("SELECT * FROM pending_call WHERE call_key = ?", input.call_key)
      .toArray()[0];
    this.#sql.exec("DELETE FROM pending_input WHERE server_id = ?", serverId);
    if (!row) return null;
    const call = toPendingCall(row);
    call.responses[input.input_key] = response;
    this.#sql.exec(
      "UPDATE pending_call SET responses = ? WHERE call_key = ?",
      JSON.stringify(call.responses),
      call.callKey,
    );
    return call;
  }

  /** The waiting call with this key and the ids of its requests still unanswered, or null. */
  waitingCall(callKey: string): { call: PendingCall; unanswered: string[] } | null {
    if (!this.tables.has("pending_call")) return null;
    const row = this.#sql
      .exec<PendingRow>("SELECT * FROM pending_call WHERE call_key = ?", callKey)
      .toArray()[0];
    if (!row) return null;
    const unanswered = this.#sql
      .exec<{ server_id: string }>(
        "SELECT server_id FROM pending_input WHERE call_key = ?",
        callKey,
      )
      .toArray()
      .map((input) => input.server_id);
    return { call: toPendingCall(row), unanswered };
  }

  deletePendingCall(callKey: string): boolean {
    if (!this.tables.has("pending_call")) return false;
    const deleted = this.#sql.exec(
      "DELETE FROM pending_call WHERE call_key = ?",
      callKey,
    ).rowsWritten;
    this.#sql.exec("DELETE FROM pending_input WHERE call_key = ?", callKey);
    return deleted > 0;
  }
}
