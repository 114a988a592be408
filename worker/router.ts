/**
 * The Worker's HTTP edge (Hono). Routes validate the edge (Host/Origin, method,
 * headers, body size, era) and forward the raw request to the session object;
 * no MCP method logic lives here. Hono's `upgradeWebSocket` helper is not used:
 * it would accept the socket without hibernation.
 */
import { type Context, Hono } from "hono";
import { decodeFrame } from "../shared/codec";
import { INVALID_REQUEST, JsonRpcError } from "../shared/errors";
import { PROTOCOL_VERSION_HEADER, SESSION_ID_HEADER, TICKET_TTL_MS } from "../shared/limits";
import { isSessionEraVersion, META_CLIENT_CAPABILITIES } from "../shared/protocol";
import { authenticate, issueTicket } from "./auth/authenticate";
import { oauthConfigFrom, PROTECTED_RESOURCE_PATH, protectedResourceMetadata } from "./auth/oauth";
import { configuredUpstreams } from "./config/configuration";
import {
  maxSessionsPerPrincipal,
  replyStreamMaxMs,
  requestDeadlineMs,
  sseKeepaliveMs,
} from "./config/vars";
import { Federation } from "./federation/federation";
import { pooledUpstreamStore } from "./federation/store";
import {
  checkModernRequest,
  checkParamHeaders,
  httpEraOf,
  modernStatusFor,
} from "./http/era-checks";
import {
  checkOrigin,
  corsHeaders,
  isLoopbackRequest,
  originPolicyFrom,
} from "./http/origin-policy";
import { serveStateless } from "./http/stateless";
import { inspector } from "./inspector/route";
import { logEvent } from "./observability/log";
import { newSessionId, parseSessionId, unknownSession } from "./session/session-ids";
import {
  INTERNAL_HTTP,
  INTERNAL_WS_ATTACH,
  INTERNAL_WS_CREATE,
  PRINCIPAL_HEADER,
} from "./session/session-object";
import { ConfigError, registryFor } from "./tools/registry";
import { SseWriter } from "./transports/sse";
import {
  checkGetHeaders,
  checkPostHeaders,
  jsonRpcErrorResponse,
  plainError,
  readBoundedText,
} from "./transports/streamable-http";

type Env_ = {
  Bindings: Env;
  Variables: { corsOrigin: string | null; principal: string; authenticated: boolean };
};
type Ctx = Context<Env_>;

export const app = new Hono<Env_>();

// Host/Origin first, before any other validation (DNS rebinding; conformance suite).
app.use("*", async (c, next) => {
  const verdict = checkOrigin(c.req.raw, originPolicyFrom(c.env));
  if (!verdict.ok) return c.text(`Forbidden: ${verdict.reason}\n`, 403);
  c.set("corsOrigin", verdict.corsOrigin);
  if (c.req.method === "OPTIONS") {
    return new Response(null, {
      status: 204,
      headers: verdict.corsOrigin ? corsHeaders(verdict.corsOrigin) : {},
    });
  }
  await next();
  if (verdict.corsOrigin && c.res.status !== 101) {
    // Responses from a Durable Object stub have immutable headers: copy before adding CORS.
    const response = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(corsHeaders(verdict.corsOrigin))) {
      response.headers.set(name, value);
    }
    c.res = response;
  }
});

// The inspector page: behind the Host/Origin check, before authentication (it holds no secrets;
// the person enters a token in the page).
app.route("/", inspector);

// Protected-resource metadata (RFC 9728) is public, like /healthz.
app.get(`${PROTECTED_RESOURCE_PATH}/*`, (c) => protectedResource(c));
app.get(PROTECTED_RESOURCE_PATH, (c) => protectedResource(c));

// Then authentication; /healthz stays open and reveals nothing about sessions.
app.use("*", async (c, next) => {
  if (c.req.path === "/healthz" || c.req.path.startsWith(PROTECTED_RESOURCE_PATH)) return next();
  const outcome = await authenticate(c.req.raw, c.env, isLoopbackRequest(c.req.raw));
  if (!outcome.ok) return outcome.response;
  c.set("principal", outcome.principal);
  c.set("authenticated", outcome.authenticated);
  // A bad TOOLSETS/UPSTREAMS refuses service loudly (503 via onError), not at the first call.
  configuredUpstreams(c.env);
  return next();
});

