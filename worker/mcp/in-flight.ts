/**
 * The requests a dispatcher is working on, by their key (`requestKey`): whether
 * a new one may start (its id is not in flight already, and the session is
 * under MAX_IN_FLIGHT_PER_SESSION), and the ways they end early (cancellation,
 * the session's end). Memory only: a request in flight keeps the object awake,
 * so it cannot outlive an eviction.
 */
import {
  errorEnvelope,
  INVALID_REQUEST,
  JsonRpcError,
  TOO_MANY_IN_FLIGHT,
} from "../../shared/errors";
import { MAX_IN_FLIGHT_PER_SESSION } from "../../shared/limits";
import type { Channel } from "../transports/channel";
import type { CallAbort } from "./call-abort";

export interface InFlight {
  abort: CallAbort;
  /** Where its reply goes, and where SESSION_ENDED goes if the session ends first. */
  channel: Channel;
  /** Which connection sent it (a socket's attach generation), when the channel spans several. */
  origin: number | undefined;
}

export class InFlightRequests {
  readonly #entries = new Map<string, InFlight>();

  /**
   * Why a request with `key` from connection `origin` cannot start now, or
   * null. An id already in flight is refused, unless it came from an earlier
   * connection of the same channel: then the client started its ids afresh (a
   * reconnecting client that does not resume), the older request could no
   * longer be answered unambiguously, and it is stopped in favour of the newer.
   */
  refusal(key: string, origin: number | undefined, bounded = true): JsonRpcError | null {
    const existing = this.#entries.get(key);
    if (
      existing &&
      origin !== undefined &&
      existing.origin !== undefined &&
      existing.origin < origin
    ) {
      existing.abort.abort(new Error("a newer connection reused this request id"));
      this.#entries.delete(key);
    } else if (existing) {
      return new JsonRpcError(INVALID_REQUEST, `Request id ${key} is already in flight`);
    }
    if (bounded && this.#entries.size >= MAX_IN_FLIGHT_PER_SESSION) {
      return new JsonRpcError(
        TOO_MANY_IN_FLIGHT,
        `Too many requests in flight on this session (at most ${MAX_IN_FLIGHT_PER_SESSION}); wait for replies`,
      );
    }
    return null;
  }

  add(key: string, entry: InFlight): void {
    this.#entries.set(key, entry);
  }

  /** Forgets `entry`, unless a newer request has taken its key since. */
  remove(key: string, entry: InFlight): void {
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
  }

  cancel(key: string, reason: string): void {
    this.#entries.get(key)?.abort.abort(new Error(reason));
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Answers every request with `error` on its own channel, then aborts it. */
  endAll(error: JsonRpcError, reason: string): void {
    for (const [key, entry] of this.#entries) {
      entry.channel.send(errorEnvelope(JSON.parse(key), error));
      entry.abort.abort(new Error(reason));
    }
  }
}
