/**
 * The requests of a session that wait outside the in-flight map: a call
 * waiting for the client's input (the input bridge, kept in SQLite) and a
 * `tasks/result` waiting for its task (the task bridge). For the client they
 * are still in flight: a re-attach lists them, and a new request may not take
 * their id until they are answered.
 */
import type { JsonRpcError } from "../../shared/errors";
import type { SessionContext } from "./context";
import type { InputBridge } from "./input-bridge";
import type { TaskBridge } from "./task-bridge";

export class WaitingRequests {
  constructor(
    private readonly session: SessionContext,
    private readonly bridge: InputBridge | null,
    private readonly tasks: TaskBridge | null,
  ) {}

  /** Whether a request with this key waits, whichever object lifetime started it. */
  holds(key: string): boolean {
    // Known none (a socket's attachment says so): no SQLite lookup on a warm or woken socket.
    if (this.session.mayHaveWaitingCalls?.() === false) return false;
    return (this.bridge?.holds(key) ?? false) || (this.tasks?.holds(key) ?? false);
  }

  /** The keys of every waiting request. */
  keys(): string[] {
    return [...(this.bridge?.waitingKeys() ?? []), ...(this.tasks?.waitingKeys() ?? [])];
  }

  /** Whether a request started in this object lifetime waits (its HTTP exchange stays open). */
  startedHere(key: string): boolean {
    return (this.bridge?.isWaiting(key) ?? false) || (this.tasks?.isParked(key) ?? false);
  }

  /** Stops the request with this key if it waits (cancelled, or its reply stream expired). */
  stop(key: string, reason: string): void {
    this.bridge?.cancel(key, reason);
    this.tasks?.forget(key);
  }

  /** The session is ending: every waiting request is answered with `error`. */
  endAll(error: JsonRpcError): void {
    this.bridge?.endAll(error);
    this.tasks?.endAll(error);
  }
}
