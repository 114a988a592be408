/**
 * Authentication, isolation and limits end to end, against a real
 * `wrangler dev` started with AUTH_TOKEN_HASHES for two principals (alice and
 * bob, random tokens hashed here), a tight message rate (5/s, burst 10) so the
 * limit is reached quickly, and a 3 s idle TTL.
 *
 * It also caps live sessions per principal at 20 (carol fills her quota).
 *
 * A second gateway runs with auth off and ALLOWED_HOSTS=dormouse.test: it
 * serves loopback, and refuses that non-loopback host with 503 rather than
 * run open.
 *
 * Every auth path is covered: bearer on HTTP and on the upgrade, the
 * `mcp.auth.<token>` subprotocol entry (never echoed), single-use tickets;
 * then the cross-principal 404s, the rate limit over both transports, and
 * expiry.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RATE_LIMITED } from "../../shared/errors";
import { CLOSE_SESSION_ENDED, SESSION_ID_HEADER } from "../../shared/limits";
import { type Gateway, startGateway } from "../helpers/process";
import type { WireMessage } from "../helpers/rpc-socket";
import { sleep, withTimeout } from "../helpers/wait";
import { rawHttp, WsRpc } from "../helpers/ws-client";

const REQUEST_TIMEOUT_MS = 10_000;
const IDLE_TTL_MS = 3_000;
const RATE_PER_SECOND = 5;
const RATE_BURST = 10;
const MAX_SESSIONS = 20;
const POST_ACCEPT = "application/json, text/event-stream";

const tokens = {
  alice: randomBytes(32).toString("hex"),
  bob: randomBytes(32).toString("hex"),
  /** Used only by the sessions-per-principal tests. */
  carol: randomBytes(32).toString("hex"),
};
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let gateway: Gateway;
let open: Gateway;

beforeAll(async () => {
  const started = await Promise.allSettled([
    startGateway({
      vars: {
        AUTH_TOKEN_HASHES: Object.entries(tokens)
          .map(([who, token]) => `${who}:${sha256(token)}`)
          .join(","),
        MAX_SESSIONS_PER_PRINCIPAL: String(MAX_SESSIONS),
        RATE_LIMIT_PER_SECOND: String(RATE_PER_SECOND),
        RATE_LIMIT_BURST: String(RATE_BURST),
        SESSION_IDLE_TTL_MS: String(IDLE_TTL_MS),
      },
    }),
    startGateway({ vars: { ALLOWED_HOSTS: "dormouse.test" } }),
  ]);
  if (started[0].status === "fulfilled") gateway = started[0].value;
  if (started[1].status === "fulfilled") open = started[1].value;
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), open?.stop()]);
});

// --- vocabulary ---------------------------------------------------------------

type Who = keyof typeof tokens;

function bearer(who: Who | string): Record<string, string> {
  const token = who in tokens ? tokens[who as Who] : who;
  return { Authorization: `Bearer ${token}` };
}

function mcpPost(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: POST_ACCEPT, ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

function mcpRequest(method: "GET" | "DELETE", headers: Record<string, string>): Promise<Response> {
  return fetch(`${gateway.url}/mcp`, {
    method,
    headers: { Accept: "text/event-stream", ...headers },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: "init",
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "dormouse-e2e-auth", version: "1.0.0" },
  },
};

/** Initializes a session over HTTP as `who`; returns its id. */
async function initializeHttp(who: Who): Promise<string> {
  const response = await mcpPost(INITIALIZE, bearer(who));
  expect(response.status).toBe(200);
  const sessionId = response.headers.get(SESSION_ID_HEADER);
  await response.body?.cancel();
  if (!sessionId) throw new Error("initialize answered without a session id");
  const initialized = await mcpPost(
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { ...bearer(who), [SESSION_ID_HEADER]: sessionId },
  );
  expect(initialized.status).toBe(202);
  return sessionId;
}

let nextId = 1;

/** One request on a session over HTTP as `who`; returns the HTTP status and the JSON reply. */
async function rpcHttp(
  who: Who,
  sessionId: string,
  method: string,
  params: Record<string, unknown> = {},
): Promise<{ status: number; reply: WireMessage | null; response: Response }> {
  const response = await mcpPost(
    { jsonrpc: "2.0", id: nextId++, method, params },
    { ...bearer(who), [SESSION_ID_HEADER]: sessionId },
  );
  const text = await response.text();
  const reply = response.headers.get("Content-Type")?.startsWith("application/json")
    ? (JSON.parse(text) as WireMessage)
    : null;
  return { status: response.status, reply, response };
}

function counterText(result: Record<string, unknown> | undefined): number {
  const content = result?.content as { text: string }[] | undefined;
  return Number(content?.[0]?.text);
}

/** The counter over HTTP after adding `by`. */
async function counterHttp(who: Who, sessionId: string, by: number): Promise<number> {
  const { status, reply } = await rpcHttp(who, sessionId, "tools/call", {
    name: "counter",
    arguments: { by },
  });
  expect(status).toBe(200);
  return counterText(reply?.result);
}

async function counterWs(socket: WsRpc, by: number): Promise<number> {
  return counterText(await socket.call("tools/call", { name: "counter", arguments: { by } }));
}

const sockets: WsRpc[] = [];

/** Opens a socket (closed after the file); fails unless 101. */
async function openSocket(path: string, options: Parameters<typeof WsRpc.open>[1] = {}) {
  const socket = await WsRpc.open(`${gateway.wsUrl}${path}`, options);
  sockets.push(socket);
  return socket;
}

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
});

