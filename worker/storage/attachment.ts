/**
 * The socket attachment codec: the only module that reads or writes
 * `ws.serializeAttachment` data.
 *
 * The attachment is a hot cache of the session fields every message needs
 * (phase, negotiated version, log level) so a woken object can dispatch without
 * touching SQLite, plus the socket's identity (session id, attach generation).
 * SQLite stays the source of truth: a re-attached socket gets a fresh
 * attachment built from storage. Kept to a few dozen bytes, far under the
 * 16 KiB limit (2 KiB on older runtimes).
 *
 * `decodeAttachment` returns null for anything foreign, corrupt or from an
 * unknown version; callers then rebuild from storage.
 */
import * as v from "valibot";
import { PHASES } from "../../shared/lifecycle";
import { LogLevelSchema } from "../../shared/protocol";

export const ATTACHMENT_VERSION = 1;

const AttachmentSchema = v.object({
  v: v.literal(ATTACHMENT_VERSION),
  /** Session id, checked against the object's own id on decode. */
  sid: v.pipe(v.string(), v.maxLength(128)),
  /** Attach generation: increments on each re-attach; lets logs tell sockets apart. */
  gen: v.pipe(v.number(), v.integer(), v.minValue(0)),
  phase: v.picklist(PHASES),
  /** Negotiated session-era version, or null before initialize. */
  pv: v.nullable(v.pipe(v.string(), v.maxLength(32))),
  ll: LogLevelSchema,
  /** Rate-limit token bucket [tokens, at ms]; optional so older attachments still decode. */
  tb: v.optional(v.tuple([v.pipe(v.number(), v.minValue(0)), v.number()])),
  /** When activity was last written for the idle TTL (ms); spares a write on most wakes. */
  ta: v.optional(v.pipe(v.number(), v.minValue(0))),
  /** Outbound budget of this socket [characters left, at ms]. */
  ob: v.optional(v.tuple([v.pipe(v.number(), v.minValue(0)), v.number()])),
  /**
   * Known: no call of the session waits (for client input, or a tasks/result
   * for its task), so a new request's id needs no SQLite lookup on a wake.
   * Absent means unknown (look it up).
   */
  nw: v.optional(v.literal(true)),
});
export type Attachment = v.InferOutput<typeof AttachmentSchema>;

/**
 * What a socket the session closed (superseded by a re-attach, the session
 * ended, a rule broken) carries instead of the session's fields. The runtime
 * still delivers the frames its client sent before reading the close; they are
 * dropped, not served, so such a socket never becomes the session's current
 * socket again (RFC 6455 5.5.1: after sending a Close frame an endpoint sends
 * no more data, and the one that sent it owes nothing to what follows).
 */
export const RETIRED = "retired";

export function encodeAttachment(attachment: Attachment): Attachment {
  // Structured clone happens in the runtime; we store the plain validated object.
  return { ...attachment };
}

export function decodeAttachment(raw: unknown, sessionId: string): Attachment | null {
  const parsed = v.safeParse(AttachmentSchema, raw);
  if (!parsed.success || parsed.output.sid !== sessionId) return null;
  return parsed.output;
}
