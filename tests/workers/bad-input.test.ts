/**
 * Bad input where errors.test.ts (WebSocket frames) and streamable-http.test.ts
 * (the HTTP edge's fixed statuses) do not already look: odd and oversized
 * headers, odd query strings, HTTP bodies that are JSON but not a message,
 * a client trying to set the internal principal header, and socket
 * attachments from older or broken writers. Table-driven: one row, one input.
 *
 * Whatever the input: never a 500, never a crash of the object, and no reply
 * body carries a stack frame or an exception name (every body read here is
 * checked for that when the test ends).
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, RATE_LIMITED } from "../../shared/errors";
import { SESSION_ID_HEADER } from "../../shared/limits";
import { DEFERRED_WRITE_MS } from "../../worker/session/replay";
import { PRINCIPAL_HEADER } from "../../worker/session/session-object";
import { ATTACHMENT_VERSION, decodeAttachment } from "../../worker/storage/attachment";
import {
  counterHttp,
  deleteSession,
  initializeHttp,
  openStream,
  POST_ACCEPT,
  post,
  sessionPost,
} from "../helpers/http";
import { waitFor } from "../helpers/wait";
import {
  type Client,
  connect,
  delay,
  fetchWorker,
  type RpcResponse,
  sessionStub,
  toolText,
  upgrade,
  userTables,
  WAIT_MS,
} from "../helpers/workerd";

const STACK_TRACE = /\bat .+:\d+:\d+|[A-Z][A-Za-z]*Error:|\n\s+at /;

/** Every body read in a test, checked in afterEach. */
let bodies: string[] = [];

afterEach(() => {
  const leaked = bodies.filter((body) => STACK_TRACE.test(body));
  bodies = [];
  expect(leaked, "reply bodies with stack frames or exception names").toEqual([]);
});

async function bodyOf(response: Response): Promise<string> {
  const text = await response.text();
  bodies.push(text);
  return text;
}

async function jsonBody(response: Response): Promise<RpcResponse> {
  return JSON.parse(await bodyOf(response)) as RpcResponse;
}

const PING = { jsonrpc: "2.0", id: "p", method: "ping" };

// ---------------------------------------------------------------------------

describe("Mcp-Session-Id values that name no session", () => {
  const rows: [string, () => Promise<string> | string][] = [
    ["words", () => "not-a-session"],
    ["64 characters that are not hex", () => "z".repeat(64)],
    ["63 hex characters", () => "a".repeat(63)],
    ["65 hex characters", () => "a".repeat(65)],
    ["10 KB of hex", () => "ab".repeat(5_120)],
    ["a UUID", () => "123e4567-e89b-12d3-a456-426614174000"],
    ["a real session id in upper case", async () => (await initializeHttp()).toUpperCase()],
    ["a real session id with a suffix", async () => `${await initializeHttp()}00`],
    ["Latin-1 bytes", () => "s\u00e9ssion\u00ff"],
    ["a path traversal", () => "../../session.internal/http/delete"],
  ];

  it.each(rows)("answers 404 to POST, GET and DELETE with %s", async (_label, make) => {
    const sessionId = await make();
    const posted = await sessionPost(sessionId, PING);
    expect(posted.status).toBe(404);
    expect(await bodyOf(posted)).toMatch(/Unknown or expired session/);
    const stream = await openStream(sessionId);
    expect(stream.status).toBe(404);
    await bodyOf(stream);
    const deleted = await deleteSession(sessionId);
    expect(deleted.status).toBe(404);
    await bodyOf(deleted);
  });

  it("answers 404 to an initialize that carries an unknown Mcp-Session-Id, minting nothing", async () => {
    const response = await post(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "x", version: "1" },
        },
      },
      { [SESSION_ID_HEADER]: "f".repeat(64) },
    );
    expect(response.status).toBe(404);
    await bodyOf(response);
  });
});

