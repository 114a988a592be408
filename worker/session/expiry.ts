/**
 * How a session ends: the idle TTL (activity recorded at most once per
 * TOUCH_EVERY_MS, an alarm at the expiry time; the keepalive text frame counts
 * as activity, read from the runtime's auto-response timestamps when the alarm
 * fires), ending on DELETE or expiry
 * (running requests answered, sockets closed with 4004, upstream sessions
 * ended, the principal's slot released) and the purge of its storage in
 * bounded steps, continued by the alarm until nothing is left.
 *
 * No timer: the alarm (alarm-clock.ts) is the only clock, so an idle session sleeps.
 */
import { CLOSE_SESSION_ENDED } from "../../shared/limits";
import { ANONYMOUS } from "../auth/anonymous";
import type { Dispatcher } from "../mcp/dispatcher";
import { logEvent } from "../observability/log";
import type { AlarmClock } from "./alarm-clock";
import type { SessionState } from "./state";

/** Activity is written at most this often (and at most every TTL/10). */
const TOUCH_EVERY_MS = 60_000;
/** How soon an ended session tries again to give back its slot. */
const SLOT_RELEASE_RETRY_MS = 60_000;
/** Rows deleted per purge step before yielding to the next alarm. */
const PURGE_ROWS_PER_STEP = 1_000;

export interface ExpiryOptions {
  state: SessionState;
  /** The object's alarm (the idle TTL and the purge steps). */
  clock: AlarmClock;
  dispatcher: Dispatcher;
  idleTtlMs: number;
  /** The session's sockets, to close when it ends. */
  sockets(): WebSocket[];
  /** When the runtime last answered a socket's keepalive (`ping` -> `pong`), ms; null if never. */
  lastKeepaliveAt(): number | null;
  /** Closes the internal sockets of resumed HTTP reply streams. */
  endStreams(): void;
  /** Drops what the replay ring still holds: nobody can re-attach to an ended session. */
  dropReplay(): void;
  /** Frees the creator's slot in MAX_SESSIONS_PER_PRINCIPAL when the session ends. */
  releaseSlot(principal: string, sessionId: string): Promise<void>;
}

export class Expiry {
  constructor(private readonly options: ExpiryOptions) {}

  /**
   * Counts activity for the idle TTL: one write per TOUCH_EVERY_MS at most.
   * True when it wrote (the attachment's copy of the time is then stale).
   */
  touch(now: number): boolean {
    const { state, idleTtlMs } = this.options;
    const every = Math.min(TOUCH_EVERY_MS, idleTtlMs / 10);
    if (now - state.lastTouch < every) return false;
    state.lastTouch = now;
    state.storage.touch(now);
    this.options.clock.set("expiry", now + idleTtlMs);
    return true;
  }

  /**
   * Activity just written with something else (the session's creation, a
   * socket's attach): arms the idle TTL from `now` without another write.
   */
  activeAt(now: number): void {
    this.options.state.lastTouch = now;
    this.options.clock.set("expiry", now + this.options.idleTtlMs);
  }

  /** The alarm: expire an idle session, or continue deleting an ended one. */
  async onAlarm(): Promise<void> {
    const storage = this.options.state.storage;
    const record = storage.read();
    if (!record) {
      await storage.destroy();
      return;
    }
    if (record.phase !== "ended") {
      // A client that only sends the keepalive is alive: the runtime answers it without
      // waking the object, but records when it last did.
      const keepaliveAt = this.options.lastKeepaliveAt() ?? 0;
      const activeAt = Math.max(record.lastActiveAt, keepaliveAt);
      const expiresAt = activeAt + this.options.idleTtlMs;
      if (expiresAt > Date.now()) {
        if (activeAt > record.lastActiveAt) storage.touch(activeAt);
        this.options.clock.set("expiry", expiresAt);
        return;
      }
      await this.end("session expired after idling");
      return;
    }
    // An end that a crash or a failed call cut short left the slot taken: it goes
    // before the row that names its principal does (a release is idempotent).
    if (!(await this.releaseSlot())) {
      this.options.clock.set("expiry", Date.now() + SLOT_RELEASE_RETRY_MS);
      return;
    }
    await this.#purge();
  }

  /**
   * Ends the session: answers its running requests, closes its sockets, marks
   * it ended (so its id answers 404 from now on) and deletes its storage in
   * bounded steps, continuing from the alarm if the budget runs out.
   */
  async end(reason: string): Promise<void> {
    const { state, dispatcher } = this.options;
    dispatcher.endAll(reason);
    // Ended before anything here waits: from now on the session answers as unknown,
    // so no request or re-attach can start in it while its slot is released and its
    // upstream sessions end (that wait is bounded, but seconds long).
    state.end();
    if (state.storage.exists()) state.storage.savePhase("ended");
    for (const ws of this.options.sockets()) state.retire(ws, CLOSE_SESSION_ENDED, reason);
    this.options.endStreams();
    this.options.dropReplay();
    logEvent("info", "session_ended", { sessionId: state.sessionId, reason });
    const released = await this.releaseSlot();
    // The upstream sessions this session opened end with it (DELETE, bounded, best effort).
    await state.federation?.terminateAll();
    // Storage goes only once the slot is given back; otherwise the alarm tries again.
    if (released) await this.#purge();
    else this.options.clock.set("expiry", Date.now() + SLOT_RELEASE_RETRY_MS);
  }

  /**
   * Releases the creator's session slot (also when a failed initialize mints
   * nothing). False when the principal's object could not be told: the slot is
   * still taken, and the session's storage must stay until it is released.
   */
  async releaseSlot(): Promise<boolean> {
    const { state } = this.options;
    const principal = state.storage.read()?.principal;
    if (!principal || principal === ANONYMOUS) return true;
    try {
      await this.options.releaseSlot(principal, state.sessionId);
      return true;
    } catch (error) {
      logEvent("warn", "slot_release_failed", { sessionId: state.sessionId, error });
      return false;
    }
  }

  async #purge(): Promise<void> {
    const storage = this.options.state.storage;
    if (storage.purgeStep(PURGE_ROWS_PER_STEP)) {
      await storage.destroy();
    } else {
      this.options.clock.set("expiry", Date.now());
    }
  }
}
