/**
 * One shard of the deployment-wide list-change feed (worker/change-feed.ts).
 *
 * Every `subscriptions/listen` stream the Worker holds keeps a WebSocket to one
 * shard; `publish` sends the changed list's kind to every socket of the shard.
 * The sockets are accepted through the Hibernation API, so a shard sleeps
 * between changes and an idle feed costs nothing. The object stores nothing.
 *
 * Bounded: at most MAX_LISTENERS_PER_FEED sockets per shard (503 beyond), and
 * at most MAX_LISTENERS_PER_PRINCIPAL of them for one principal (429 beyond),
 * so that one principal cannot take every slot of the deployment. The Worker
 * names the listener's principal by a hash (LISTENER_HEADER), kept as the
 * socket's tag.
 *
 * Coalesced: a shard tells its listeners of one kind's change at most once
 * per LIST_CHANGE_INTERVAL_MS. A change within that time is told once at its
 * end (none is lost: a listener always hears of the latest), so an upstream
 * that sends `list_changed` in a loop cannot flood every listen stream of the
 * deployment.
 */
import { DurableObject } from "cloudflare:workers";
import { closeQuietly } from "../transports/websocket";
import {
  isListKind,
  LISTENER_HEADER,
  type ListKind,
  MAX_LISTENERS_PER_PRINCIPAL,
} from "./change-feed";

export const MAX_LISTENERS_PER_FEED = 10_000;
/** The least time between two notifications of one kind from a shard to its listeners. */
export const LIST_CHANGE_INTERVAL_MS = 1_000;
const LISTENER_TAG = /^[0-9a-f]{64}$/;

export class FeedObject extends DurableObject<Env> {
  /** When each kind was last told (this object's lifetime; after an eviction, at once). */
  readonly #toldAt = new Map<ListKind, number>();
  /** Kinds whose change waits for the end of their interval. */
  readonly #waiting = new Set<ListKind>();

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Upgrade required\n", { status: 426 });
    }
    if (this.ctx.getWebSockets().length >= MAX_LISTENERS_PER_FEED) {
      return new Response("Too many listeners on this feed shard\n", { status: 503 });
    }
    const tag = request.headers.get(LISTENER_HEADER) ?? "";
    if (!LISTENER_TAG.test(tag)) return new Response("Listener required\n", { status: 400 });
    if (this.ctx.getWebSockets(tag).length >= MAX_LISTENERS_PER_PRINCIPAL) {
      return new Response("Too many listeners of this principal on this shard\n", { status: 429 });
    }
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [tag]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /**
   * Tells every listener of this shard that `kind` changed, now or at the end
   * of its interval; returns how many listeners will hear it (0 for a non-kind).
   */
  publish(kind: string): number {
    if (!isListKind(kind)) return 0;
    const wait = (this.#toldAt.get(kind) ?? Number.NEGATIVE_INFINITY) + LIST_CHANGE_INTERVAL_MS;
    const now = Date.now();
    if (now >= wait) return this.#tell(kind, now);
    if (!this.#waiting.has(kind)) {
      this.#waiting.add(kind);
      setTimeout(() => {
        this.#waiting.delete(kind);
        this.#tell(kind, Date.now());
      }, wait - now);
    }
    return this.ctx.getWebSockets().length;
  }

  #tell(kind: ListKind, now: number): number {
    this.#toldAt.set(kind, now);
    let reached = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(kind);
        reached += 1;
      } catch {
        // A socket closing right now: its listen stream is ending anyway.
      }
    }
    return reached;
  }

  override async webSocketMessage(): Promise<void> {
    // Listeners send nothing; anything they do send is ignored.
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeQuietly(ws, code, reason);
  }
}
