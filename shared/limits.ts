/**
 * Named limits and fixed protocol strings. Every bound Dormouse enforces lives
 * here with its unit in the name, so SECURITY/ARCHITECTURE docs can cite one place.
 */

/** Largest text frame a session accepts; bigger ones close the socket with 1009. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** The `sleep` tool's ceiling (issue #2: "at most 60 s"). */
export const SLEEP_MAX_MS = 60_000;

/** How often `sleep` reports progress, at most. */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * The fixed keepalive exchange answered by the runtime without waking the
 * object (`setWebSocketAutoResponse`); both strings must stay under 2,048 chars.
 * It is deliberately not JSON-RPC: a client sends it as a bare text frame.
 */
export const KEEPALIVE_REQUEST = "ping";
export const KEEPALIVE_RESPONSE = "pong";

/**
 * The least idleness after which the runtime takes a Durable Object out of
 * memory (hibernation): "currently, it is after 10 seconds of inactivity"
 * (developers.cloudflare.com/durable-objects/concepts/durable-object-lifecycle/;
 * local workerd measured the same). What a session can rebuild by waiting that
 * long (a rate bucket that refills in under 10 s) is not written anywhere.
 */
export const MIN_IDLE_BEFORE_EVICTION_MS = 10_000;

/** WebSocket close codes used by sessions (RFC 6455 section 7.4 plus the 4000-4999 private range). */
export const CLOSE_NORMAL = 1000;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
/** A newer connection re-attached to the same session and took over. */
export const CLOSE_SUPERSEDED = 4001;
/** The session was ended (deleted or expired) while this socket was attached. */
export const CLOSE_SESSION_ENDED = 4004;
/** The session produced output for this socket faster than OUTBOUND_* allows (a client not reading). */
export const CLOSE_OUTBOUND_LIMIT = 4009;

/** WebSocket subprotocol every MCP WebSocket client offers (SEP-1288 draft, real clients). */
export const MCP_SUBPROTOCOL = "mcp";
/**
 * Prefix of the Sec-WebSocket-Protocol entry carrying a bearer token
 * (`mcp.auth.<token>`, SEP-1288 draft): browsers cannot set headers on a WebSocket.
 */
export const AUTH_SUBPROTOCOL_PREFIX = "mcp.auth.";

export const SESSION_ID_HEADER = "Mcp-Session-Id";

/** Largest HTTP request body (POST /mcp) accepted; bigger gets 413. Same bound as a frame. */
export const MAX_BODY_BYTES = MAX_FRAME_BYTES;

/** SSE keepalive comment interval; proxies cut idle streams after 60-120 s (docs/platform.md). */
export const SSE_KEEPALIVE_MS = 25_000;
/**
 * The `retry` a resumable SSE stream opens with: how long a client waits before
 * resuming a stream whose connection broke.
 */
export const SSE_RETRY_MS = 1_000;
/**
 * The `retry` sent just before the gateway ends a stream on purpose (SSE
 * polling: a call waiting for the client's input, or a reply open too long):
 * nothing is wrong, so the client comes back at once, and a client that answers
 * an elicitation or sampling request quickly does not wait a second per round.
 */
export const SSE_POLL_RETRY_MS = 100;

export const PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version";

/** Deepest JSON nesting accepted in a message (objects and arrays); deeper gets -32600. */
export const MAX_JSON_DEPTH = 64;

/** Requests of one session running at once; more get TOO_MANY_IN_FLIGHT. */
export const MAX_IN_FLIGHT_PER_SESSION = 32;

/** Per-session message rate: a token bucket refilled at this rate, holding at most the burst. */
export const RATE_MESSAGES_PER_SECOND = 50;
export const RATE_BURST_MESSAGES = 100;

/** Longest a tool call may run before it is aborted with REQUEST_TIMEOUT. */
export const MAX_TOOL_CALL_MS = 120_000;

/** Default idle time after which a session expires and its storage is deleted (SESSION_IDLE_TTL_MS). */
export const DEFAULT_SESSION_IDLE_TTL_MS = 24 * 60 * 60 * 1000;

/** Lifetime of a single-use WebSocket ticket from POST /tickets. */
export const TICKET_TTL_MS = 60_000;

/** Default bound on live sessions per authenticated principal (MAX_SESSIONS_PER_PRINCIPAL). */
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 1_000;

/** Default longest life of the live SSE reply of a running call (REPLY_STREAM_MAX_MS). */
export const DEFAULT_REPLY_STREAM_MAX_MS = 10 * 60_000;

/**
 * Stateless 2026-07-28 requests, per principal and per Worker isolate: a
 * message rate (token bucket) and requests in flight. Per isolate on purpose: a
 * global count would cost a Durable Object round trip on every stateless
 * request, which is what serving them without an object avoids. A principal
 * spread over N isolates may reach N times these figures; each isolate's
 * memory and CPU stay bounded, which is what the limits protect.
 */
