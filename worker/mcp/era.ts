/**
 * What a request's `params._meta` says about how to serve it: its era (a
 * 2026-07-28 protocol version there makes it stateless, served from that
 * envelope; anything else is session era) and its progress token.
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError, toWireError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";
import {
  isModernVersion,
  isSessionEraVersion,
  type JsonRpcRequest,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  ModernEnvelopeSchema,
  ProgressTokenSchema,
  SESSION_ERA_VERSIONS,
} from "../../shared/protocol";
import type { CallContext, Era } from "./context";

/** The session era (shared: most requests are in it, and an era is never changed). */
const SESSION_ERA: Era = Object.freeze({ kind: "session" });

export function selectEra(request: JsonRpcRequest): Era {
  const meta = request.params?._meta;
  if (typeof meta !== "object" || meta === null || !(META_PROTOCOL_VERSION in meta)) {
    return SESSION_ERA;
  }
  const version = (meta as Record<string, unknown>)[META_PROTOCOL_VERSION];
  if (isSessionEraVersion(version)) return SESSION_ERA;
  if (!isModernVersion(version)) {
    throw toWireError({
      kind: "unsupported_version",
      requested: String(version),
      supported: [...MODERN_VERSIONS, ...SESSION_ERA_VERSIONS],
    });
  }
  const envelope = v.safeParse(ModernEnvelopeSchema, meta);
  if (!envelope.success) {
    const issues = formatIssues(envelope.issues, "_meta");
    throw new JsonRpcError(INVALID_PARAMS, `Invalid request envelope in params._meta: ${issues}`);
  }
  return { kind: "modern", version, envelope: envelope.output };
}

export function progressTokenOf(request: JsonRpcRequest): CallContext["progressToken"] {
  const meta = request.params?._meta;
  if (typeof meta !== "object" || meta === null) return undefined;
  const value = (meta as Record<string, unknown>).progressToken;
  // Most calls carry none: no failed parse (and its issue objects) for them.
  if (value === undefined) return undefined;
  const token = v.safeParse(ProgressTokenSchema, value);
  return token.success ? token.output : undefined;
}
