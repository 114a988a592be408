/**
 * MCP wire vocabulary shared by the Worker, the tests and any client: protocol
 * revisions of both eras, `_meta` keys, JSON-RPC message schemas and log levels.
 * The plain constants live in `protocol-constants.ts` (importable without
 * valibot) and are re-exported here.
 *
 * Invariant: this module imports nothing from `worker/`, `cloudflare:*` or `hono`,
 * so plain Node (tests, load generator) can use it.
 *
 * Schemas are `v.looseObject` on purpose: a plain `v.object` would strip unknown
 * keys such as `_meta`, which both eras rely on.
 */
import * as v from "valibot";
import {
  LOG_LEVELS,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  MODERN_VERSIONS,
  type ModernVersion,
  SESSION_ERA_VERSIONS,
  type SessionEraVersion,
} from "./protocol-constants";

export {
  LATEST_SESSION_ERA_VERSION,
  LOG_LEVELS,
  META_AUTHORIZATION_REQUIRED,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_LOG_LEVEL,
  META_PROTOCOL_VERSION,
  META_SERVER_INFO,
  META_SESSION_ID,
  META_UNAVAILABLE_UPSTREAMS,
  MODERN_VERSIONS,
  type ModernVersion,
  NOTICE_MESSAGES_LOST,
  NOTICE_RESUMED,
  RECEIVED_PARAM,
  SESSION_ERA_VERSIONS,
  type SessionEraVersion,
  UNNUMBERED_NOTICES,
} from "./protocol-constants";

export function isSessionEraVersion(version: unknown): version is SessionEraVersion {
  return (SESSION_ERA_VERSIONS as readonly unknown[]).includes(version);
}

export function isModernVersion(version: unknown): version is ModernVersion {
  return (MODERN_VERSIONS as readonly unknown[]).includes(version);
}

export const LogLevelSchema = v.picklist(LOG_LEVELS);
export type LogLevel = v.InferOutput<typeof LogLevelSchema>;

/** True when a message at `level` passes a session whose threshold is `threshold`. */
export function logLevelPasses(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/**
 * A JSON-RPC id: a string or an integer that survives a round trip through a
 * JavaScript number (|id| <= 2^53 - 1). A larger number has already lost
 * digits when JSON.parse read it, so answering it would name another request:
 * such ids are refused (-32600, id null) rather than echoed wrong.
 */
export type RequestId = string | number;

/** A string or a safe integer: one check (a union would try, and record a failed issue for, each branch). */
function isStringOrSafeInteger(value: unknown): value is string | number {
  return typeof value === "string" || Number.isSafeInteger(value);
}

export const RequestIdSchema = v.custom<RequestId>(
  isStringOrSafeInteger,
  "Expected a string or an integer between -(2^53 - 1) and 2^53 - 1",
);

/**
 * A request id as a map or storage key: its JSON text (a string id quoted, so
 * it never equals a number's key), made without JSON.stringify for a number,
 * where String() gives the same text at a fraction of the cost (a key is made
 * for every request).
 */
export function requestKey(id: RequestId): string {
  return typeof id === "number" ? String(id) : JSON.stringify(id);
}

/** The client capability each server->client request needs (elicitation, sampling, roots). */
export const CAPABILITY_FOR_CLIENT_REQUEST: Readonly<Record<string, string>> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/** Whether `value` is a JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JSON object (valibot's `record` alone also lets arrays through). */
export const JsonObjectSchema = v.custom<Record<string, unknown>>(
  isRecord,
  "Expected a JSON object",
);

const ParamsSchema = v.optional(JsonObjectSchema);

export const JsonRpcRequestSchema = v.looseObject({
  jsonrpc: v.literal("2.0"),
  id: RequestIdSchema,
  method: v.string(),
  params: ParamsSchema,
});
export type JsonRpcRequest = v.InferOutput<typeof JsonRpcRequestSchema>;

export const JsonRpcNotificationSchema = v.looseObject({
  jsonrpc: v.literal("2.0"),
  method: v.string(),
  params: ParamsSchema,
});
export type JsonRpcNotification = v.InferOutput<typeof JsonRpcNotificationSchema>;

export const JsonRpcErrorObjectSchema = v.looseObject({
  code: v.pipe(v.number(), v.integer()),
  message: v.string(),
  data: v.optional(v.unknown()),
});

/** A response from the client (to a server->client request such as elicitation). */
export const JsonRpcResponseSchema = v.union([
  v.looseObject({
    jsonrpc: v.literal("2.0"),
    id: RequestIdSchema,
    result: JsonObjectSchema,
  }),
  v.looseObject({
    jsonrpc: v.literal("2.0"),
    id: v.nullable(RequestIdSchema),
    error: JsonRpcErrorObjectSchema,
  }),
]);
export type JsonRpcResponse = v.InferOutput<typeof JsonRpcResponseSchema>;

/** The error of an error response, or null for a result. */
export function responseError(
  response: JsonRpcResponse,
): { code: number; message: string; data?: unknown } | null {
  const error = (response as { error?: unknown }).error;
  if (!isRecord(error) || typeof error.code !== "number" || typeof error.message !== "string") {
    return null;
  }
  return error as { code: number; message: string; data?: unknown };
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export const ImplementationSchema = v.looseObject({
  name: v.string(),
  version: v.string(),
  title: v.optional(v.string()),
});
export type Implementation = v.InferOutput<typeof ImplementationSchema>;

export const ClientCapabilitiesSchema = v.record(v.string(), v.unknown());
export type ClientCapabilities = v.InferOutput<typeof ClientCapabilitiesSchema>;

export const InitializeParamsSchema = v.looseObject({
  protocolVersion: v.string(),
  capabilities: ClientCapabilitiesSchema,
  clientInfo: ImplementationSchema,
});

/** The per-request envelope of 2026-07-28, read from `params._meta`. */
export const ModernEnvelopeSchema = v.looseObject({
  [META_PROTOCOL_VERSION]: v.string(),
  [META_CLIENT_INFO]: v.optional(ImplementationSchema),
  // Required by 2026-07-28 (clientInfo is optional).
  [META_CLIENT_CAPABILITIES]: ClientCapabilitiesSchema,
  [META_LOG_LEVEL]: v.optional(LogLevelSchema),
});
export type ModernEnvelope = v.InferOutput<typeof ModernEnvelopeSchema>;

export type ProgressToken = string | number;
export const ProgressTokenSchema = v.custom<ProgressToken>(
  isStringOrSafeInteger,
  "Expected a string or an integer between -(2^53 - 1) and 2^53 - 1",
);
