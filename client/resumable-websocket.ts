/**
 * A resumable WebSocket transport for the MCP TypeScript SDK: the v1
 * `Transport` shape (`start`, `send`, `close`, `onmessage`, `onclose`,
 * `onerror`, `sessionId`), which the v2 client's `Transport` also accepts.
 *
 * It speaks Dormouse's resumable WebSocket binding (README "Resuming a
 * WebSocket session"): it counts the session's numbered messages
 * (received-count.ts) and, after any drop (a close without a close frame, an
 * error, a connection the keepalive found dead), re-attaches with
 * `/ws?session=<id>&received=<count>`, with exponential backoff and jitter.
 * The session replays what the client missed, so an SDK `Client` above never
 * sees a disconnect that the session survived. What it sends meanwhile is
 * queued (bounded) and sent once a socket is open again.
 *
 * Answers to the session's own requests and cancellations written into a
 * connection that died are written again after the re-attach, unless the
 * keepalive showed that the session read them (unconfirmed.ts).
 *
 * A request sent before a drop that the session, once re-attached, neither
 * answered nor still runs (outstanding.ts) is answered here with a REQUEST_LOST
 * error, delivered through `onmessage` like any answer, rather than left to
 * wait forever. `onclose` means the session is really gone: 404 on re-attach
 * (unknown or expired), close 4004 (ended), 4001 (another client took it over;
 * this transport's own re-attach also supersedes its old socket, which it has
 * already let go of), credentials refused (401/403), or `close()`.
 */
