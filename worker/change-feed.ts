/**
 * List-change notifications for `subscriptions/listen` streams (2026-07-28).
 *
 * The feed is per isolate: listen streams are held by the Worker (stateless,
 * no session object), and a change published in one isolate reaches the
 * streams that isolate holds. Dormouse's own lists are fixed per deployment,
 * so nothing real is lost between isolates today; upstream federation will
 * need a cross-isolate feed (a Durable Object) when its lists can change.
 * Bounded by MAX_LISTEN_STREAMS per isolate.
 */
export type ListKind = "tools" | "prompts" | "resources";

export const MAX_LISTEN_STREAMS = 10_000;

type Listener = (kind: ListKind) => void;

const listeners = new Set<Listener>();

/** Adds a listener; returns its removal, or null when the isolate is at its bound. */
export function listen(listener: Listener): (() => void) | null {
  if (listeners.size >= MAX_LISTEN_STREAMS) return null;
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function publishListChange(kind: ListKind): number {
  for (const listener of listeners) listener(kind);
  return listeners.size;
}
