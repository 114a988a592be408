/**
 * The client's half of the resumable WebSocket binding (README "Resuming a
 * WebSocket session"): how many numbered messages this client has received on
 * a session's sockets, which is the `received=<n>` it re-attaches with.
 *
 * Every text frame the session sends is numbered (1, 2, 3 ... across all of
 * its sockets) except the keepalive answer `pong` and the two unnumbered
 * notices (UNNUMBERED_NOTICES): `messages_lost` moves the count to its `last`
 * (those messages are gone, asking again would not bring them back), and
 * `resumed` ends a replay, naming how many messages the session has sent so
 * far (`sent`) and the requests it still runs (`inFlight`).
 *
 * Pure and platform-free (no valibot either: the inspector page bundles it),
 * so the SDK transport, the inspector and the load tool count the same way.
 */
import { KEEPALIVE_RESPONSE } from "../shared/limits";
import { NOTICE_MESSAGES_LOST, NOTICE_RESUMED } from "../shared/protocol-constants";

export interface MessagesLost {
  first: number;
  last: number;
  count: number;
}

export interface Resumed {
  /** The `received` this attach asked with (null: attached without one). */
  received: number | null;
  replayed: number;
  lost: number;
  /** Numbered messages the session had sent when this socket was attached. */
  sent: number;
  /** Ids of the requests the session was still running (or waiting on input for). */
  inFlight: unknown[];
}

export type Observed =
  | { kind: "keepalive" }
  /** A numbered message: `message` is its JSON, or undefined when the frame is not JSON. */
  | { kind: "numbered"; message: unknown }
  | { kind: "lost"; notice: MessagesLost }
  /** `resync`: the count disagreed with `sent` and was set to it. */
  | { kind: "resumed"; notice: Resumed; resync: boolean };

export class ReceivedCount {
  #count: number;

  constructor(initial = 0) {
    this.#count = initial;
  }

  /** How many numbered messages have been received: the next re-attach's `received`. */
  get value(): number {
    return this.#count;
  }

  /** Classifies one incoming text frame and moves the count accordingly. */
  observe(text: string): Observed {
    if (text === KEEPALIVE_RESPONSE) return { kind: "keepalive" };
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      // The session numbered it all the same (it numbers every message it sends).
      this.#count += 1;
      return { kind: "numbered", message: undefined };
    }
    const notice = unnumberedNotice(message);
    if (notice?.method === NOTICE_MESSAGES_LOST) {
      const lost = messagesLostOf(notice.params);
      if (lost) {
        this.#count = Math.max(this.#count, lost.last);
        return { kind: "lost", notice: lost };
      }
    } else if (notice?.method === NOTICE_RESUMED) {
      const resumed = resumedOf(notice.params);
      if (resumed) {
        // Nothing numbered can come between the replay and this notice, so the
        // count must equal `sent` now; if it does not, `sent` is the truth.
        const resync = this.#count !== resumed.sent;
        this.#count = resumed.sent;
        return { kind: "resumed", notice: resumed, resync };
      }
    }
    this.#count += 1;
    return { kind: "numbered", message };
  }
}

function unnumberedNotice(message: unknown): { method: string; params: unknown } | null {
  if (!isObject(message) || "id" in message || typeof message.method !== "string") return null;
  if (message.method !== NOTICE_MESSAGES_LOST && message.method !== NOTICE_RESUMED) return null;
  return { method: message.method, params: message.params };
}

function messagesLostOf(params: unknown): MessagesLost | null {
  if (!isObject(params)) return null;
  const { first, last, count } = params;
  if (!isCount(first) || !isCount(last) || !isCount(count)) return null;
  return { first, last, count };
}

function resumedOf(params: unknown): Resumed | null {
  if (!isObject(params)) return null;
  const { received, replayed, lost, sent, inFlight } = params;
  if (!isCount(sent) || !Array.isArray(inFlight)) return null;
  return {
    received: isCount(received) ? received : null,
    replayed: isCount(replayed) ? replayed : 0,
    lost: isCount(lost) ? lost : 0,
    sent,
    inFlight,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
