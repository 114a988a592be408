/**
 * The replay store: a session's recent outgoing messages in the `outbox` table,
 * numbered per stream, and each stream's position in `outbox_stream` (schema.ts).
 *
 * Streams: "ws" is the session's WebSocket sequence, numbered across all of its
 * sockets (1, 2, 3 ...: the n-th message the session sent on any socket); every
 * SSE reply stream of a Streamable HTTP call has its own random id and numbers
 * its events from 1. `delivered` records whether a socket was attached when a
 * WebSocket message was sent.
 *
 * Bounds (shared/limits.ts): at most OUTBOX_MAX_ROWS rows and OUTBOX_MAX_CHARS
 * characters in all, oldest removed first (the newest row always stays); a body
 * over OUTBOX_MAX_MESSAGE_CHARS is numbered but stored as NULL; at most
 * OUTBOX_MAX_STREAMS reply streams are remembered, the oldest forgotten first.
 * Both tables are created at the first write, so a session that never sends
 * anything has none.
 */
import {
  OUTBOX_MAX_CHARS,
  OUTBOX_MAX_MESSAGE_CHARS,
  OUTBOX_MAX_ROWS,
  OUTBOX_MAX_STREAMS,
} from "../../shared/limits";
import { tableExists, tableSpec } from "./schema";

/** The WebSocket sequence's stream name. */
export const WS_STREAM = "ws";

export interface StoredMessage {
  seq: number;
  /** The JSON text, or null when it was too large to keep. */
  body: string | null;
}

export interface StreamHead {
  lastSeq: number;
  final: boolean;
  /** JSON of the request id the stream answers (reply streams). */
  callKey: string | null;
}

interface OutboxRow extends Record<string, SqlStorageValue> {
  seq: number;
  body: string | null;
}

interface HeadRow extends Record<string, SqlStorageValue> {
  last_seq: number;
  final: number;
  call_key: string | null;
}

export class OutboxTable {
  #ready = false;
  /** Rows and characters held, known after the first write in this object lifetime. */
  #rows = -1;
  #chars = -1;
  readonly #heads = new Map<string, StreamHead>();

  constructor(private readonly sql: SqlStorage) {}

  /** The stream's position, or null for a stream this session does not know. */
  head(stream: string): StreamHead | null {
    const cached = this.#heads.get(stream);
    if (cached) return cached;
    if (!this.#exists()) return null;
    const row = this.sql
      .exec<HeadRow>("SELECT last_seq, final, call_key FROM outbox_stream WHERE stream = ?", stream)
      .toArray()[0];
    if (!row) return null;
    const head = { lastSeq: row.last_seq, final: row.final === 1, callKey: row.call_key };
    this.#heads.set(stream, head);
    return head;
  }

  /** Opens a reply stream answering `callKey` (a new, empty position). */
  openStream(stream: string, callKey: string, now: number): void {
    this.#ensure();
    this.sql.exec(
      "INSERT OR REPLACE INTO outbox_stream (stream, last_seq, final, call_key, created_at) VALUES (?, 0, 0, ?, ?)",
      stream,
      callKey,
      now,
    );
    this.#heads.set(stream, { lastSeq: 0, final: false, callKey });
    this.#boundStreams();
  }

  /** Appends one message to `stream`; returns its sequence number. */
  append(stream: string, body: string, delivered: boolean, final = false): number {
    this.#ensure();
    const head = this.head(stream) ?? { lastSeq: 0, final: false, callKey: null };
    const seq = head.lastSeq + 1;
    const kept = body.length <= OUTBOX_MAX_MESSAGE_CHARS ? body : null;
    const size = kept?.length ?? 0;
    this.sql.exec(
      "INSERT INTO outbox (stream, seq, body, size, delivered) VALUES (?, ?, ?, ?, ?)",
      stream,
      seq,
      kept,
      size,
      delivered ? 1 : 0,
    );
    this.sql.exec(
      `INSERT INTO outbox_stream (stream, last_seq, final, call_key, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream) DO UPDATE SET last_seq = excluded.last_seq, final = excluded.final`,
      stream,
      seq,
      final || head.final ? 1 : 0,
      head.callKey,
      Date.now(),
    );
    this.#heads.set(stream, { ...head, lastSeq: seq, final: final || head.final });
    if (this.#rows < 0) this.#count();
    else {
      this.#rows += 1;
      this.#chars += size;
    }
    this.#trim();
    return seq;
  }

  /** Messages of `stream` after `afterSeq`, in order (only those still held). */
  after(stream: string, afterSeq: number): StoredMessage[] {
    if (!this.#exists()) return [];
    return this.sql
      .exec<OutboxRow>(
        "SELECT seq, body FROM outbox WHERE stream = ? AND seq > ? ORDER BY seq",
        stream,
        afterSeq,
      )
      .toArray();
  }

  /** WebSocket messages produced while no socket was attached, in order. */
  undelivered(stream: string): StoredMessage[] {
    if (!this.#exists()) return [];
    return this.sql
      .exec<OutboxRow>(
        "SELECT seq, body FROM outbox WHERE stream = ? AND delivered = 0 ORDER BY seq",
        stream,
      )
      .toArray();
  }

  /** Marks everything of `stream` up to `seq` as delivered (a socket received the replay). */
  markDelivered(stream: string, uptoSeq: number): void {
    if (!this.#exists()) return;
    this.sql.exec(
      "UPDATE outbox SET delivered = 1 WHERE stream = ? AND seq <= ? AND delivered = 0",
      stream,
      uptoSeq,
    );
  }

  #trim(): void {
    while (this.#rows > OUTBOX_MAX_ROWS || (this.#chars > OUTBOX_MAX_CHARS && this.#rows > 1)) {
      const oldest = this.sql
        .exec<{ n: number; size: number }>("SELECT n, size FROM outbox ORDER BY n LIMIT 1")
        .toArray()[0];
      if (!oldest) break;
      this.sql.exec("DELETE FROM outbox WHERE n = ?", oldest.n);
      this.#rows -= 1;
      this.#chars -= oldest.size;
    }
  }

  /** Forgets the oldest reply streams past OUTBOX_MAX_STREAMS (their events go too). */
  #boundStreams(): void {
    const extra = this.sql
      .exec<{ stream: string }>(
        `SELECT stream FROM outbox_stream WHERE stream != ? ORDER BY created_at DESC LIMIT -1 OFFSET ?`,
        WS_STREAM,
        OUTBOX_MAX_STREAMS,
      )
      .toArray();
    for (const { stream } of extra) {
      this.sql.exec("DELETE FROM outbox_stream WHERE stream = ?", stream);
      this.sql.exec("DELETE FROM outbox WHERE stream = ?", stream);
      this.#heads.delete(stream);
      this.#rows = -1;
    }
  }

  #count(): void {
    const totals = this.sql
      .exec<{ rows: number; chars: number | null }>(
        "SELECT COUNT(*) AS rows, SUM(size) AS chars FROM outbox",
      )
      .one();
    this.#rows = totals.rows;
    this.#chars = totals.chars ?? 0;
  }

  #exists(): boolean {
    if (this.#ready) return true;
    this.#ready = tableExists(this.sql, "outbox_stream");
    return this.#ready;
  }

  #ensure(): void {
    if (this.#exists()) return;
    this.sql.exec(tableSpec("outbox").ddl);
    this.sql.exec(tableSpec("outbox_stream").ddl);
    this.#ready = true;
  }

  /** The storage was deleted: the tables are gone. */
  forget(): void {
    this.#ready = false;
    this.#rows = -1;
    this.#chars = -1;
    this.#heads.clear();
  }
}
