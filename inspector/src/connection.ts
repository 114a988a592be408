/**
 * The connection to the gateway and its session lifecycle, as the page sees
 * it: connect (initialize), resume after a reload (sessionStorage), re-attach
 * after a dropped socket (`/ws?session=<id>&received=<n>`: the session replays
 * what the page missed, then names the calls it still runs; the others are
 * failed rather than left waiting), disconnect, end (DELETE).
 *
 * Invariants: at most one transport is live; a transport that ends after being
 * replaced is ignored; every re-attach loop is bounded (REATTACH_DELAYS_MS) and
 * abandoned as soon as the person does something else (`#generation`).
 * The saved session lives in sessionStorage, per tab, so two tabs never
 * fight over one session by themselves (a re-attach supersedes the older
 * socket with close 4001).
 */
import { ReceivedCount } from "../../client/received-count";
import { CLOSE_SESSION_ENDED, CLOSE_SUPERSEDED } from "../../shared/limits";
import {
  LATEST_SESSION_ERA_VERSION,
  META_SESSION_ID,
  NOTICE_RESUMED,
} from "../../shared/protocol-constants";
import { isRecord } from "./dom";
import { type ClientHooks, McpClient } from "./rpc/client";
import { endSession, probeSession, StreamableHttpTransport } from "./rpc/streamable-http";
import type { Transport, TransportEnd, TransportKind } from "./rpc/transport";
import { openWebSocket, WebSocketTransport } from "./rpc/websocket";

/** The session-era revision the inspector asks for: the newest, which has elicitation and sampling. */
const PROTOCOL_VERSION = LATEST_SESSION_ERA_VERSION;
const STORAGE_KEY = "dormouse.inspector.session";
const REATTACH_DELAYS_MS = [0, 500, 1000, 2000, 4000, 8000, 8000];
export const INSPECTOR_VERSION = "0.1.0";

export const CLIENT_CAPABILITIES = {
  elicitation: { form: {}, url: {} },
  sampling: {},
  roots: { listChanged: false },
};

export type Status =
  | "disconnected"
  | "connecting"
  | "ready"
  | "reconnecting"
  | "superseded"
  | "ended"
  | "failed";

export interface SessionInfo {
  transport: TransportKind;
  sessionId: string;
  protocolVersion: string;
  serverInfo: Record<string, unknown>;
  capabilities: Record<string, unknown>;
  instructions?: string | undefined;
}

export interface ConnectionState {
  status: Status;
  session: SessionInfo | null;
  /** One sentence for people: what just happened and what they can do. */
  notice: string;
  reattachments: number;
  lastTrafficAt: number | null;
}

export type ReadyReason = "connected" | "resumed" | "reattached";

interface Saved {
  session: SessionInfo;
  token?: string | undefined;
}

export class Connection {
  readonly client: McpClient;
  state: ConnectionState = {
    status: "disconnected",
    session: null,
    notice: "Not connected. Choose a transport and connect.",
    reattachments: 0,
    lastTrafficAt: null,
  };
  token: string | undefined;
  #generation = 0;
  /** Numbered messages received on this session's sockets (the re-attach's `received`). */
  #count = new ReceivedCount();
  /** Re-attach with `received` (false after an attach refused while the session is alive). */
  #useReceived = true;
  readonly #changeListeners = new Set<(state: ConnectionState) => void>();
  readonly #readyListeners = new Set<(reason: ReadyReason) => void>();

  constructor(
    hooks: ClientHooks,
    private readonly origin = location.origin,
  ) {
    this.client = new McpClient({
      ...hooks,
      traffic: (entry) => {
        this.state.lastTrafficAt = entry.time;
        hooks.traffic(entry);
      },
      notification: (notification) => {
        if (notification.method === NOTICE_RESUMED) this.#onResumed(notification.params ?? {});
        hooks.notification(notification);
      },
    });
  }

  onChange(listener: (state: ConnectionState) => void): void {
    this.#changeListeners.add(listener);
  }

  onReady(listener: (reason: ReadyReason) => void): void {
    this.#readyListeners.add(listener);
  }

  /** The session saved by this tab, if any (survives a reload). */
  saved(): Saved | null {
    try {
      const parsed: unknown = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null");
      if (!isRecord(parsed) || !isRecord(parsed.session)) return null;
      const session = parsed.session;
      if (typeof session.sessionId !== "string") return null;
      if (session.transport !== "websocket" && session.transport !== "http") return null;
      return parsed as unknown as Saved;
    } catch {
      return null;
    }
  }