function attempt(path: string, options: Parameters<typeof WsRpc.attempt>[1] = {}) {
  return WsRpc.attempt(`${gateway.wsUrl}${path}`, options).then((outcome) => {
    if (outcome.ok) sockets.push(outcome.socket);
    return outcome;
  });
}

async function expectRefused(
  outcome: Awaited<ReturnType<typeof attempt>>,
  status: number,
): Promise<{ headers: Record<string, unknown>; body: string }> {
  if (outcome.ok) throw new Error(`expected ${status}, got 101`);
  expect(outcome.status).toBe(status);
  return { headers: outcome.headers, body: outcome.body };
}

function expectChallenge(header: string | null | undefined, invalidToken: boolean): void {
  expect(header).toMatch(/^Bearer realm="dormouse"/);
  if (invalidToken) expect(header).toContain('error="invalid_token"');
  else expect(header).not.toContain("error=");
}

// --- bearer tokens over HTTP ---------------------------------------------------

describe("bearer tokens on HTTP", () => {
  it("serves POST /mcp with a configured token: initialize mints a session", async () => {
    const sessionId = await initializeHttp("alice");
    expect(sessionId).toMatch(/^[0-9a-f]{64}$/);
    expect(await counterHttp("alice", sessionId, 2)).toBe(2);
  });

  it("accepts the scheme in any case and trailing whitespace after the token", async () => {
    const response = await mcpPost(INITIALIZE, { Authorization: `bearer ${tokens.bob}  ` });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it("answers 401 with WWW-Authenticate (no error) to a request without a token", async () => {
    const response = await mcpPost(INITIALIZE);
    expect(response.status).toBe(401);
    expectChallenge(response.headers.get("WWW-Authenticate"), false);
    expect(response.headers.get(SESSION_ID_HEADER)).toBeNull();
    await response.body?.cancel();
  });

  it.each([
    ["an unknown token", `Bearer ${randomBytes(32).toString("hex")}`],
    ["the stored hash itself", `Bearer ${sha256(tokens.alice)}`],
    ["a token with one character changed", `Bearer ${tokens.alice.slice(0, -1)}x`],
    ["alice's token twice", `Bearer ${tokens.alice}${tokens.alice}`],
  ])("answers 401 with error=invalid_token to %s", async (_label, authorization) => {
    const response = await mcpPost(INITIALIZE, { Authorization: authorization });
    expect(response.status).toBe(401);
    expectChallenge(response.headers.get("WWW-Authenticate"), true);
    const body = await response.text();
    expect(body).not.toContain(tokens.alice);
  });

  it.each([
    ["Basic credentials", `Basic ${Buffer.from(`alice:${tokens.alice}`).toString("base64")}`],
    ["a bare token without a scheme", tokens.alice],
    ["Bearer without a token", "Bearer "],
  ])("answers 401 to %s", async (_label, authorization) => {
    const response = await mcpPost(INITIALIZE, { Authorization: authorization });
    expect(response.status).toBe(401);
    expectChallenge(response.headers.get("WWW-Authenticate"), false);
    await response.body?.cancel();
  });

  it("answers 401 to GET and DELETE /mcp without a token, before looking at the session", async () => {
    const sessionId = await initializeHttp("alice");
    for (const method of ["GET", "DELETE"] as const) {
      const response = await mcpRequest(method, { [SESSION_ID_HEADER]: sessionId });
      expect(response.status).toBe(401);
      await response.body?.cancel();
    }
    expect(await counterHttp("alice", sessionId, 1)).toBe(1);
  });
});

// --- WebSocket upgrades --------------------------------------------------------

describe("bearer tokens on the WebSocket upgrade", () => {
  it("opens a session with Authorization on the upgrade and serves it", async () => {
    const socket = await openSocket("/ws", { headers: bearer("alice") });
    expect(socket.upgradeHeaders["sec-websocket-protocol"]).toBe("mcp");
    await socket.initialize();
    expect(await counterWs(socket, 3)).toBe(3);
  });

  it("answers 401 with WWW-Authenticate to an upgrade without credentials, without upgrading", async () => {
    const { headers } = await expectRefused(await attempt("/ws"), 401);
    expectChallenge(headers["www-authenticate"] as string, false);
  });

  it("answers 401 with error=invalid_token to an upgrade with a wrong token", async () => {
    const { headers } = await expectRefused(
      await attempt("/ws", { headers: bearer(randomBytes(16).toString("hex")) }),
      401,
    );
    expectChallenge(headers["www-authenticate"] as string, true);
  });
});

describe("the mcp.auth.<token> subprotocol entry", () => {
  it.each([
    ["after mcp", (token: string) => ["mcp", `mcp.auth.${token}`]],
    ["before mcp", (token: string) => [`mcp.auth.${token}`, "mcp"]],
  ])(
    "authenticates %s and the 101 echoes exactly mcp, never the token",
    async (_label, protocols) => {
      const socket = await openSocket("/ws", { protocols: protocols(tokens.bob) });
      expect(socket.upgradeHeaders["sec-websocket-protocol"]).toBe("mcp");
      expect(socket.ws.protocol).toBe("mcp");
      expect(JSON.stringify(socket.upgradeHeaders)).not.toContain(tokens.bob);
      await socket.initialize();
      expect(await counterWs(socket, 1)).toBe(1);
    },
  );

  it("answers 401 to a wrong token in the subprotocol entry", async () => {
    const { headers } = await expectRefused(
      await attempt("/ws", { protocols: ["mcp", `mcp.auth.${randomBytes(16).toString("hex")}`] }),
      401,
    );
    expectChallenge(headers["www-authenticate"] as string, true);
  });
});

// --- tickets -------------------------------------------------------------------

async function issueTicket(who: Who | null): Promise<Response> {
  return fetch(`${gateway.url}/tickets`, {
    method: "POST",
    headers: who ? bearer(who) : {},
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

async function ticketFor(who: Who): Promise<string> {
  const response = await issueTicket(who);
  expect(response.status).toBe(201);
  const body = (await response.json()) as { ticket: string };
  return body.ticket;
}

describe("tickets", () => {
  it("issues a 64-hex ticket with its lifetime, uncacheable, to an authenticated POST /tickets", async () => {
    const response = await issueTicket("alice");
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ ticket: expect.stringMatching(/^[0-9a-f]{64}$/), expiresInMs: 60_000 });
  });

  it("answers 401 to POST /tickets without a token or with a wrong one", async () => {
    for (const headers of [{}, bearer(randomBytes(16).toString("hex"))]) {
      const response = await fetch(`${gateway.url}/tickets`, {
        method: "POST",
        headers,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="dormouse"/);
      await response.body?.cancel();
    }
  });

  it("opens a socket once with ?ticket=, then answers 401 to the same ticket", async () => {
    const ticket = await ticketFor("alice");
    const socket = await openSocket(`/ws?ticket=${ticket}`);
    await socket.initialize();
    expect(await counterWs(socket, 5)).toBe(5);
    const { headers } = await expectRefused(await attempt(`/ws?ticket=${ticket}`), 401);
    expectChallenge(headers["www-authenticate"] as string, true);
  });

  it("lets exactly one of five concurrent upgrades redeem the same ticket", async () => {
    const ticket = await ticketFor("bob");
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => attempt(`/ws?ticket=${ticket}`)),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => !o.ok)) await expectRefused(outcome, 401);
  });

  it("re-attaches its owner's session with ?session=&ticket=, state intact", async () => {
    const socket = await openSocket("/ws", { headers: bearer("alice") });
    await socket.initialize();
    await counterWs(socket, 7);
    const ticket = await ticketFor("alice");
    const again = await openSocket(`/ws?session=${socket.sessionId}&ticket=${ticket}`);
    expect(await counterWs(again, 0)).toBe(7);
  });

  it("answers 401 to a ticket used as a bearer token and to a ticket that is not one", async () => {
    const ticket = await ticketFor("alice");
    await expectRefused(await attempt("/ws", { headers: bearer(ticket) }), 401);
    await expectRefused(await attempt(`/ws?ticket=${"0".repeat(64)}`), 401);
    await expectRefused(await attempt("/ws?ticket=not-a-ticket"), 401);
    // The ticket was not spent by the bearer attempt.
    await openSocket(`/ws?ticket=${ticket}`);
  });
});

// --- /healthz ------------------------------------------------------------------

describe("/healthz", () => {
  it("answers 200 without a token, and with a wrong one, revealing nothing about sessions", async () => {
    const socket = await openSocket("/ws", { headers: bearer("alice") });
    await socket.initialize();
    for (const headers of [{}, bearer("nope")]) {
      const response = await fetch(`${gateway.url}/healthz`, {
        headers,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get(SESSION_ID_HEADER)).toBeNull();
      expect(response.headers.get("Set-Cookie")).toBeNull();
      const text = await response.text();
      expect(text).not.toContain(socket.sessionId);
      expect(Object.keys(JSON.parse(text)).sort()).toEqual(["service", "status", "toolsets"]);
    }
  });
});

// --- isolation -----------------------------------------------------------------

describe("sessions are bound to the principal that created them", () => {
  /** The 404 an id that names no session gets (a well-formed id this gateway never minted). */
  async function unknownAnswer(): Promise<{ status: number; body: string; type: string | null }> {
    const response = await mcpPost(
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { ...bearer("bob"), [SESSION_ID_HEADER]: randomBytes(32).toString("hex") },
    );
    return {
      status: response.status,
      body: await response.text(),
      type: response.headers.get("Content-Type"),
    };
  }

  it("answers another principal 404 on ?session=, Mcp-Session-Id POST, GET and DELETE, exactly like an unknown id; the owner still reaches it", async () => {
    const owner = await openSocket("/ws", { headers: bearer("alice") });
    await owner.initialize();
    expect(await counterWs(owner, 1)).toBe(1);
    const id = owner.sessionId;
    const unknown = await unknownAnswer();
    expect(unknown.status).toBe(404);

    const attach = await expectRefused(
      await attempt(`/ws?session=${id}`, { headers: bearer("bob") }),
      404,
    );
    expect(attach.body).toBe(unknown.body);

    const posted = await mcpPost(
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "counter", arguments: {} } },
      { ...bearer("bob"), [SESSION_ID_HEADER]: id },
    );
    expect(posted.status).toBe(404);
    expect(await posted.text()).toBe(unknown.body);

    for (const method of ["GET", "DELETE"] as const) {
      const response = await mcpRequest(method, { ...bearer("bob"), [SESSION_ID_HEADER]: id });
      expect(response.status).toBe(404);
      expect(await response.text()).toBe(unknown.body);
    }

    // A ticket carries its principal: bob's ticket does not open alice's session either.
    const ticket = await ticketFor("bob");
    await expectRefused(await attempt(`/ws?session=${id}&ticket=${ticket}`), 404);

    // Nothing bob did reached the session: alice's socket is still attached and counting.
    expect(await counterWs(owner, 1)).toBe(2);
    expect(await counterHttp("alice", id, 1)).toBe(3);
    const reattached = await openSocket(`/ws?session=${id}`, { headers: bearer("alice") });
    expect(await counterWs(reattached, 0)).toBe(3);
  });

  it("answers another principal's 404 with the same headers as a malformed id's, so the two cannot be told apart", async () => {
    const id = await initializeHttp("alice");
    const unknown = await unknownAnswer();
    const foreign = await mcpPost(
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { ...bearer("bob"), [SESSION_ID_HEADER]: id },
    );
    expect(foreign.status).toBe(unknown.status);
    expect(await foreign.text()).toBe(unknown.body);
    expect(foreign.headers.get("Content-Type")).toBe(unknown.type);
  });

  it("answers 404 to another principal for a session created over HTTP", async () => {
    const id = await initializeHttp("bob");
    const { status } = await rpcHttp("alice", id, "ping");
    expect(status).toBe(404);
    await expectRefused(await attempt(`/ws?session=${id}`, { headers: bearer("alice") }), 404);
    expect(await counterHttp("bob", id, 4)).toBe(4);
  });
});