export const STATELESS_RATE_PER_SECOND = 200;
export const STATELESS_RATE_BURST = 400;
export const STATELESS_MAX_IN_FLIGHT = 64;
/** Principals whose stateless counters one isolate keeps (least recently seen evicted). */
export const STATELESS_MAX_PRINCIPALS = 10_000;

/**
 * What a session may send toward one WebSocket: a token bucket of characters
 * (UTF-16 code units of the JSON text), refilled at this rate up to the burst.
 * workerd does not report how much of a socket's output is still unread
 * (bufferedAmount stays 0), so a client that stops reading would make the
 * runtime hold every reply: past the bucket the socket is closed with
 * CLOSE_OUTBOUND_LIMIT, which bounds what one client can make the gateway hold.
 */
export const OUTBOUND_CHARS_PER_SECOND = 16 * 1024 * 1024;
export const OUTBOUND_BURST_CHARS = 64 * 1024 * 1024;

/** Unread bytes one SSE response may queue before it is closed (a client not reading). */
export const MAX_SSE_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * The replay store of one session (worker/storage/outbox-table.ts): its most
 * recent outgoing messages, WebSocket and SSE alike: at least the newest
 * OUTBOX_MAX_ROWS (past OUTBOX_MAX_ROWS + 32 the oldest are removed down to
 * OUTBOX_MAX_ROWS in one statement), and at most OUTBOX_MAX_CHARS characters
 * of JSON, whichever bound is hit first. A message over
 * OUTBOX_MAX_MESSAGE_BYTES of UTF-8 is numbered but not kept: a SQLite row
 * holds at most 2 MB, counted in bytes, and a character can take three
 * (https://developers.cloudflare.com/durable-objects/platform/limits/); a
 * client that asks for it is told it is lost.
 */
export const OUTBOX_MAX_ROWS = 256;
export const OUTBOX_MAX_CHARS = 4 * 1024 * 1024;
export const OUTBOX_MAX_MESSAGE_BYTES = 1024 * 1024;
/** SSE reply streams whose position a session remembers for resumption, besides the WebSocket's. */
export const OUTBOX_MAX_STREAMS = 64;
/** Default bound on stored tasks (any status, until their TTL) per principal (MAX_TASKS_PER_PRINCIPAL). */
export const DEFAULT_MAX_TASKS_PER_PRINCIPAL = 1_000;

/** A task's lifetime when neither its tool nor the client asks for more (2025-11-25 `task.ttl`). */
export const DEFAULT_TASK_TTL_MS = 60 * 60_000;

/** The longest TTL a task may have, whatever its tool or client asks for. */
export const MAX_TASK_TTL_MS = 7 * 24 * 60 * 60_000;

/**
 * A new task's first step waits until its creator confirms the task (both its
 * object and its principal's slot were written; TaskObject.start). If that
 * confirmation is lost, the step starts this long after creation anyway.
 */
export const TASK_START_FALLBACK_MS = 5_000;

/** How long a task that outlived its TTL unfinished stays readable as `failed` before deletion. */
export const TASK_EXPIRED_GRACE_MS = 10 * 60_000;

/** Largest tool result a task stores (SQLite rows are at most 2 MB); larger ends the task failed. */
export const MAX_TASK_RESULT_BYTES = 1024 * 1024;

/** Largest tool arguments a task stores; larger is -32602 at tools/call. */
export const MAX_TASK_ARGUMENTS_BYTES = 64 * 1024;

/** Largest `inputResponses` a tasks/update (or one elicitation answer) may carry. */
export const MAX_TASK_ANSWER_BYTES = 64 * 1024;

/** Longest status message a task reports; longer ones are cut. */
export const MAX_TASK_STATUS_MESSAGE_CHARS = 1_000;

/** Runs of one step that may start without finishing (a crash, a restart) before the task fails. */
export const MAX_TASK_STEP_ATTEMPTS = 3;

/** The `wait` tool's ceiling (issue #13: "up to 24 h"). */
export const WAIT_MAX_MS = 24 * 60 * 60_000;

/** The shortest step a waiting task takes between alarms. */
export const MIN_TASK_STEP_MS = 1_000;

/** Task ids one `subscriptions/listen` stream may watch. */
export const MAX_LISTEN_TASK_IDS = 64;

/** Listen streams watching one task at once. */
export const MAX_LISTENERS_PER_TASK = 16;

/** `tasks/result` requests of one session waiting for their tasks at once (session era). */
export const MAX_TASK_WAITERS_PER_SESSION = 32;

/** Tasks per `tasks/list` page (session era). */
export const TASK_LIST_PAGE_SIZE = 50;