  async connect(kind: TransportKind, token?: string): Promise<void> {
    const generation = this.#begin(token, `Connecting over ${label(kind)}…`);
    try {
      this.#count = new ReceivedCount();
      const transport =
        kind === "websocket"
          ? await openWebSocket({ origin: this.#wsOrigin(), token }, this.#count)
          : new StreamableHttpTransport({ origin: this.origin, token });
      if (generation !== this.#generation) return transport.close();
      this.#install(transport);
      const result = await this.client.request("initialize", {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: CLIENT_CAPABILITIES,
        clientInfo: {
          name: "dormouse-inspector",
          title: "Dormouse inspector",
          version: INSPECTOR_VERSION,
        },
      }).result;
      const meta = isRecord(result._meta) ? result._meta : {};
      const sessionId =
        transport instanceof StreamableHttpTransport ? transport.sessionId : meta[META_SESSION_ID];
      if (typeof sessionId !== "string") throw new Error("The gateway sent no session id");
      const protocolVersion = String(result.protocolVersion ?? PROTOCOL_VERSION);
      if (transport instanceof StreamableHttpTransport) transport.protocolVersion = protocolVersion;
      this.client.notify("notifications/initialized");
      const session: SessionInfo = {
        transport: kind,
        sessionId,
        protocolVersion,
        serverInfo: isRecord(result.serverInfo) ? result.serverInfo : {},
        capabilities: isRecord(result.capabilities) ? result.capabilities : {},
        instructions: typeof result.instructions === "string" ? result.instructions : undefined,
      };
      this.#save(session);
      this.#set({
        status: "ready",
        session,
        notice: `Connected over ${label(kind)} to a new session (${shortId(sessionId)}).`,
      });
      this.#ready("connected");
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#teardown();
      this.#set({ status: "failed", notice: `Could not connect: ${messageOf(error)}` });
    }
  }

  /** Re-attaches to a saved session without a new initialize (Dormouse keeps its state). */
  async resume(saved: Saved, why: "reload" | "button"): Promise<void> {
    const { session } = saved;
    const generation = this.#begin(saved.token, `Resuming session ${shortId(session.sessionId)}…`);
    this.#set({ session });
    try {
      if (session.transport === "websocket") {
        // A reload forgot the count: attach without it (the session replays what
        // was produced while nobody was attached) and take its count from the notice.
        this.#count = new ReceivedCount();
        const transport = await openWebSocket(
          { origin: this.#wsOrigin(), sessionId: session.sessionId, token: saved.token },
          this.#count,
        );
        if (generation !== this.#generation) return transport.close();
        this.#install(transport);
      } else {
        const transport = new StreamableHttpTransport({
          origin: this.origin,
          token: saved.token,
          sessionId: session.sessionId,
          protocolVersion: session.protocolVersion,
        });
        this.#install(transport);
        await this.client.request("ping").result;
      }
      if (generation !== this.#generation) return;
      this.#save(session);
      const how = why === "reload" ? "after the page reloaded" : "";
      this.#set({
        status: "ready",
        notice: `Resumed session ${shortId(session.sessionId)} ${how} over ${label(session.transport)} (no new initialize: its state is kept).`,
      });
      this.#ready("resumed");
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#teardown();
      await this.#afterFailedAttach(session, messageOf(error));
    }
  }

  disconnect(): void {
    const id = this.state.session?.sessionId;
    this.#begin(this.token, "");
    this.#teardown();
    this.#set({
      status: "disconnected",
      notice: id
        ? `Disconnected. Session ${shortId(id)} still lives on the gateway: Resume re-attaches to it.`
        : "Disconnected.",
    });
  }

