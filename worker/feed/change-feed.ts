/**
 * List-change notifications for `subscriptions/listen` streams (2026-07-28),
 * across the whole deployment.
 *
 * Listen streams are held by Worker isolates; changes are noticed wherever a
 * request runs (a conformance fixture in the Worker, an upstream's
 * `list_changed` inside a session object, in another isolate or on another
 * machine). The feed joins them through FEED_SHARDS Durable Objects
 * (worker/feed-object.ts): each listen stream holds a WebSocket to one random
 * shard, and a change is published to every shard, which forwards it to its
 * sockets. Shards accept sockets through the Hibernation API and sleep between
 * changes.
 */
import { env } from "cloudflare:workers";
import { logEvent } from "../observability/log";
import { holdSocket } from "../transports/held-socket";

export type ListKind = "tools" | "prompts" | "resources";

export const FEED_SHARDS = 4;
/** Listen streams of one principal on one shard (FEED_SHARDS shards: about 1,000 in all). */
export const MAX_LISTENERS_PER_PRINCIPAL = 256;
/** Set by the Worker on the internal upgrade: the listener's principal, hashed (listenerTag). */
export const LISTENER_HEADER = "Dormouse-Listener";
const FEED_URL = "https://feed.internal/listen";

export function isListKind(value: unknown): value is ListKind {
  return value === "tools" || value === "prompts" || value === "resources";
}

function shard(index: number) {
  const feeds = (env as Env).FEEDS;
  return feeds.get(feeds.idFromName(`feed-${index}`));
}

export interface Subscription {
  close(): void;
}

/**
 * Subscribes `principal`'s listen stream to the feed; resolves once subscribed
 * (a change published after this resolves is delivered), to "principal_limit"
 * when the principal holds MAX_LISTENERS_PER_PRINCIPAL streams on the shard,
 * or to null when the shard is at its bound. `onEnd` runs if the feed drops
 * the subscription (e.g. a deploy restarts it).
 */
export async function subscribe(
  principal: string,
  onChange: (kind: ListKind) => void,
  onEnd: () => void,
): Promise<Subscription | "principal_limit" | null> {
  const response = await shard(Math.floor(Math.random() * FEED_SHARDS)).fetch(FEED_URL, {
    headers: { Upgrade: "websocket", [LISTENER_HEADER]: await listenerTag(principal) },
  });
  if (response.status === 429) {
    await response.body?.cancel();
    return "principal_limit";
  }
  return holdSocket(
    response,
    (text) => {
      if (isListKind(text)) onChange(text);
    },
    onEnd,
  );
}

/** A principal as a feed shard tags its sockets: SHA-256, hex (tags are short; principals need not be). */
async function listenerTag(principal: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(principal));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Announces a change to every listen stream of the deployment; returns how many it reached. */
export async function publishListChange(kind: ListKind): Promise<number> {
  const reached = await Promise.all(
    Array.from({ length: FEED_SHARDS }, (_, index) => shard(index).publish(kind)),
  );
  return reached.reduce((sum, count) => sum + count, 0);
}

/** Kinds this isolate is publishing, each with whether another change came meanwhile. */
const publishing = new Map<ListKind, boolean>();

/**
 * Publishes a change without waiting; a failure is logged (listeners re-read
 * lists anyway). While one kind's publish is under way, further changes of it
 * make one more publish when it ends, not one each: an upstream sending
 * `list_changed` in a loop costs the feed a few calls, not one per message.
 */
export function announceListChange(kind: ListKind): void {
  if (publishing.has(kind)) {
    publishing.set(kind, true);
    return;
  }
  publishing.set(kind, false);
  publishListChange(kind)
    .catch((error: unknown) => {
      logEvent("warn", "list_change_publish_failed", { kind, error });
    })
    .finally(() => {
      const again = publishing.get(kind) === true;
      publishing.delete(kind);
      if (again) announceListChange(kind);
    });
}
