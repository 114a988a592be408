/**
 * `/mcp`, Streamable HTTP. POST: edge checks (content type, Accept, size),
 * the body read and decoded once, then the era: a 2026-07-28 request is
 * served statelessly in the Worker (stateless.ts); a session-era one mints a
 * session (initialize) or is forwarded to its session object. GET opens the
 * session-era standalone stream, or with Last-Event-ID resumes a reply stream
 * (resume-stream.ts); DELETE ends a session.
 */
import { decodeFrame } from "../../shared/codec";
import { INVALID_REQUEST, JsonRpcError } from "../../shared/errors";
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER, SSE_RETRY_MS } from "../../shared/limits";
import {
  isModernVersion,
  isRecord,
  isSessionEraVersion,
  type RequestId,
} from "../../shared/protocol";
import { configuredPolicy } from "../config/configuration";
import {
  maxTasksPerPrincipal,
  replyStreamMaxMs,
  requestDeadlineMs,
  sseKeepaliveMs,
  statelessBounds,
} from "../config/vars";
import { newSessionId, parseSessionId, unknownSession } from "../session/session-ids";
import { DurableTaskService } from "../tasks/task-service";
import { registryFor } from "../tools/registry";
import { keepAlive, SseWriter, sseResponse } from "../transports/sse";
import {
  checkGetHeaders,
  checkPostHeaders,
  jsonRpcErrorResponse,
  plainError,
  readBoundedText,
} from "../transports/streamable-http";
import type { AppContext } from "./app-env";
import { checkModernRequest, checkParamHeaders, httpEraOf, modernStatusFor } from "./era-checks";
import { resumeStream } from "./resume-stream";
import {
  checkSessionEraVersion,
  createSession,
  forward,
  sessionFromHeader,
} from "./session-forwarding";
import { serveStateless, statelessFederation } from "./stateless";
import { statelessLimitsFor } from "./stateless-limits";
import { withHeaderTrace } from "./trace-headers";

export async function postMcp(c: AppContext): Promise<Response> {
  const failure = checkPostHeaders(c.req.raw);
  if (failure) return plainError(failure);
  const raw = await readBoundedText(c.req.raw);
  if (raw === null) return plainError({ status: 413, message: "Payload Too Large" });
  const { frame, text } = withHeaderTrace(c.req.raw, decodeFrame(raw), raw);
  if (frame.kind === "invalid") return Response.json(frame.reply, { status: 400 });
  const body = frame.message as Record<string, unknown>;
  const id = frame.kind === "request" ? frame.message.id : null;
  if (httpEraOf(c.req.raw, body) === "modern") {
    const registry = registryFor(c.env.TOOLSETS);
    const error =
      checkModernRequest(c.req.raw, body) ??
      checkParamHeaders(c.req.raw, body, (tool) => registry.tools.get(tool)?.item.inputSchema);
    if (error) return jsonRpcErrorResponse(modernStatusFor(error), id, error);
    const admission = statelessLimitsFor(statelessBounds(c.env)).admit(
      c.get("principal"),
      frame.kind === "request",
    );
    if (!admission.ok) return tooMany(id, admission.error);
    return serveStateless(frame, {
      onSettled: admission.release,
      registry,
      requestStateSecret: c.env.REQUEST_STATE_SECRET,
      keepaliveMs: sseKeepaliveMs(c.env),
      maxOpenMs: replyStreamMaxMs(c.env),
      deadlineMs: requestDeadlineMs(c.env),
      federation: statelessFederation(c.env, c.get("principal"), body),
      policy: configuredPolicy(c.env),
      tasks: new DurableTaskService(c.env, c.get("principal"), maxTasksPerPrincipal(c.env)),
      principal: c.get("principal"),
      signal: c.req.raw.signal,
    });
  }
  const versionError = checkSessionEraVersion(c);
  if (versionError) return versionError;
  const sessionHeader = c.req.header(SESSION_ID_HEADER);
  if (sessionHeader === undefined) {
    if (frame.kind === "request" && frame.message.method === "initialize") {
      const newId = newSessionId(c.env.SESSIONS);
      return createSession(c, newId, () => forward(c, newId, "create", text));
    }
    return jsonRpcErrorResponse(
      400,
      id,
      new JsonRpcError(
        INVALID_REQUEST,
        `Bad Request: ${SESSION_ID_HEADER} header required (initialize first, or send the 2026-07-28 _meta envelope)`,
      ),
    );
  }
  const sessionId = parseSessionId(c.env.SESSIONS, sessionHeader);
  if (!sessionId) return unknownSession();
  return forward(c, sessionId, "post", text);
}

export async function getMcp(c: AppContext): Promise<Response> {
  const failure = checkGetHeaders(c.req.raw);
  if (failure) return plainError(failure);
  const version = c.req.header(PROTOCOL_VERSION_HEADER);
  if (version !== undefined && !isSessionEraVersion(version.trim())) {
    return c.text(
      "Method Not Allowed: 2026-07-28 has no GET stream; use subscriptions/listen\n",
      405,
      { Allow: "POST" },
    );
  }
  const sessionId = sessionFromHeader(c);
  if (sessionId instanceof Response) return sessionId;
  const lastEventId = c.req.header("Last-Event-ID");
  if (lastEventId !== undefined) {
    return resumeStream(c, sessionId, lastEventId, sseKeepaliveMs(c.env));
  }
  const probe = await forward(c, sessionId, "probe", "");
  if (probe.status !== 204) return probe;
  return standaloneStream(
    probe.headers.get(SESSION_ID_HEADER) ?? "",
    sseKeepaliveMs(c.env),
    replyStreamMaxMs(c.env),
  );
}

export async function deleteMcp(c: AppContext): Promise<Response> {
  if (isModernVersion(c.req.header(PROTOCOL_VERSION_HEADER)?.trim())) {
    return c.text("Method Not Allowed: 2026-07-28 has no sessions to delete\n", 405, {
      Allow: "POST",
    });
  }
  const versionError = checkSessionEraVersion(c);
  if (versionError) return versionError;
  const sessionId = sessionFromHeader(c);
  if (sessionId instanceof Response) return sessionId;
  return forward(c, sessionId, "delete", "");
}

/** 429 with the JSON-RPC error and Retry-After (whole seconds, at least 1). */
function tooMany(id: RequestId | null, error: JsonRpcError): Response {
  const retryAfterMs = isRecord(error.data) ? Number(error.data.retryAfterMs) || 1_000 : 1_000;
  return jsonRpcErrorResponse(429, id, error, {
    "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
}

/**
 * The session-era standalone GET stream, held by the Worker rather than the
 * session object, so it never keeps the object awake. Dormouse sends nothing
 * unsolicited on it (calls stream on their own POST), so it carries keepalive
 * comments only. It ends after `maxOpenMs` with a `retry` (SSE polling): the
 * client's next GET asks the session again, so a stream never outlives its
 * session (deleted or expired) by more than that.
 */
function standaloneStream(sessionId: string, keepaliveMs: number, maxOpenMs: number): Response {
  const sse = new SseWriter();
  sse.comment("stream open");
  const end = setTimeout(() => {
    stop();
    if (sse.closed) return;
    sse.retry(SSE_RETRY_MS);
    sse.close();
  }, maxOpenMs);
  const stop = keepAlive(sse, keepaliveMs, () => clearTimeout(end));
  return sseResponse(sse, { [SESSION_ID_HEADER]: sessionId });
}
