/**
 * The replay store: a session's recent outgoing messages in the `outbox` table,
 * numbered per stream, and each reply stream's call in `outbox_stream`
 * (schema.ts).
 *
 * Streams: "ws" is the session's WebSocket sequence, numbered across all of its
 * sockets (1, 2, 3 ...: the n-th message the session sent on any socket); every
 * SSE reply stream of a Streamable HTTP call has its own random id and numbers
 * its events from 1. `delivered` records whether a socket was attached when a
 * WebSocket message was sent.
 *
 * Cost: one INSERT per message. A stream's last number is the largest `seq`
 * it holds (the newest row of the WebSocket sequence and of each unfinished
 * reply stream is never trimmed, so their counts survive any trim);
 * `outbox_stream` is written when a reply stream opens and when it ends (its
 * final reply, or its call cancelled), with its last number, not per event.
 *
 * Bounds (shared/limits.ts): at most OUTBOX_MAX_ROWS rows and OUTBOX_MAX_CHARS
 * characters, oldest removed first, in batches of OUTBOX_TRIM_BATCH past the
 * row bound (so a trim is one statement per batch, not one per message); a body
 * over OUTBOX_MAX_MESSAGE_BYTES of UTF-8 is numbered but stored as NULL; at most
 * OUTBOX_MAX_STREAMS reply streams are remembered, finished ones forgotten
 * first (oldest first), so a call still running or waiting keeps its stream.
 * Both tables are created at the first write: a session that never sends
 * anything has none.
 */

import { exceedsUtf8Bytes } from "../../shared/codec";
import {
  OUTBOX_MAX_CHARS,
  OUTBOX_MAX_MESSAGE_BYTES,
  OUTBOX_MAX_ROWS,
  OUTBOX_MAX_STREAMS,
} from "../../shared/limits";
import type { SchemaTables } from "./schema";

/** The WebSocket sequence's stream name. */
export const WS_STREAM = "ws";
/**
 * The rows a trim never removes: the newest of the WebSocket sequence and of
 * every unfinished reply stream, so each keeps its last number (a stream's
 * position is the largest `seq` it holds) and a resume can follow on from it.
 */
const NEWEST_KEPT_ROWS = `SELECT MAX(n) FROM outbox WHERE stream = '${WS_STREAM}' OR stream IN (SELECT stream FROM outbox_stream WHERE final = 0) GROUP BY stream`;
/** Rows removed at once when the row bound is passed. */
const OUTBOX_TRIM_BATCH = 32;

export interface StoredMessage {
  seq: number;
  /** The JSON text, or null when it was too large to keep. */
  body: string | null;
}

export interface StreamHead {
  lastSeq: number;
  final: boolean;
  /** JSON of the request id the stream answers (reply streams; null for "ws"). */
  callKey: string | null;
}

interface OutboxRow extends Record<string, SqlStorageValue> {
  seq: number;
  body: string | null;
}

interface HeadRow extends Record<string, SqlStorageValue> {
  final: number;
  call_key: string | null;
  last_seq: number;
}

export class OutboxTable {
  /** Rows and characters held, known once counted in this object lifetime (-1: not yet). */
  #rows = -1;
  #chars = -1;
  readonly #heads = new Map<string, StreamHead>();
  /** The WebSocket sequence's reservation (null: none written), once read in this object lifetime. */
  #wsReserved: number | null | undefined = undefined;

  constructor(
    private readonly sql: SqlStorage,
    /** Which tables exist: both of these are created at the first message kept. */
    private readonly tables: SchemaTables,
  ) {}