app.post("/tickets", async (c) => {
  const ticket = await issueTicket(c.env, c.get("principal"), TICKET_TTL_MS);
  return c.json({ ticket, expiresInMs: TICKET_TTL_MS }, 201, { "Cache-Control": "no-store" });
});

app.get("/healthz", (c) => {
  // Validates the configuration (TOOLSETS, UPSTREAMS) so a bad one shows here, not at a call.
  try {
    const registry = registryFor(c.env.TOOLSETS);
    // Validated here, but not named: upstream names describe the operator's network.
    configuredUpstreams(c.env);
    return c.json({
      status: "ok",
      service: "dormouse",
      toolsets: registry.toolsets.map((t) => t.name),
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logEvent("error", "config_invalid", { error });
    // The reason goes to the operator's log only: /healthz is public.
    return c.json({ status: "misconfigured", service: "dormouse" }, 503);
  }
});

app.all("/ws", async (c) => {
  if (c.req.method !== "GET") {
    return c.text("Method not allowed: open a WebSocket with GET\n", 405, { Allow: "GET" });
  }
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.text("Upgrade required: connect with a WebSocket (subprotocol mcp)\n", 426, {
      Upgrade: "websocket",
    });
  }
  const sessionParam = c.req.query("session");
  const namespace = c.env.SESSIONS;
  if (sessionParam === undefined) {
    const id = newSessionId(namespace);
    const refused = await reserveSessionSlot(c, id);
    if (refused) return refused;
    return namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_CREATE));
  }
  const id = parseSessionId(namespace, sessionParam);
  if (!id) return unknownSession();
  return namespace.get(id).fetch(internalUpgrade(c, INTERNAL_WS_ATTACH));
});