describe("odd and oversized headers", () => {
  const rows: [string, Record<string, string>, number][] = [
    ["Accept */*", { Accept: "*/*" }, 200],
    ["Accept with wildcards per type", { Accept: "application/*, text/*" }, 200],
    ["Accept in upper case", { Accept: "APPLICATION/JSON, TEXT/EVENT-STREAM" }, 200],
    ["Accept with parameters", { Accept: "application/json;q=0.9, text/event-stream;q=0.8" }, 200],
    [
      "Accept of 16 KB that ends with both types",
      { Accept: `${"x/y, ".repeat(2_700)}${POST_ACCEPT}` },
      200,
    ],
    ["Accept of empty entries only", { Accept: " , , ," }, 406],
    ["an empty Accept", { Accept: "" }, 406],
    ["a 32 KB unknown header", { "X-Junk": "j".repeat(32 * 1024) }, 200],
    [
      "Content-Type application/json with junk parameters",
      { "Content-Type": "application/json; x=;;; y" },
      200,
    ],
    ["Content-Type application/jsonx", { "Content-Type": "application/jsonx" }, 415],
    ["a bearer token while auth is off", { Authorization: "Bearer whatever" }, 200],
    ["a malformed Authorization while auth is off", { Authorization: "Basic !!!" }, 200],
    ["an 8 KB Mcp-Method on a session-era request", { "Mcp-Method": "m".repeat(8_192) }, 200],
  ];

  it.each(rows)(
    "answers a POST with %s on a live session with the status in its row",
    async (_label, headers, status) => {
      const sessionId = await initializeHttp();
      const response = await sessionPost(sessionId, PING, headers);
      expect(response.status).toBe(status);
      const body = await bodyOf(response);
      if (status === 200) expect(JSON.parse(body)).toMatchObject({ id: "p", result: {} });
      expect(await counterHttp(sessionId, 0)).toBe(0);
    },
  );

  it("combines two Accept headers, one per type, into one that is accepted", async () => {
    const sessionId = await initializeHttp();
    const headers = new Headers({
      "Content-Type": "application/json",
      [SESSION_ID_HEADER]: sessionId,
    });
    headers.append("Accept", "application/json");
    headers.append("Accept", "text/event-stream");
    const response = await fetchWorker("/mcp", {
      method: "POST",
      headers,
      body: JSON.stringify(PING),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(await bodyOf(response))).toMatchObject({ id: "p", result: {} });
  });

  it("answers 400 to an 8 KB MCP-Protocol-Version on GET and DELETE, and the session lives on", async () => {
    const sessionId = await initializeHttp();
    const version = { "MCP-Protocol-Version": "2025-".repeat(1_600) };
    for (const response of [
      await deleteSession(sessionId, version),
      await openStream(sessionId, version),
    ]) {
      expect([400, 405]).toContain(response.status);
      await bodyOf(response);
    }
    expect(await counterHttp(sessionId, 1)).toBe(1);
  });
});

describe("the internal principal header", () => {
  it("ignores a Dormouse-Principal header sent by a client: the session is reached as the caller", async () => {
    const sessionId = await initializeHttp();
    const spoofed = await sessionPost(sessionId, PING, { [PRINCIPAL_HEADER]: "someone-else" });
    expect(spoofed.status).toBe(200);
    await bodyOf(spoofed);
    const principal = await runInDurableObject(
      sessionStub(sessionId),
      (_instance, state) =>
        state.storage.sql.exec<{ principal: string }>("SELECT principal FROM session").one()
          .principal,
    );
    expect(principal).toBe("anonymous");
  });

  it("stores the router's principal, not the client's, on a session created with a spoofed header", async () => {
    const response = await fetchWorker("/ws", {
      headers: {
        Upgrade: "websocket",
        "Sec-WebSocket-Protocol": "mcp",
        [PRINCIPAL_HEADER]: "mallory",
      },
    });
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    const sessionId = response.headers.get(SESSION_ID_HEADER) ?? "";
    // An anonymous session's row is written with its first write; the socket's first
    // message would be one, and without any the deferred write is.
    const principal = () =>
      runInDurableObject(sessionStub(sessionId), (_instance, state) =>
        userTables(state).includes("session")
          ? state.storage.sql.exec<{ principal: string }>("SELECT principal FROM session").one()
              .principal
          : undefined,
      );
    const stored = await waitFor(principal, {
      timeoutMs: DEFERRED_WRITE_MS + WAIT_MS,
      what: "the deferred write of the session row",
    });
    expect(stored).toBe("anonymous");
    response.webSocket?.close(1000, "done");
  });
});

describe("query strings on /ws", () => {
  const rows: [string, () => Promise<string> | string][] = [
    ["an empty session", () => "session="],
    ["a unicode session", () => `session=${encodeURIComponent("✓".repeat(64))}`],
    ["a 10 KB session", () => `session=${"a".repeat(10 * 1024)}`],
    ["a session with a NUL byte", async () => `session=${(await connect()).sessionId}%00`],
    [
      "a real session id in upper case",
      async () => `session=${(await connect()).sessionId.toUpperCase()}`,
    ],
    ["a session of percent-encoded hex", () => `session=${"%61".repeat(64)}`],
    ["a session param without a value", () => "session"],
  ];

  it.each(rows)("answers 404 to an upgrade with %s, without upgrading", async (_label, make) => {
    const response = await upgrade(`/ws?${await make()}`);
    expect(response.status).toBe(404);
    expect(response.webSocket).toBeNull();
    await bodyOf(response);
  });

  it("decodes percent-encoded hex and re-attaches (the id is the decoded value)", async () => {
    const client = await connect();
    await client.initialize();
    const encoded = [...client.sessionId].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    const response = await upgrade(`/ws?session=${encoded}`);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });

  it("uses the first of two session params", async () => {
    const client = await connect();
    const response = await upgrade(`/ws?session=${client.sessionId}&session=${"b".repeat(64)}`);
    expect(response.status).toBe(101);
    expect(response.headers.get(SESSION_ID_HEADER)).toBe(client.sessionId);
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });

  it("ignores unknown params and a ticket while auth is off: a new session", async () => {
    const response = await upgrade(`/ws?foo=bar&ticket=${"0".repeat(64)}&x=%ZZ`);
    expect(response.status).toBe(101);
    response.webSocket?.accept();
    response.webSocket?.close(1000, "done");
  });
});

describe("HTTP bodies that are not a JSON-RPC message", () => {
  const deepArrays = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
  const deepObjects = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
  const rows: [string, string | Uint8Array, number][] = [
    ["an empty body", "", PARSE_ERROR],
    ["whitespace only", " \n\t ", PARSE_ERROR],
    ["null", "null", INVALID_REQUEST],
    ["a number", "42", INVALID_REQUEST],
    ["a string", '"ping"', INVALID_REQUEST],
    ["true", "true", INVALID_REQUEST],
    ["an empty object", "{}", INVALID_REQUEST],
    ["an empty array", "[]", INVALID_REQUEST],
    ["an array of numbers", "[1,2,3]", INVALID_REQUEST],
    ["a request whose id is null", '{"jsonrpc":"2.0","id":null,"method":"ping"}', INVALID_REQUEST],
    [
      "a request whose params are null",
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":null}',
      INVALID_REQUEST,
    ],
    [
      "a request whose params are a string",
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}',
      INVALID_REQUEST,
    ],
    ["100,000 nested arrays", deepArrays, INVALID_REQUEST],
    ["100,000 nested objects", deepObjects, INVALID_REQUEST],
    ["bytes that are not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), PARSE_ERROR],
    [
      "two JSON documents",
      '{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"ping"}',
      PARSE_ERROR,
    ],
  ];

  it.each(rows)(
    "answers 400 with %s, on a live session and without one",
    async (_label, body, code) => {
      const sessionId = await initializeHttp();
      for (const headers of [{ [SESSION_ID_HEADER]: sessionId }, {}] as Record<string, string>[]) {
        const response = await fetchWorker("/mcp", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: POST_ACCEPT, ...headers },
          body,
        });
        expect(response.status).toBe(400);
        const reply = await jsonBody(response);
        expect(reply.error?.code).toBe(code);
      }
      expect(await counterHttp(sessionId, 0)).toBe(0);
    },
  );

  it("serves a body that starts with a UTF-8 byte order mark", async () => {
    const sessionId = await initializeHttp();
    const response = await sessionPost(sessionId, `\uFEFF${JSON.stringify(PING)}`);
    expect([200, 400]).toContain(response.status);
    await bodyOf(response);
  });

  it("answers 200 with -32601 to __proto__ and constructor methods over HTTP", async () => {
    const sessionId = await initializeHttp();
    for (const method of ["__proto__", "constructor", "hasOwnProperty"]) {
      const response = await sessionPost(sessionId, { jsonrpc: "2.0", id: method, method });
      expect(response.status).toBe(200);
      expect((await jsonBody(response)).error?.code).toBe(METHOD_NOT_FOUND);
    }
  });

  it("answers 202 to a response for a request the server never sent, and to an unknown notification", async () => {
    const sessionId = await initializeHttp();
    for (const body of [
      { jsonrpc: "2.0", id: "never-sent", result: {} },
      { jsonrpc: "2.0", id: 99, error: { code: 1, message: "x" } },
      { jsonrpc: "2.0", method: "notifications/frobnicated", params: { deep: { a: [1] } } },
    ]) {
      const response = await sessionPost(sessionId, body);
      expect(response.status).toBe(202);
      await bodyOf(response);
    }
    expect(await counterHttp(sessionId, 2)).toBe(2);
  });

  it("keeps lone surrogates and NUL characters in strings intact through echo", async () => {
    const sessionId = await initializeHttp();
    const text = "a\uD800b\u0000c\uDFFF";
    const response = await sessionPost(sessionId, {
      jsonrpc: "2.0",
      id: "echo",
      method: "tools/call",
      params: { name: "echo", arguments: { text } },
    });
    expect(response.status).toBe(200);
    const reply = await jsonBody(response);
    expect(toolText(reply.result ?? {})).toBe(text);
  });
});