  /** The stream's position, or null for a reply stream this session does not know. */
  head(stream: string): StreamHead | null {
    const cached = this.#heads.get(stream);
    if (cached) return cached;
    if (!this.#exists())
      return stream === WS_STREAM ? { lastSeq: 0, final: false, callKey: null } : null;
    let head: StreamHead;
    if (stream === WS_STREAM) {
      head = { lastSeq: this.#maxSeq(stream), final: false, callKey: null };
    } else {
      const row = this.sql
        .exec<HeadRow>(
          "SELECT final, call_key, last_seq FROM outbox_stream WHERE stream = ?",
          stream,
        )
        .toArray()[0];
      if (!row) return null;
      // A finished stream's last number is written with its end; a running one keeps its newest row.
      const lastSeq = Math.max(this.#maxSeq(stream), row.last_seq);
      head = { lastSeq, final: row.final === 1, callKey: row.call_key };
    }
    this.#heads.set(stream, head);
    return head;
  }

  /**
   * The WebSocket sequence's last kept number and how far its numbers are
   * reserved (the `ws` row of `outbox_stream`: every number handed out is at
   * most that, see session/replay.ts), in one query.
   */
  wsPosition(): { lastSeq: number; reserved: number | null } {
    const cached = this.#heads.get(WS_STREAM);
    if (cached && this.#wsReserved !== undefined) {
      return { lastSeq: cached.lastSeq, reserved: this.#wsReserved };
    }
    if (!this.#exists()) return { lastSeq: 0, reserved: null };
    const row = this.sql
      .exec<{ seq: number | null; reserved: number | null }>(
        `SELECT (SELECT MAX(seq) FROM outbox WHERE stream = '${WS_STREAM}') AS seq,
                (SELECT last_seq FROM outbox_stream WHERE stream = '${WS_STREAM}') AS reserved`,
      )
      .one();
    const lastSeq = row.seq ?? 0;
    this.#heads.set(WS_STREAM, cached ?? { lastSeq, final: false, callKey: null });
    this.#wsReserved = row.reserved;
    return { lastSeq: cached?.lastSeq ?? lastSeq, reserved: this.#wsReserved };
  }

  /** Records that the WebSocket sequence's numbers are reserved through `through`. */
  reserveWs(through: number, now: number): void {
    this.#ensure();
    this.sql.exec(
      `INSERT INTO outbox_stream (stream, last_seq, final, call_key, created_at) VALUES ('${WS_STREAM}', ?, 0, NULL, ?)
       ON CONFLICT (stream) DO UPDATE SET last_seq = excluded.last_seq`,
      through,
      now,
    );
    this.#wsReserved = through;
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

  /** A reply stream ends with no final message (its call was cancelled or lost). */
  endStream(stream: string): void {
    const head = this.head(stream);
    if (!head || head.final || stream === WS_STREAM) return;
    this.sql.exec(
      "UPDATE outbox_stream SET last_seq = ?, final = 1 WHERE stream = ?",
      head.lastSeq,
      stream,
    );
    this.#heads.set(stream, { ...head, final: true });
  }

  /** Appends one message to `stream`; returns its sequence number. */
  append(stream: string, body: string, delivered: boolean, final = false): number {
    this.#ensure();
    const head = this.head(stream) ?? { lastSeq: 0, final: false, callKey: null };
    const seq = head.lastSeq + 1;
    const kept = keptBody(body);
    const size = kept?.length ?? 0;
    this.sql.exec(
      "INSERT INTO outbox (stream, seq, body, size, delivered) VALUES (?, ?, ?, ?, ?)",
      stream,
      seq,
      kept,
      size,
      delivered ? 1 : 0,
    );
    if (final && stream !== WS_STREAM) {
      this.sql.exec(
        "UPDATE outbox_stream SET last_seq = ?, final = 1 WHERE stream = ?",
        seq,
        stream,
      );
    }
    this.#heads.set(stream, { ...head, lastSeq: seq, final: final || head.final });
    if (this.#rows < 0) this.#count();
    else {
      this.#rows += 1;
      this.#chars += size;
    }
    if (this.#rows > OUTBOX_MAX_ROWS + OUTBOX_TRIM_BATCH || this.#chars > OUTBOX_MAX_CHARS) {
      this.#trim();
    }
    return seq;
  }

  /**
   * Keeps messages already numbered by the caller (the WebSocket sequence's
   * ring, flushed in one turn: one commit for all of them), then trims.
   */
  keep(
    stream: string,
    messages: readonly { seq: number; text: string; delivered: boolean }[],
  ): void {
    if (messages.length === 0) return;
    this.#ensure();
    const head = this.head(stream) ?? { lastSeq: 0, final: false, callKey: null };
    let added = 0;
    for (const message of messages) {
      const kept = keptBody(message.text);
      this.sql.exec(
        "INSERT INTO outbox (stream, seq, body, size, delivered) VALUES (?, ?, ?, ?, ?)",
        stream,
        message.seq,
        kept,
        kept?.length ?? 0,
        message.delivered ? 1 : 0,
      );
      added += kept?.length ?? 0;
    }
    const last = messages[messages.length - 1]?.seq ?? head.lastSeq;
    this.#heads.set(stream, { ...head, lastSeq: Math.max(head.lastSeq, last) });
    if (this.#rows < 0) this.#count();
    else {
      this.#rows += messages.length;
      this.#chars += added;
    }
    if (this.#rows > OUTBOX_MAX_ROWS + OUTBOX_TRIM_BATCH || this.#chars > OUTBOX_MAX_CHARS) {
      this.#trim();
    }
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

  /** The storage was deleted: what was counted and cached of it is gone. */
  forget(): void {
    this.#rows = -1;
    this.#chars = -1;
    this.#heads.clear();
    this.#wsReserved = undefined;
  }

  /**
   * Removes the oldest rows down to the bounds: past the row bound to
   * OUTBOX_MAX_ROWS (one statement), past the character bound one batch at a
   * time. The WebSocket sequence's newest row always stays.
   */
  #trim(): void {
    for (let pass = 0; pass < 64; pass++) {
      const excess = Math.max(this.#rows - OUTBOX_MAX_ROWS, 0);
      const overChars = this.#chars > OUTBOX_MAX_CHARS && this.#rows > 1;
      if (excess === 0 && !overChars) return;
      const batch = Math.max(excess, overChars ? OUTBOX_TRIM_BATCH : 0);
      this.sql.exec(
        `DELETE FROM outbox WHERE n IN (SELECT n FROM outbox WHERE n NOT IN (${NEWEST_KEPT_ROWS}) ORDER BY n LIMIT ?)`,
        batch,
      );
      this.#count();
    }
  }

  /**
   * Forgets reply streams past OUTBOX_MAX_STREAMS (their events go too):
   * finished ones first, oldest first; a stream whose call still runs or waits
   * for an answer only when more than that many are unfinished.
   */
  #boundStreams(): void {
    const extra = this.sql
      .exec<{ stream: string }>(
        `SELECT stream FROM outbox_stream WHERE stream <> '${WS_STREAM}' ORDER BY final ASC, created_at DESC LIMIT -1 OFFSET ?`,
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

  #maxSeq(stream: string): number {
    return (
      this.sql
        .exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM outbox WHERE stream = ?", stream)
        .one().seq ?? 0
    );
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
    return this.tables.has("outbox_stream");
  }

  #ensure(): void {
    const created = this.tables.ensure("outbox");
    this.tables.ensure("outbox_stream");
    // Both tables are created in the same turn (one commit), so a new outbox is
    // empty: no query for its counts or the WebSocket sequence's last number.
    if (created) {
      this.#rows = 0;
      this.#chars = 0;
      this.#heads.set(WS_STREAM, { lastSeq: 0, final: false, callKey: null });
      this.#wsReserved = null;
    }
  }
}

/** The body a row keeps: `text` within OUTBOX_MAX_MESSAGE_BYTES of UTF-8, else null. */
function keptBody(text: string): string | null {
  return exceedsUtf8Bytes(text, OUTBOX_MAX_MESSAGE_BYTES) ? null : text;
}