import { CLOSE_NORMAL } from "../shared/limits";
import { RECEIVED_PARAM } from "../shared/protocol-constants";
import { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from "./backoff";
import { DEFAULT_KEEPALIVE_INTERVAL_MS, Keepalive } from "./keepalive";
import { answerId, type JsonRpcMessage, outgoing, requestLost, sessionIdOf } from "./messages";
import { Outstanding, type RequestId } from "./outstanding";
import { probeSession } from "./probe";
import { type MessagesLost, ReceivedCount, type Resumed } from "./received-count";
import { browserSocket, type SocketEnd, type SocketFactory, type SocketHandle } from "./socket";
import { Unconfirmed } from "./unconfirmed";
import { describeEnd, verdictOf } from "./verdict";

export type { JsonRpcMessage } from "./messages";

export interface ResumableWebSocketOptions {
  /** The gateway's WebSocket endpoint, e.g. `wss://gateway.example/ws`. */
  url: string | URL;
  /** Bearer token: an Authorization header (nodeSocket) or a `mcp.auth.<token>` subprotocol entry (browsers). */
  token?: string | undefined;
  /** Attach to this existing session instead of creating one (the SDK then skips `initialize`). */
  sessionId?: string | undefined;
  /** With `sessionId`: how many of its numbered messages this client already has. */
  received?: number | undefined;
  /** Re-attach delays (default 100 ms doubling up to 10 s, jittered). */
  backoff?: Partial<BackoffOptions> | undefined;
  /** Give up re-attaching after this long and report the session gone (default: never). */
  maxReconnectMs?: number | undefined;
  /** Keepalive `ping` interval (default 15 s; 0 turns it off). A silent connection is dropped after 1-2 intervals. */
  keepaliveIntervalMs?: number | undefined;
  /** Longest an upgrade may take before the attempt is abandoned (default 10 s). */
  openTimeoutMs?: number | undefined;
  /** Messages queued while re-attaching, at most (default 1,000); `send` rejects beyond. */
  maxQueuedMessages?: number | undefined;
  /** How to open a socket (default: the standard WebSocket; in Node 20 use nodeSocket). */
  socket?: SocketFactory | undefined;
  /** Hears what the transport does (drops, retries, replays), e.g. to log it. */
  onEvent?: ((event: TransportEvent) => void) | undefined;
  /** Random numbers for the jitter (tests). */
  random?: (() => number) | undefined;
}

export type TransportEvent =
  | { type: "open"; sessionId: string | undefined; reattached: boolean; url: string }
  | { type: "drop"; code: number; reason: string }
  | { type: "retry"; attempt: number; delayMs: number; reason: string }
  | { type: "keepalive_timeout" }
  | { type: "messages_lost"; notice: MessagesLost }
  /** `rewritten`: answers and cancellations written again (unconfirmed.ts). */
  | { type: "resumed"; notice: Resumed; failed: RequestId[]; rewritten: number }
  | { type: "closed"; reason: string };

type State = "new" | "connecting" | "open" | "reconnecting" | "closed";

interface Queued {
  text: string;
  requestId: RequestId | undefined;
  /** Order of the `send` call: the queue stays in this order. */
  order: number;
  /** An answer or a cancellation: written again after a re-attach unless confirmed read. */
  rewrite: boolean;
  /** JSON of the request id a cancellation cancels. */
  cancelsKey: string | undefined;
}

interface Starter {
  resolve(): void;
  reject(error: Error): void;
}

const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_QUEUED = 1_000;
/** After `close()`, a socket that has not finished its closing handshake is dropped. */
const CLOSE_GRACE_MS = 2_000;

export class ResumableWebSocketTransport {
  onmessage?: ((message: JsonRpcMessage) => void) | undefined;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;

  readonly #url: URL;
  readonly #options: ResumableWebSocketOptions;
  readonly #socketFactory: SocketFactory;
  readonly #backoff: BackoffOptions;
  readonly #count: ReceivedCount;
  readonly #outstanding = new Outstanding();
  readonly #unconfirmed = new Unconfirmed<Queued>();
  readonly #queue: Queued[] = [];
  #state: State = "new";
  #socket: SocketHandle | null = null;
  #keepalive: Keepalive | null = null;
  /** Connections opened so far; requests remember the one they were written on. */
  #epoch = 0;
  #knownSessionId: string | undefined;
  #sessionExposed: boolean;
  #attempt = 0;
  #reconnectingSince = 0;
  #useReceived = true;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #sends = 0;

  constructor(options: ResumableWebSocketOptions) {
    this.#options = options;
    this.#url = new URL(String(options.url));
    const fromUrl = this.#url.searchParams.get("session") ?? undefined;
    this.#url.searchParams.delete("session");
    this.#url.searchParams.delete(RECEIVED_PARAM);
    this.#knownSessionId = options.sessionId ?? fromUrl;
    this.#sessionExposed = this.#knownSessionId !== undefined;
    this.#count = new ReceivedCount(options.received ?? 0);
    this.#socketFactory = options.socket ?? browserSocket;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  }

  /**
   * The session id, once the session is established: given in the options, or
   * after the first answer (so an SDK `Client` still sends `initialize` on a new session).
   */
  get sessionId(): string | undefined {
    return this.#sessionExposed ? this.#knownSessionId : undefined;
  }

  /** How many numbered messages this client has received: the next re-attach's `received`. */
  get received(): number {
    return this.#count.value;
  }

  get state(): State {
    return this.#state;
  }

  /** Opens the first socket; rejects if it does not open (nothing is retried before a session exists). */
  start(): Promise<void> {
    if (this.#state !== "new") {
      throw new Error("ResumableWebSocketTransport already started (Client.connect starts it)");
    }
    this.#state = "connecting";
    return new Promise((resolve, reject) => this.#connect({ resolve, reject }));
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.#state === "closed" || this.#state === "new") throw new Error("Not connected");
    const { requestId, cancels, answers } = outgoing(message);
    if (cancels !== undefined) this.#outstanding.settled(cancels);
    const entry: Queued = {
      text: JSON.stringify(message),
      requestId,
      order: this.#sends++,
      rewrite: answers || cancels !== undefined,
      cancelsKey: cancels === undefined ? undefined : JSON.stringify(cancels),
    };
    if (this.#state === "open" && this.#write(entry)) return;
    const max = this.#options.maxQueuedMessages ?? DEFAULT_MAX_QUEUED;
    if (this.#queue.length >= max) {
      throw new Error(`Not sent: ${max} messages already wait for the connection to come back`);
    }
    this.#queue.push(entry);
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const socket = this.#socket;
    this.#shutDown("closed by the client");
    if (socket) {
      socket.close(CLOSE_NORMAL, "client closed");
      const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
      (timer as { unref?: () => void }).unref?.();
    }
    this.onclose?.();
  }

  #connect(starter?: Starter): void {
    const url = this.#attachUrl();
    const timeoutMs = this.#options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
    let handle: SocketHandle | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      handle?.terminate();
    }, timeoutMs);
    const mine = () => handle !== null && this.#socket === handle;
    try {
      handle = this.#socketFactory.open(url, this.#options.token, {
        open: () => {
          if (!mine() || !handle) return;
          clearTimeout(timer);
          this.#onOpen(handle, url);
          starter?.resolve();
        },
        message: (text) => {
          if (mine()) this.#onText(text);
        },
        end: (end) => {
          if (!mine()) return;
          clearTimeout(timer);
          const reason = timedOut ? `the upgrade took longer than ${timeoutMs} ms` : end.reason;
          this.#onEnd({ ...end, reason }, starter);
        },
      });
    } catch (error) {
      clearTimeout(timer);
      const failure = error instanceof Error ? error : new Error(String(error));
      if (starter) {
        this.#state = "closed";
        starter.reject(failure);
      } else this.#retry(failure.message);
      return;
    }
    this.#socket = handle;
  }

  #attachUrl(): string {
    const url = new URL(this.#url);
    const id = this.#knownSessionId;
    if (id !== undefined) {
      url.searchParams.set("session", id);
      const resuming = this.#epoch > 0 || this.#options.received !== undefined;
      if (resuming && this.#useReceived) {
        url.searchParams.set(RECEIVED_PARAM, String(this.#count.value));
      }
    }
    return url.toString();
  }

  #onOpen(handle: SocketHandle, url: string): void {
    const reattached = this.#epoch > 0;
    this.#epoch += 1;
    this.#state = "open";
    this.#attempt = 0;
    this.#useReceived = true;
    this.#knownSessionId ??= handle.sessionId;
    this.#unconfirmed.connected();
    this.#keepalive = new Keepalive(
      this.#options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
      (text) => {
        if (this.#trySend(handle, text)) this.#unconfirmed.pinged();
      },
      () => this.#onKeepaliveTimeout(handle),
    );
    this.#keepalive.start();
    this.#event({ type: "open", sessionId: this.#knownSessionId, reattached, url });
    const queued = this.#queue.splice(0);
    for (const [index, entry] of queued.entries()) {
      if (!this.#write(entry)) {
        this.#queue.unshift(...queued.slice(index));
        break;
      }
    }
  }

  #onText(text: string): void {
    this.#keepalive?.heard();
    const observed = this.#count.observe(text);
    switch (observed.kind) {
      case "keepalive":
        this.#unconfirmed.ponged(this.#epoch);
        return;
      case "lost":
        this.#event({ type: "messages_lost", notice: observed.notice });
        return;
      case "resumed":
        this.#onResumed(observed.notice, observed.resync);
        return;
      case "numbered":
        if (observed.message === undefined) {
          this.onerror?.(
            new Error(`The gateway sent a frame that is not JSON: ${text.slice(0, 80)}`),
          );
          return;
        }
        this.#deliver(observed.message);
    }
  }

  #deliver(message: unknown): void {
    const id = answerId(message);
    if (id !== undefined) {
      this.#outstanding.settled(id);
      // The first answer establishes the session; a browser learns its id from
      // the initialize result, since it cannot read the 101's headers.
      this.#knownSessionId ??= sessionIdOf(message);
      this.#sessionExposed ||= this.#knownSessionId !== undefined;
    }
    this.onmessage?.(message as JsonRpcMessage);
  }

  #onResumed(notice: Resumed, resync: boolean): void {
    const failed = this.#outstanding.lost(notice.inFlight, this.#epoch);
    if (resync && notice.received !== null) {
      this.onerror?.(
        new Error(
          `Re-attached with received=${notice.received} but the session counts ${notice.sent} sent; counting on from ${notice.sent}`,
        ),
      );
    }
    const again = this.#unconfirmed.again(notice.inFlight, this.#epoch);
    this.#event({ type: "resumed", notice, failed, rewritten: again.length });
    for (const id of failed) this.onmessage?.(requestLost(id));
    for (const entry of again) if (!this.#write(entry)) this.#queue.push(entry);
  }

  #onEnd(end: SocketEnd, starter: Starter | undefined): void {
    this.#socket = null;
    this.#keepalive?.stop();
    this.#keepalive = null;
    if (this.#state === "closed") return;
    if (starter && !end.opened) {
      this.#shutDown(`could not connect: ${describeEnd(end)}`);
      starter.reject(new Error(`Could not open ${this.#url}: ${describeEnd(end)}`));
      return;
    }
    if (end.opened) this.#event({ type: "drop", code: end.code, reason: end.reason });
    const verdict = verdictOf(end, {
      showsStatus: this.#socketFactory.showsStatus,
      usedReceived: this.#useReceived,
    });
    switch (verdict.kind) {
      case "gone":
        this.#gone(verdict.reason);
        return;
      case "retry_without_received":
        // Our count is not one the session can serve: attach without it (what
        // was produced while detached is replayed) and take the session's count.
        this.#useReceived = false;
        this.onerror?.(new Error(`Re-attach refused (${verdict.reason}); trying without received`));
        this.#retry(verdict.reason);
        return;
      case "probe":
        void this.#probeThenRetry(verdict.reason);
        return;
      case "retry":
        this.#retry(verdict.reason);
    }
  }

  /** Where a refused upgrade shows no status (browsers): ask whether the session still exists. */
  async #probeThenRetry(reason: string): Promise<void> {
    const id = this.#knownSessionId;
    const verdict = id ? await probeSession(String(this.#url), id, this.#options.token) : "unknown";
    if (this.#state === "closed") return;
    if (verdict === "gone") this.#gone(`the session no longer exists (${reason}; GET /mcp: 404)`);
    else this.#retry(reason);
  }

  #retry(reason: string): void {
    if (this.#state === "closed") return;
    if (this.#knownSessionId === undefined) {
      this.#gone(`the connection dropped before the session id was known (${reason})`);
      return;
    }
    if (this.#state !== "reconnecting") {
      this.#state = "reconnecting";
      this.#reconnectingSince = Date.now();
    }
    const limit = this.#options.maxReconnectMs;
    if (limit !== undefined && Date.now() - this.#reconnectingSince > limit) {
      this.#gone(`could not re-attach within ${limit} ms (${reason})`);
      return;
    }
    const attempt = this.#attempt++;
    const delayMs = backoffDelayMs(attempt, this.#backoff, this.#options.random);
    this.#event({ type: "retry", attempt: attempt + 1, delayMs, reason });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === "reconnecting") this.#connect();
    }, delayMs);
  }

  #onKeepaliveTimeout(handle: SocketHandle): void {
    if (this.#socket !== handle) return;
    this.#event({ type: "keepalive_timeout" });
    // Let go of it first: whatever it still reports belongs to no one.
    this.#socket = null;
    handle.terminate();
    this.#onEnd({ code: 1006, reason: "no answer to the keepalive", opened: true }, undefined);
  }

  /** Writes to the open socket; false when it cannot (the message should wait). */
  #write(entry: Queued): boolean {
    const socket = this.#socket;
    if (!socket) return false;
    const epoch = this.#epoch;
    const unsent = () => this.#onUnsent(entry, epoch);
    if (!this.#trySend(socket, entry.text, unsent)) return false;
    this.#unconfirmed.wrote(epoch, entry.rewrite ? entry : undefined);
    if (entry.requestId !== undefined) this.#outstanding.sent(entry.requestId, epoch);
    return true;
  }

  /**
   * The platform says a frame never left this machine (its connection was
   * already gone): it certainly did not arrive, so it is sent again, in its
   * place among what waits, instead of being counted lost.
   */
  #onUnsent(entry: Queued, epoch: number): void {
    if (this.#state === "closed") return;
    this.#unconfirmed.drop(entry);
    if (entry.requestId !== undefined) {
      // Already failed as lost, or cancelled: nobody waits for it any more.
      if (!this.#outstanding.has(entry.requestId)) return;
      this.#outstanding.settled(entry.requestId);
    }
    if (this.#state === "open" && this.#epoch > epoch && this.#write(entry)) return;
    const at = this.#queue.findIndex((waiting) => waiting.order > entry.order);
    this.#queue.splice(at < 0 ? this.#queue.length : at, 0, entry);
  }

  #trySend(socket: SocketHandle, text: string, unsent?: () => void): boolean {
    try {
      socket.send(text, unsent);
      return true;
    } catch {
      return false;
    }
  }

  #gone(reason: string): void {
    if (this.#state === "closed") return;
    const socket = this.#socket;
    this.#shutDown(reason);
    socket?.terminate();
    this.onclose?.();
  }

  #shutDown(reason: string): void {
    this.#state = "closed";
    this.#socket = null;
    this.#keepalive?.stop();
    this.#keepalive = null;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#queue.length = 0;
    this.#outstanding.clear();
    this.#unconfirmed.clear();
    this.#event({ type: "closed", reason });
  }

  #event(event: TransportEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A listener's failure is not the transport's.
    }
  }
}