// ---------------------------------------------------------------------------

/** A session at log level "warning" with the counter at 4, then its attachment replaced by `value` and the object evicted. */
async function sessionWithAttachment(
  value: (sessionId: string, now: number) => unknown,
): Promise<Client> {
  const client = await connect();
  await client.initialize({ protocolVersion: "2025-06-18" });
  await client.call("logging/setLevel", { level: "warning" });
  await client.callTool("counter", { by: 4 });
  const stub = sessionStub(client.sessionId);
  await runInDurableObject(stub, (_instance, state) => {
    for (const ws of state.getWebSockets())
      ws.serializeAttachment(value(client.sessionId, Date.now()));
  });
  await evictDurableObject(stub, { webSockets: "hibernate" });
  return client;
}

async function expectIntactAfterWake(client: Client): Promise<void> {
  const info = await client.sessionInfo();
  expect(info).toMatchObject({
    protocolVersion: "2025-06-18",
    logLevel: "warning",
    phase: "ready",
  });
  expect(await client.counter()).toBe(4);
  expect(client.closed).toBeNull();
  const [attachment] = await runInDurableObject(sessionStub(client.sessionId), (_instance, state) =>
    state
      .getWebSockets()
      .map((ws) => decodeAttachment(ws.deserializeAttachment(), client.sessionId)),
  );
  expect(attachment).toMatchObject({ v: ATTACHMENT_VERSION, sid: client.sessionId, ll: "warning" });
}

