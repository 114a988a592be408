/**
 * Resumable Streamable HTTP reply streams of a session (session era; spec,
 * basic/transports "Resumability and Redelivery"): the ReplyStore of its
 * HttpExchanges. Every event of a reply stream is numbered and kept in the
 * replay store (storage/outbox-table.ts) under the stream's random id, and
 * handed to whoever resumes the stream.
 *
 * A resuming client (GET /mcp with Last-Event-ID `<stream>.<n>`) is served by
 * the Worker, which holds the client's SSE response and opens an internal
 * WebSocket to this object; the object accepts it through the Hibernation API
 * (tags RESUME_TAG and `stream:<id>`), sends it the kept events after n, then
 * each new one, and closes it after the stream's final event. So a call waiting
 * for a person's answer holds no open response in the object, and the object
 * sleeps until the answer arrives.
 */
import { errorEnvelope, JsonRpcError, REQUEST_LOST } from "../../shared/errors";
import type { RequestId } from "../../shared/protocol";
import { DeadlineSweep } from "../mcp/deadline";
import type { OutboxTable } from "../storage/outbox-table";
import type { Channel } from "../transports/channel";
import { type ReplyStore, SSE_OPEN_AFTER_MS } from "../transports/streamable-http";
import { closeQuietly, sendText } from "../transports/websocket";

/** Tag of the internal sockets that carry a resumed reply stream to the Worker. */
export const RESUME_TAG = "resume";
/** Stream ids: 16 lower-case hex characters (64 random bits). */
export const STREAM_ID_PATTERN = /^[0-9a-f]{16}$/;

/** One event on an internal resume socket. */
export interface ResumedEvent {
  id: string;
  data: string;
}

export class ReplyStreams implements ReplyStore {
  /**
   * The exchanges' SSE_OPEN_AFTER_MS timers, on one sweep for the session: a
   * timer that ticks while a POST is unanswered (a tenth of a second late at
   * most) instead of a setTimeout and clearTimeout per call (4% of a warm POST).
   */
  readonly #openers = new DeadlineSweep(SSE_OPEN_AFTER_MS);

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly outbox: OutboxTable,
  ) {}

  open(callKey: string): string {
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    const stream = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    this.outbox.openStream(stream, callKey, Date.now());
    return stream;
  }

  after(ms: number, fire: () => void): { stop(): void } {
    return this.#openers.start(ms, fire);
  }

  publish(stream: string, text: string, final: boolean): number {
    const seq = this.outbox.append(stream, text, false, final);
    for (const ws of this.ctx.getWebSockets(streamTag(stream))) {
      sendText(ws, JSON.stringify({ id: `${stream}.${seq}`, data: text } satisfies ResumedEvent));
      if (final) closeQuietly(ws, 1000, "reply complete");
    }
    return seq;
  }

  end(stream: string): void {
    this.outbox.endStream(stream);
    for (const ws of this.ctx.getWebSockets(streamTag(stream))) {
      closeQuietly(ws, 1000, "call ended without a reply");
    }
  }

  /**
   * A channel for a call whose original response is gone (it waited for input
   * across a sleep): its events go into its stream, and to a resumer if any.
   */
  channel(stream: string, requestId: RequestId): Channel {
    return {
      streamId: stream,
      abandon: () => this.end(stream),
      send: (message) => {
        const record = message as Record<string, unknown>;
        const final =
          !("method" in record) &&
          ("result" in record || "error" in record) &&
          record.id === requestId;
        this.publish(stream, JSON.stringify(message), final);
      },
    };
  }

  /**
   * Accepts a resumer for `stream` after event `after`: an internal socket that
   * gets the kept events first. Null when the stream is unknown, or `after` is
   * past its last event (the caller answers 400). A stream whose call is no
   * longer anywhere (`holds` says so: a restart took it) is ended first with a
   * REQUEST_LOST error as its reply, so its resumer is not held open for nothing.
   */
  resume(stream: string, after: number, holds: (callKey: string) => boolean): Response | null {
    if (!STREAM_ID_PATTERN.test(stream)) return null;
    let head = this.outbox.head(stream);
    if (!head || head.callKey === null || after > head.lastSeq) return null;
    if (!head.final && !holds(head.callKey)) {
      const lost = new JsonRpcError(
        REQUEST_LOST,
        "Request lost: the session's gateway restarted while this call ran (it may have had effects); not retried",
      );
      this.publish(stream, JSON.stringify(errorEnvelope(JSON.parse(head.callKey), lost)), true);
      head = this.outbox.head(stream) ?? head;
    }
    const pair = new WebSocketPair();
    const server = pair[1];
    this.ctx.acceptWebSocket(server, [RESUME_TAG, streamTag(stream)]);
    for (const event of this.outbox.after(stream, after)) {
      if (event.body === null) continue;
      sendText(server, JSON.stringify({ id: `${stream}.${event.seq}`, data: event.body }));
    }
    if (head.final) closeQuietly(server, 1000, "reply complete");
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** The session ended: every resumer is closed (running calls were answered first). */
  endAll(): void {
    for (const ws of this.ctx.getWebSockets(RESUME_TAG)) closeQuietly(ws, 1000, "session ended");
  }
}

function streamTag(stream: string): string {
  return `stream:${stream}`;
}