  /** DELETE /mcp: the gateway ends the session and deletes its storage. */
  async end(): Promise<void> {
    const session = this.state.session;
    if (!session) return;
    this.#begin(this.token, "");
    const status = await endSession(this.origin, session.sessionId, this.token).catch(() => 0);
    this.#teardown();
    this.#forget();
    this.#set({
      status: "ended",
      session: null,
      notice: `Ended session ${shortId(session.sessionId)} (DELETE answered ${status || "nothing"}).`,
    });
  }

  /** Debug hook and demo button: drop the socket as the network would. */
  simulateDrop(): boolean {
    const transport = this.client.transport;
    if (!(transport instanceof WebSocketTransport)) return false;
    transport.simulateDrop();
    return true;
  }

  #install(transport: Transport): void {
    this.client.event(transport.kind === "websocket" ? "WebSocket open" : "Streamable HTTP ready");
    // Writes the answers given while there was no transport.
    this.client.attach(transport);
    transport.onEnd = (end) => {
      if (this.client.transport !== transport) return;
      this.client.event(
        `${label(transport.kind)} ended (${end.code}${end.reason ? ` ${end.reason}` : ""})`,
      );
      if (!end.byUser) void this.#onDrop(end);
    };
  }

  async #onDrop(end: TransportEnd): Promise<void> {
    const session = this.state.session;
    this.client.detach();
    if (!session) return;
    if (end.code === CLOSE_SUPERSEDED) {
      this.client.failAll("Another connection took over the session");
      this.#set({
        status: "superseded",
        notice: `Another connection re-attached to session ${shortId(session.sessionId)} (close ${CLOSE_SUPERSEDED}), so this page let go. Resume takes it back.`,
      });
      return;
    }
    if (end.code === CLOSE_SESSION_ENDED || end.code === 404) return this.#gone(session);
    await this.#reattach(session, end);
  }

  async #reattach(session: SessionInfo, end: TransportEnd): Promise<void> {
    const generation = ++this.#generation;
    const dropped = `The socket dropped (close ${end.code})`;
    for (const [index, delayMs] of REATTACH_DELAYS_MS.entries()) {
      const attempt = index + 1;
      this.#set({
        status: "reconnecting",
        notice: `${dropped}; re-attaching to session ${shortId(session.sessionId)} with ?session= (attempt ${attempt} of ${REATTACH_DELAYS_MS.length})…`,
      });
      await sleep(delayMs);
      if (generation !== this.#generation) return;
      try {
        const received = this.#useReceived ? this.#count.value : undefined;
        const transport = await openWebSocket(
          { origin: this.#wsOrigin(), sessionId: session.sessionId, token: this.token, received },
          this.#count,
        );
        if (generation !== this.#generation) return transport.close();
        this.#useReceived = true;
        this.#install(transport);
        this.#set({
          status: "ready",
          reattachments: this.state.reattachments + 1,
          notice: `${dropped}; re-attached to session ${shortId(session.sessionId)} on attempt ${attempt}. Its state is intact.`,
        });
        this.#ready("reattached");
        return;
      } catch {
        if (generation !== this.#generation) return;
        const verdict = await probeSession(this.origin, session.sessionId, this.token);
        if (verdict === "gone") return this.#gone(session);
        // The gateway is up and the session alive, yet the upgrade failed: most
        // likely our count was refused (400), so try once without it.
        if (verdict === "alive") this.#useReceived = false;
      }
    }
    this.client.failAll("Could not re-attach");
    this.#set({
      status: "failed",
      notice: `${dropped} and ${REATTACH_DELAYS_MS.length} re-attach attempts failed. Resume tries again.`,
    });
  }

  /**
   * The session's resumed notice after a re-attach: fail the calls it no longer
   * has, and write again what went on an earlier socket (it may have died half-open).
   */
  #onResumed(params: Record<string, unknown>): void {
    const transport = this.client.transport;
    const inFlight = Array.isArray(params.inFlight) ? params.inFlight : [];
    if (!transport) return;
    const failed = this.client.failLost(inFlight, transport);
    const resent = this.client.resend(inFlight, transport);
    const replayed = typeof params.replayed === "number" ? params.replayed : 0;
    const lost = typeof params.lost === "number" ? params.lost : 0;
    const summary = `Replayed ${replayed} missed message${replayed === 1 ? "" : "s"}${lost ? `, ${lost} no longer held` : ""}; ${inFlight.length} call${inFlight.length === 1 ? "" : "s"} still running${failed ? `, ${failed} lost` : ""}${resent ? `; ${resent} answer${resent === 1 ? "" : "s"} written again` : ""}.`;
    this.client.event(summary);
    if (this.state.status === "ready") this.#set({ notice: `${this.state.notice} ${summary}` });
  }

  async #afterFailedAttach(session: SessionInfo, reason: string): Promise<void> {
    const verdict = await probeSession(this.origin, session.sessionId, this.token);
    if (verdict === "gone") return this.#gone(session);
    this.#set({
      status: "failed",
      notice: `Could not resume session ${shortId(session.sessionId)}: ${reason}`,
    });
  }

  #gone(session: SessionInfo): void {
    this.client.failAll("The session ended");
    this.#forget();
    this.#set({
      status: "ended",
      notice: `Session ${shortId(session.sessionId)} no longer exists on the gateway (ended or expired). Connect starts a new one.`,
    });
  }

  /** Starts a new user-driven step: abandons re-attach loops and drops the old transport. */
  #begin(token: string | undefined, notice: string): number {
    this.#generation += 1;
    this.token = token || undefined;
    if (this.client.transport) this.#teardown();
    if (notice) this.#set({ status: "connecting", notice });
    return this.#generation;
  }

  #teardown(): void {
    const transport = this.client.transport;
    this.client.detach();
    transport?.close();
    this.client.failAll("Disconnected");
  }

  #save(session: SessionInfo): void {
    const saved: Saved = { session, token: this.token };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(saved));
  }

  #forget(): void {
    sessionStorage.removeItem(STORAGE_KEY);
  }

  #wsOrigin(): string {
    return this.origin.replace(/^http/, "ws");
  }

  #set(patch: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.#changeListeners) listener(this.state);
  }

  #ready(reason: ReadyReason): void {
    for (const listener of this.#readyListeners) listener(reason);
  }
}

export function label(kind: TransportKind): string {
  return kind === "websocket" ? "WebSocket" : "Streamable HTTP";
}

export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