app.post("/mcp", async (c) => {
  const failure = checkPostHeaders(c.req.raw);
  if (failure) return plainError(failure);
  const text = await readBoundedText(c.req.raw);
  if (text === null) return plainError({ status: 413, message: "Payload Too Large" });
  const frame = decodeFrame(text);
  if (frame.kind === "invalid") return Response.json(frame.reply, { status: 400 });
  const body = frame.message as Record<string, unknown>;
  const id = frame.kind === "request" ? frame.message.id : null;
  if (httpEraOf(c.req.raw, body) === "modern") {
    const registry = registryFor(c.env.TOOLSETS);
    const error =
      checkModernRequest(c.req.raw, body) ??
      checkParamHeaders(c.req.raw, body, (tool) => registry.tools.get(tool)?.item.inputSchema);
    if (error) return jsonRpcErrorResponse(modernStatusFor(error), id, error);
    const secret = c.env.REQUEST_STATE_SECRET;
    return serveStateless(
      frame,
      registry,
      secret,
      new Headers(),
      { keepaliveMs: sseKeepaliveMs(c.env), maxOpenMs: replyStreamMaxMs(c.env) },
      requestDeadlineMs(c.env),
      statelessFederation(c, body),
    );
  }
  const versionError = checkSessionEraVersion(c);
  if (versionError) return versionError;
  const sessionHeader = c.req.header(SESSION_ID_HEADER);
  if (sessionHeader === undefined) {
    if (frame.kind === "request" && frame.message.method === "initialize") {
      const id = newSessionId(c.env.SESSIONS);
      const refused = await reserveSessionSlot(c, id);
      if (refused) return refused;
      return forward(c, id, "create", text);
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
});

app.get("/mcp", async (c) => {
  const failure = checkGetHeaders(c.req.raw);
  if (failure) return plainError(failure);
  const version = c.req.header(PROTOCOL_VERSION_HEADER);
  if (version !== undefined && !isSessionEraVersion(version.trim())) {
    return c.text(
      "Method Not Allowed: 2026-07-28 has no GET stream; use subscriptions/listen\n",
      405,
      {
        Allow: "POST",
      },
    );
  }
  const versionError = checkSessionEraVersion(c);
  if (versionError) return versionError;
  const sessionId = sessionFromHeader(c);
  if (sessionId instanceof Response) return sessionId;
  const probe = await forward(c, sessionId, "probe", "");
  if (probe.status !== 204) return probe;
  return standaloneStream(probe.headers.get(SESSION_ID_HEADER) ?? "", sseKeepaliveMs(c.env));
});

app.delete("/mcp", async (c) => {
  const versionError = checkSessionEraVersion(c);
  if (versionError) return versionError;
  const sessionId = sessionFromHeader(c);
  if (sessionId instanceof Response) return sessionId;
  return forward(c, sessionId, "delete", "");
});

/**
 * Federation for a stateless 2026-07-28 request: upstream sessions come from the
 * isolate's pool, scoped to the principal and the capabilities the client declared.
 */
function statelessFederation(c: Ctx, body: Record<string, unknown>): Federation | null {
  const upstreams = configuredUpstreams(c.env);
  if (upstreams.length === 0) return null;
  const params = body.params as { _meta?: Record<string, unknown> } | undefined;
  const declared = params?._meta?.[META_CLIENT_CAPABILITIES];
  const capabilities =
    typeof declared === "object" && declared !== null ? (declared as Record<string, unknown>) : {};
  const store = pooledUpstreamStore(c.get("principal"), capabilities);
  return new Federation(upstreams, c.env as unknown as Record<string, unknown>, store, false);
}

app.all("/mcp", (c) =>
  c.text("Method Not Allowed: use POST, GET or DELETE\n", 405, { Allow: "GET, POST, DELETE" }),
);

app.notFound((c) => c.text("Not found\n", 404));

app.onError((error, c) => {
  if (error instanceof ConfigError) {
    logEvent("error", "config_invalid", { error });
    return c.text("Service Unavailable: the gateway is misconfigured (see its log)\n", 503);
  }
  logEvent("error", "router_error", { path: c.req.path, error });
  return c.text("Internal error\n", 500);
});

function checkSessionEraVersion(c: Ctx): Response | null {
  const version = c.req.header(PROTOCOL_VERSION_HEADER);
  if (version === undefined || isSessionEraVersion(version.trim())) return null;
  return c.text(`Bad Request: unsupported ${PROTOCOL_VERSION_HEADER} "${version}"\n`, 400);
}

/** MAX_SESSIONS_PER_PRINCIPAL for authenticated principals (open loopback mode has one user). */
async function reserveSessionSlot(c: Ctx, id: DurableObjectId): Promise<Response | null> {
  if (!c.get("authenticated")) return null;
  const limit = maxSessionsPerPrincipal(c.env);
  const principals = c.env.PRINCIPALS;
  const ok = await principals
    .get(principals.idFromName(c.get("principal")))
    .reserve(id.toString(), limit);
  if (ok) return null;
  return c.text(
    `Too Many Requests: this principal already holds ${limit} live sessions; end one (DELETE /mcp) or let one expire\n`,
    429,
  );
}

function protectedResource(c: Ctx): Response {
  const config = oauthConfigFrom(c.env);
  if (!config) return c.text("Not found: OAuth is not configured\n", 404);
  return c.json(protectedResourceMetadata(config, new URL(c.req.url).origin));
}

function sessionFromHeader(c: Ctx): DurableObjectId | Response {
  const header = c.req.header(SESSION_ID_HEADER);
  if (header === undefined)
    return c.text(`Bad Request: ${SESSION_ID_HEADER} header required\n`, 400);
  return parseSessionId(c.env.SESSIONS, header) ?? unknownSession();
}

function forward(c: Ctx, id: DurableObjectId, op: string, body: string): Promise<Response> {
  return c.env.SESSIONS.get(id).fetch(`${INTERNAL_HTTP}${op}`, {
    method: "POST",
    body,
    headers: { [PRINCIPAL_HEADER]: c.get("principal") },
  });
}

/** The upgrade as the object sees it: the principal set by us (never by the client), no credentials. */
function internalUpgrade(c: Ctx, url: string): Request {
  const request = new Request(url, c.req.raw);
  request.headers.set(PRINCIPAL_HEADER, c.get("principal"));
  request.headers.delete("Authorization");
  return request;
}

/**
 * The session-era standalone GET stream, held by the Worker rather than the
 * session object, so it never keeps the object awake. Dormouse sends nothing
 * unsolicited yet (lists are static; calls stream on their own POST), so the
 * stream carries keepalive comments only.
 */
function standaloneStream(sessionId: string, keepaliveMs: number): Response {
  const sse = new SseWriter();
  sse.comment("stream open");
  const timer = setInterval(() => {
    if (sse.closed) clearInterval(timer);
    else sse.comment("keepalive");
  }, keepaliveMs);
  return new Response(sse.response, {
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache, no-transform",
      [SESSION_ID_HEADER]: sessionId,
    },
  });
}
