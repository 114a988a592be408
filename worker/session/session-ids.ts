/**
 * Session ids are Durable Object ids minted by `newUniqueId()`: 64 hex chars,
 * unguessable, and they name the object directly (no lookup table to keep).
 * A malformed or foreign id resolves to null, which the router answers with 404.
 */
const SESSION_ID_PATTERN = /^[0-9a-f]{64}$/;

export function newSessionId(namespace: DurableObjectNamespace): DurableObjectId {
  return namespace.newUniqueId();
}

export function parseSessionId(
  namespace: DurableObjectNamespace,
  raw: string | undefined,
): DurableObjectId | null {
  if (!raw || !SESSION_ID_PATTERN.test(raw)) return null;
  try {
    return namespace.idFromString(raw);
  } catch {
    return null;
  }
}

/**
 * The one answer for a session the caller cannot reach: unknown, malformed,
 * expired, ended, or another principal's. Identical bytes and headers in every
 * case, so a 404 reveals nothing about which it was.
 */
export function unknownSession(): Response {
  return new Response("Unknown or expired session\n", {
    status: 404,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

/**
 * 400 for a Last-Event-ID that names no event of a session the caller can
 * reach (or is no event id at all): the session is alive, and a 404 would tell
 * the client to start a new one.
 */
export function unknownEvent(): Response {
  return new Response(
    "Bad Request: Last-Event-ID names no event of this session's reply streams (send the request again instead)\n",
    { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } },
  );
}
