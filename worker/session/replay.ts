/**
 * The session's WebSocket sequence and its replay (the resumable WebSocket
 * binding, shared/protocol-constants.ts): every message the session sends
 * toward its sockets is numbered (1, 2, 3 ... across all of its sockets) and
 * kept in the bounded replay store (storage/outbox-table.ts), whether a socket
 * is attached or not. A re-attaching client says how many it received; the
 * socket then gets, in order and before anything new, what it missed.
 */
import { notificationEnvelope } from "../../shared/errors";
import { NOTICE_MESSAGES_LOST, NOTICE_RESUMED } from "../../shared/protocol";
import { type OutboxTable, WS_STREAM } from "../storage/outbox-table";

export class SocketReplay {
  /** `enabled` false (REPLAY=off, to measure the store's cost): nothing is numbered, kept or replayed. */
  constructor(
    private readonly outbox: OutboxTable,
    private readonly enabled = true,
  ) {}

  /** Numbers and keeps one outgoing message; `delivered` when a socket was there to send it to. */
  record(text: string, delivered: boolean): number {
    if (!this.enabled) return 0;
    return this.outbox.append(WS_STREAM, text, delivered);
  }

  /** How many numbered messages the session has sent on its sockets. */
  sent(): number {
    return this.outbox.head(WS_STREAM)?.lastSeq ?? 0;
  }

  /** Why `received` cannot be served (more than was ever sent), or null. */
  refusal(received: number | null): string | null {
    if (received === null || !this.enabled) return null;
    const sent = this.sent();
    if (received <= sent) return null;
    return `received=${received} is more than the ${sent} messages this session has sent on its WebSockets`;
  }

  /**
   * The frames a newly attached socket gets before anything new: with
   * `received`, every held message after the received-th; without it, what was
   * produced while no socket was attached. Messages no longer held (or too
   * large to keep) are named by MESSAGES_LOST notices in their place. Ends
   * with the RESUMED notice, which lists the requests still running.
   */
  frames(received: number | null, inFlight: readonly unknown[]): string[] {
    if (!this.enabled) return [];
    const sent = this.sent();
    const held =
      received === null
        ? this.outbox.undelivered(WS_STREAM)
        : this.outbox.after(WS_STREAM, received);
    const frames: string[] = [];
    let position = received ?? (held[0] ? held[0].seq - 1 : sent);
    let lost = 0;
    for (const message of held) {
      if (message.seq > position + 1 || message.body === null) {
        const last = message.body === null ? message.seq : message.seq - 1;
        frames.push(lostNotice(position + 1, last));
        lost += last - position;
        position = last;
      }
      if (message.body !== null) {
        frames.push(message.body);
        position = message.seq;
      }
    }
    if (received !== null && position < sent) {
      frames.push(lostNotice(position + 1, sent));
      lost += sent - position;
    }
    const replayed = held.filter((m) => m.body !== null).length;
    frames.push(
      JSON.stringify(
        notificationEnvelope(NOTICE_RESUMED, {
          received,
          replayed,
          lost,
          sent,
          inFlight: [...inFlight],
        }),
      ),
    );
    this.outbox.markDelivered(WS_STREAM, sent);
    return frames;
  }
}

function lostNotice(first: number, last: number): string {
  return JSON.stringify(
    notificationEnvelope(NOTICE_MESSAGES_LOST, { first, last, count: last - first + 1 }),
  );
}
