/**
 * The plain constants of the MCP wire vocabulary: protocol revisions of both
 * eras, `_meta` keys and log levels. `shared/protocol.ts` re-exports all of
 * them next to its valibot schemas.
 *
 * Invariant: this module imports nothing at all, so the inspector page can use
 * it without bundling valibot (importing a constant from `shared/protocol.ts`
 * would pull in valibot, since esbuild keeps that module's top-level schema
 * calls).
 */

/** Session-era revisions, newest first (`initialize` negotiates one of them). */
export const SESSION_ERA_VERSIONS = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
] as const;
export type SessionEraVersion = (typeof SESSION_ERA_VERSIONS)[number];
export const LATEST_SESSION_ERA_VERSION: SessionEraVersion = "2025-11-25";

/** Stateless revisions, served per request from the `_meta` envelope. */
export const MODERN_VERSIONS = ["2026-07-28"] as const;
export type ModernVersion = (typeof MODERN_VERSIONS)[number];

export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";
export const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
export const META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
export const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";
/** Dormouse's own `_meta` key carrying the session id (initialize result, session_info). */
export const META_SESSION_ID = "dormouse/sessionId";
/** Dormouse's own `_meta` key on list results naming the upstream servers left out (federation). */
export const META_UNAVAILABLE_UPSTREAMS = "dormouse/unavailableUpstreams";
/**
 * Dormouse's own `_meta` key on list results naming the OAuth upstreams the caller must
 * authorize first, each as `{ upstream, mode: "url", elicitationId, url, message }`.
 */
export const META_AUTHORIZATION_REQUIRED = "dormouse/authorizationRequired";

/** RFC 5424 severities as MCP names them, least severe first. */
export const LOG_LEVELS = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
] as const;

/** The tasks extension's identifier (SEP-2663, "Extension Identifier"). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
/** 2025-11-25 tasks: `_meta` key tying a message to its task (`tasks/result`, its requests). */
export const META_RELATED_TASK = "io.modelcontextprotocol/related-task";
/** 2025-11-25 tasks: the immediate text a host may hand its model when a task starts. */
export const META_MODEL_IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response";
/** Dormouse's own `_meta` on a task: tool, step, progress and its object's wake count. */
export const META_TASK_DETAIL = "dormouse/task";
/** Dormouse's own `_meta` on a `tasks/update` or `tasks/cancel` ack: what was ignored and why. */
export const META_TASK_IGNORED = "dormouse/ignored";
/**
 * Dormouse's resumable WebSocket binding (README "Resuming a WebSocket session").
 * A client re-attaches with `/ws?session=<id>&received=<n>`, n being how many
 * numbered messages it has received on this session's sockets. The server then
 * sends, before anything new: a MESSAGES_LOST notice for messages it no longer
 * holds, the held messages after the n-th (numbered as before), and a RESUMED
 * notice. These two notices are not numbered: a client does not count them; a
 * MESSAGES_LOST notice moves its count to `params.last` instead.
 */
export const RECEIVED_PARAM = "received";
export const NOTICE_MESSAGES_LOST = "notifications/dormouse/messages_lost";
export const NOTICE_RESUMED = "notifications/dormouse/resumed";
/** Notices a resuming client must not count as numbered messages. */
export const UNNUMBERED_NOTICES: readonly string[] = [NOTICE_MESSAGES_LOST, NOTICE_RESUMED];
