/**
 * A session's hot state in one object lifetime, and what the dispatcher may
 * see of the session (SessionContext): phase, negotiated version and log level,
 * plus the socket the session currently answers on, its attach generation,
 * when activity was last recorded and the message-rate bucket.
 *
 * SQLite is the truth; the current socket's attachment is a cache of these
 * fields, so a woken object dispatches without reading SQLite. Every change is
 * written to SQLite first (by the caller), then mirrored here and into the
 * attachment.
 */
import type { AccessPolicy } from "../config/access-policy";
import type { Federation } from "../federation/federation";
import type { HotState, SessionContext } from "../mcp/context";
import {
  ATTACHMENT_VERSION,
  decodeAttachment,
  encodeAttachment,
  RETIRED,
} from "../storage/attachment";
import type { SessionRecord, SessionStorage } from "../storage/session-storage";
import type { TaskService } from "../tasks/task-service";
import type { ToolRegistry } from "../tools/registry";
import { closeQuietly } from "../transports/websocket";
import type { MessageRate, OutboundBudget } from "./rate-limit";

export interface SessionStateOptions {
  sessionId: string;
  storage: SessionStorage;
  registry: ToolRegistry;
  federation: Federation | null;
  policy: AccessPolicy | null;
  requestStateSecret: string | undefined;
  rate: MessageRate;
  /** What may still be sent toward the socket. */
  outbound: OutboundBudget;
  /** The session's sockets as the runtime knows them (hibernated ones included). */
  sockets(): WebSocket[];
  /** Durable tasks on behalf of `principal` (the session's creator). */
  taskService(principal: string): TaskService;
}

/** What restoring from a socket found ("retired": the session closed that socket). */
export type Adoption = "adopted" | "rebuilt" | "gone" | "retired";

export class SessionState implements SessionContext {
  readonly sessionId: string;
  readonly storage: SessionStorage;
  readonly registry: ToolRegistry;
  readonly federation: Federation | null;
  readonly policy: AccessPolicy | null;
  readonly requestStateSecret: string | undefined;
  readonly rate: MessageRate;
  readonly outbound: OutboundBudget;
  /** When this object lifetime last recorded activity for the idle TTL (0: not yet). */
  lastTouch = 0;
  #hot: HotState | null = null;
  #principal = "";
  #current: WebSocket | null = null;
  /** Known: no call of the session waits (see the attachment's `nw`). */
  #noWaiting = false;
  /** Attach generation of the current socket (mirrors its attachment). */
  #gen = 0;
  readonly #sockets: () => WebSocket[];
  readonly #taskService: (principal: string) => TaskService;
  #tasks: TaskService | null = null;

  constructor(options: SessionStateOptions) {
    this.sessionId = options.sessionId;
    this.storage = options.storage;
    this.registry = options.registry;
    this.federation = options.federation;
    this.policy = options.policy;
    this.requestStateSecret = options.requestStateSecret;
    this.rate = options.rate;
    this.outbound = options.outbound;
    this.#sockets = options.sockets;
    this.#taskService = options.taskService;
  }

  /** Tasks on behalf of the session's creator (every request of a session is theirs). */
  tasks(): TaskService {
    this.#tasks ??= this.#taskService(this.principal());
    return this.#tasks;
  }

  hot(): HotState {
    if (!this.#hot) this.#hot = this.#hotFromStorage();
    return this.#hot;
  }

  updateHot(change: Partial<HotState>): void {
    this.#hot = { ...this.hot(), ...change };
    this.saveAttachment();
  }

  /** The creator's principal; fixed at creation, so read once per object lifetime. */
  principal(): string {
    this.#principal ||= this.storage.read()?.principal ?? "";
    return this.#principal;
  }

  record(): SessionRecord {
    const record = this.storage.read();
    if (!record) throw new Error("session record missing");
    return record;
  }

  /**
   * Whether `principal` may reach this session: it exists, has not ended, and
   * was created by them. Anything else looks exactly like an unknown session.
   */
  reachableBy(principal: string): boolean {
    // Warm: the creator never changes and the phase is hot state: no SQLite read.
    if (this.#hot && this.#principal) {
      return this.#hot.phase !== "ended" && this.#principal === principal;
    }
    const record = this.storage.read();
    if (!record) return false;
    this.#principal = record.principal;
    this.#hot ??= {
      phase: record.phase,
      protocolVersion: record.protocolVersion,
      logLevel: record.logLevel,
    };
    return record.phase !== "ended" && record.principal === principal;
  }

  /** The session's storage was deleted (a failed initialize): nothing cached about it holds. */
  forget(): void {
    this.#hot = null;
    this.#principal = "";
  }

  /** Attach generation of the current socket: which connection a message came on. */
  get generation(): number {
    return this.#gen;
  }

  /** The socket replies go to: the current one, or after a wake the newest attached. */
  currentSocket(): WebSocket | null {
    return this.#current ?? this.#latestSocket();
  }