// --- rate limit ----------------------------------------------------------------

function retryAfterMsOf(reply: WireMessage | null): number {
  const data = reply?.error?.data as { retryAfterMs?: unknown } | undefined;
  if (typeof data?.retryAfterMs !== "number") {
    throw new Error(`expected error.data.retryAfterMs, got ${JSON.stringify(reply)}`);
  }
  return data.retryAfterMs;
}

describe(`the message rate limit (${RATE_PER_SECOND}/s, burst ${RATE_BURST})`, () => {
  it("answers -32005 with data.retryAfterMs over WebSocket, and serves again after the wait", async () => {
    const socket = await openSocket("/ws", { headers: bearer("alice") });
    await socket.initialize();
    const count = RATE_BURST + 5;
    for (let i = 0; i < count; i++)
      socket.send({ jsonrpc: "2.0", id: `burst${i}`, method: "ping" });
    const replies = await Promise.all(
      Array.from({ length: count }, (_, i) => socket.response(`burst${i}`)),
    );
    const limited = replies.filter((reply) => reply.error);
    expect(limited.length).toBeGreaterThanOrEqual(count - RATE_BURST);
    let waitMs = 0;
    for (const reply of limited) {
      expect(reply.error?.code).toBe(RATE_LIMITED);
      const retryAfterMs = retryAfterMsOf(reply);
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(1000 / RATE_PER_SECOND);
      waitMs = Math.max(waitMs, retryAfterMs);
    }
    await sleep(waitMs + 50);
    expect((await socket.request("ping")).result).toEqual({});
  });

  it("answers 429 with Retry-After and -32005 over HTTP, and serves again after the wait", async () => {
    const id = await initializeHttp("bob");
    const results = await Promise.all(
      Array.from({ length: RATE_BURST + 5 }, () => rpcHttp("bob", id, "ping")),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    let waitS = 0;
    for (const { response, reply } of limited) {
      const retryAfter = Number(response.headers.get("Retry-After"));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
      expect(reply?.error?.code).toBe(RATE_LIMITED);
      expect(retryAfterMsOf(reply)).toBeGreaterThan(0);
      waitS = Math.max(waitS, retryAfter);
    }
    await sleep(waitS * 1000);
    expect((await rpcHttp("bob", id, "ping")).status).toBe(200);
  });
});

// --- sessions per principal -------------------------------------------------------

/** Carol's live sessions, filled up to the limit by the first test below. */
const carolSessions: string[] = [];

describe(`sessions per principal (MAX_SESSIONS_PER_PRINCIPAL ${MAX_SESSIONS})`, () => {
  it("answers 429 to one session more than the limit, over HTTP and WebSocket, minting nothing; other principals are unaffected", async () => {
    carolSessions.push(
      ...(await Promise.all(Array.from({ length: MAX_SESSIONS }, () => initializeHttp("carol")))),
    );
    expect(new Set(carolSessions).size).toBe(MAX_SESSIONS);
    const refused = await mcpPost(INITIALIZE, bearer("carol"));
    expect(refused.status).toBe(429);
    expect(refused.headers.get(SESSION_ID_HEADER)).toBeNull();
    expect(await refused.text()).toMatch(/live sessions/);
    await expectRefused(await attempt("/ws", { headers: bearer("carol") }), 429);
    // A ticket names the same principal: no way around the limit.
    await expectRefused(await attempt(`/ws?ticket=${await ticketFor("carol")}`), 429);
    // Her existing sessions still work, re-attach included; bob's quota is his own.
    expect(await counterHttp("carol", carolSessions[0] ?? "", 1)).toBe(1);
    const reattached = await openSocket(`/ws?session=${carolSessions[1]}`, {
      headers: bearer("carol"),
    });
    expect(await counterWs(reattached, 0)).toBe(0);
    await reattached.close();
    expect(await initializeHttp("bob")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("frees a slot when one of the principal's sessions is deleted", async () => {
    const victim = carolSessions.pop() ?? "";
    const deleted = await mcpRequest("DELETE", { ...bearer("carol"), [SESSION_ID_HEADER]: victim });
    expect(deleted.status).toBe(204);
    carolSessions.push(await initializeHttp("carol"));
    const refused = await mcpPost(INITIALIZE, bearer("carol"));
    expect(refused.status).toBe(429);
    await refused.body?.cancel();
  });

  it("does not count another principal's failed attempts on someone else's session against them", async () => {
    // Bob knocking on carol's sessions creates nothing for anyone.
    for (const id of carolSessions.slice(0, 3)) {
      expect((await rpcHttp("bob", id, "ping")).status).toBe(404);
    }
    expect(await initializeHttp("bob")).toMatch(/^[0-9a-f]{64}$/);
  });
});

// --- auth off, non-loopback host -------------------------------------------------

describe("auth off (no AUTH_TOKEN_HASHES)", () => {
  it("answers 503 on a non-loopback allowed host, for /mcp and /ws", async () => {
    const post = await rawHttp(`${open.url}/mcp`, {
      method: "POST",
      headers: {
        Host: "dormouse.test",
        "Content-Type": "application/json",
        Accept: POST_ACCEPT,
      },
      body: JSON.stringify(INITIALIZE),
    });
    expect(post.status).toBe(503);
    expect(post.headers["mcp-session-id"]).toBeUndefined();
    expect(post.body).toMatch(/AUTH_TOKEN_HASHES/);
    const upgrade = await rawHttp(`${open.url}/ws`, {
      headers: {
        Host: "dormouse.test",
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        "Sec-WebSocket-Protocol": "mcp",
      },
    });
    expect(upgrade.status).toBe(503);
  });

  it("still serves loopback hosts openly", async () => {
    const response = await fetch(`${open.url}/mcp`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: POST_ACCEPT },
      body: JSON.stringify(INITIALIZE),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get(SESSION_ID_HEADER)).toMatch(/^[0-9a-f]{64}$/);
    await response.body?.cancel();
  });
});

// --- idle TTL --------------------------------------------------------------------

describe(`the idle TTL (${IDLE_TTL_MS} ms)`, () => {
  const EXPIRY_WAIT_MS = IDLE_TTL_MS + 10_000;
  let httpId = "";
  let wsId = "";
  let silentId = "";

  beforeAll(async () => {
    httpId = await initializeHttp("alice");
    expect(await counterHttp("alice", httpId, 1)).toBe(1);
    const silent = await openSocket("/ws", { headers: bearer("alice") });
    silentId = silent.sessionId;
    await silent.close();
    const socket = await openSocket("/ws", { headers: bearer("alice") });
    wsId = socket.sessionId;
    await socket.initialize();
    expect(await counterWs(socket, 1)).toBe(1);
    // The socket is left idle: expiry closes it with 4004 (no probing, which would count as activity).
    const closed = await withTimeout(socket.closed, EXPIRY_WAIT_MS, "the idle session to expire");
    expect(closed.code).toBe(CLOSE_SESSION_ENDED);
    // The HTTP and silent sessions were idle longer still; give their alarms a moment.
    await sleep(500);
  }, 30_000);

  it("answers 404 to ?session= and Mcp-Session-Id for sessions idle past the TTL", async () => {
    for (const id of [httpId, wsId]) {
      await expectRefused(await attempt(`/ws?session=${id}`, { headers: bearer("alice") }), 404);
      expect((await rpcHttp("alice", id, "ping")).status).toBe(404);
    }
  });

  it("frees the slots of expired sessions: the principal may open a full quota again", async () => {
    const again = await Promise.all(
      Array.from({ length: MAX_SESSIONS }, () => initializeHttp("carol")),
    );
    expect(again).toHaveLength(MAX_SESSIONS);
  });

  it("expires a WebSocket session whose client never sent a message", async () => {
    await expectRefused(
      await attempt(`/ws?session=${silentId}`, { headers: bearer("alice") }),
      404,
    );
  });
});