describe("attachments from older or broken writers", () => {
  const rows: [string, (sessionId: string, now: number) => unknown][] = [
    [
      "a v0 shape (long field names, no version)",
      (sid) => ({
        sessionId: sid,
        generation: 1,
        phase: "ready",
        protocolVersion: "2025-06-18",
        logLevel: "debug",
      }),
    ],
    [
      "a v0 shape with version 0",
      (sid) => ({ v: 0, sid, gen: 1, phase: "new", pv: null, ll: "debug" }),
    ],
    ["a string", () => "ready"],
    ["a number", () => 1],
    ["an array", (sid) => [1, sid, 1, "ready"]],
    ["null", () => null],
    ["a Map", (sid) => new Map([["sid", sid]])],
    [
      "a v1 attachment with a phase from the future",
      (sid) => ({ v: 1, sid, gen: 1, phase: "draining", pv: null, ll: "info" }),
    ],
  ];

  it.each(rows)(
    "rebuilds %s from storage on the next wake, with state intact",
    async (_label, value) => {
      const client = await sessionWithAttachment(value);
      await expectIntactAfterWake(client);
    },
  );

  it("decodes a v1 attachment written before rate limiting (no bucket) and starts a full bucket", async () => {
    const client = await sessionWithAttachment((sid) => ({
      v: 1,
      sid,
      gen: 1,
      phase: "ready",
      pv: "2025-06-18",
      ll: "warning",
    }));
    await expectIntactAfterWake(client);
    const [attachment] = await runInDurableObject(
      sessionStub(client.sessionId),
      (_instance, state) =>
        state
          .getWebSockets()
          .map((ws) => decodeAttachment(ws.deserializeAttachment(), client.sessionId)),
    );
    expect(attachment?.tb?.[0]).toBeGreaterThan(90);
  });

  it.each([
    ["a negative token count", (now: number) => [-1e9, now]],
    ["a refill time far in the future", (now: number) => [0, now + 86_400_000]],
  ] as const)(
    "does not lock a session out of the rate limit for a bucket with %s",
    async (_label, bucket) => {
      const client = await sessionWithAttachment((sid, now) => ({
        v: 1,
        sid,
        gen: 1,
        phase: "ready",
        pv: "2025-06-18",
        ll: "warning",
        tb: bucket(now),
      }));
      // A full bucket refills one token in 20 ms at the default rate; allow a second.
      let reply: RpcResponse | undefined;
      const deadline = Date.now() + 1_000;
      do {
        reply = await client.request("ping");
        if (reply.error?.code === RATE_LIMITED) await delay(50);
      } while (reply.error?.code === RATE_LIMITED && Date.now() < deadline);
      expect(reply.error, `still rate limited: ${JSON.stringify(reply.error)}`).toBeUndefined();
      expect(await client.counter()).toBe(4);
    },
  );
});