  /** Whether a socket was attached or adopted in this object lifetime and has not left. */
  hasCurrentSocket(): boolean {
    return this.#current !== null;
  }

  /**
   * Makes a newly accepted socket current, with hot state fresh from `record`;
   * `noWaiting`: the session is known to have no waiting call.
   */
  attach(ws: WebSocket, gen: number, record: SessionRecord, noWaiting: boolean): void {
    this.#noWaiting = noWaiting;
    this.#hot = {
      phase: record.phase,
      protocolVersion: record.protocolVersion,
      logLevel: record.logLevel,
    };
    this.#current = ws;
    this.#gen = gen;
    this.outbound.reset();
    this.saveAttachment();
  }

  /**
   * Closes `ws` for good: it stops being current, and frames that still arrive
   * on it are dropped (attachment.ts RETIRED).
   */
  retire(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.serializeAttachment(RETIRED);
    } catch {
      // Already gone: nothing more can arrive on it.
    }
    if (ws === this.#current) this.#current = null;
    closeQuietly(ws, code, reason);
  }

  /** `ws` is gone; true when it was the current socket. */
  detach(ws: WebSocket): boolean {
    if (ws !== this.#current) return false;
    this.#current = null;
    return true;
  }

  /**
   * Makes `ws` current and restores hot state from its attachment (the wake
   * path: no SQLite read). Falls back to storage for a missing or corrupt
   * attachment ("rebuilt"); "gone" when the session no longer exists or ended;
   * "retired" for a socket the session has closed (retire()).
   */
  adopt(ws: WebSocket): Adoption {
    if (this.#current === ws && this.#hot) return "adopted";
    const raw = ws.deserializeAttachment();
    if (raw === RETIRED) return "retired";
    const now = Date.now();
    const attachment = decodeAttachment(raw, this.sessionId);
    let outcome: Adoption = "adopted";
    if (attachment) {
      this.#hot = {
        phase: attachment.phase,
        protocolVersion: attachment.pv,
        logLevel: attachment.ll,
      };
      this.#gen = attachment.gen;
      // A wake soon after the last recorded activity writes nothing for the TTL.
      this.lastTouch = Math.min(attachment.ta ?? 0, now);
      this.#noWaiting = attachment.nw === true;
      this.rate.restore(attachment.tb, now);
      this.outbound.restore(attachment.ob, now);
    } else {
      const record = this.storage.read();
      if (!record) return "gone";
      this.#hot = this.#hotFromStorage();
      this.#gen = record.attachGen;
      ws.serializeAttachment(this.#attachment());
      outcome = "rebuilt";
    }
    if (this.#hot.phase === "ended") return "gone";
    this.#current = ws;
    return outcome;
  }

  /** Mirrors the hot fields into the current socket's attachment. */
  saveAttachment(): void {
    this.#current?.serializeAttachment(this.#attachment());
  }

  /** Whether this object lifetime saw the session end (end()). */
  ended(): boolean {
    return this.#hot?.phase === "ended";
  }

  /** The session ended: nothing is current any more. */
  end(): void {
    this.#hot = { ...this.hot(), phase: "ended" };
    this.#current = null;
  }

  #attachment() {
    const hot = this.hot();
    const bucket = this.rate.saved;
    const outbound = this.outbound.saved;
    return encodeAttachment({
      v: ATTACHMENT_VERSION,
      sid: this.sessionId,
      gen: this.#gen,
      phase: hot.phase,
      pv: hot.protocolVersion,
      ll: hot.logLevel,
      ...(bucket ? { tb: bucket } : {}),
      ...(outbound ? { ob: outbound } : {}),
      ...(this.lastTouch > 0 ? { ta: this.lastTouch } : {}),
      ...(this.#noWaiting ? { nw: true as const } : {}),
    });
  }

  mayHaveWaitingCalls(): boolean {
    return !this.#noWaiting;
  }

  /**
   * A call is about to wait. Every socket of the session forgets that none
   * did (not only the current one: a socket not adopted in this lifetime would
   * otherwise bring the stale fact back on its next wake).
   */
  markWaitingCalls(): void {
    this.#noWaiting = false;
    for (const ws of this.#sockets()) {
      const attachment = decodeAttachment(ws.deserializeAttachment(), this.sessionId);
      if (attachment?.nw) {
        const { nw: _known, ...rest } = attachment;
        ws.serializeAttachment(encodeAttachment(rest));
      }
    }
  }

  #hotFromStorage(): HotState {
    const record = this.storage.read();
    if (!record) return { phase: "ended", protocolVersion: null, logLevel: "info" };
    return {
      phase: record.phase,
      protocolVersion: record.protocolVersion,
      logLevel: record.logLevel,
    };
  }

  #latestSocket(): WebSocket | null {
    let best: WebSocket | null = null;
    let bestGen = -1;
    for (const ws of this.#sockets()) {
      const gen = decodeAttachment(ws.deserializeAttachment(), this.sessionId)?.gen ?? -1;
      if (gen > bestGen) {
        best = ws;
        bestGen = gen;
      }
    }
    return best;
  }
}
