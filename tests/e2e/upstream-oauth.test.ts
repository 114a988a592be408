/**
 * Per-principal OAuth to an upstream, end to end: a real `wrangler dev`
 * gateway, a real authorization server (oidc-provider, with its interactive
 * login and consent, driven here with HTTP requests and a cookie jar), and an
 * upstream MCP server that accepts only that server's tokens (jose against its
 * JWKS, audience = the upstream). Principals authenticate to the gateway with
 * bearer tokens (AUTH_TOKEN_HASHES); each signs in at the authorization server
 * under its own name, which the upstream's `whoami` tool reports.
 *
 * The tests run in order and share the gateway: alice authorizes through a URL
 * elicitation, bob through -32042, then refresh, revocation, storage, attacks,
 * and finally the gateway's whole log is searched for every token and code.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port";
import { Sealer } from "../../worker/upstream-auth/sealing";
import { formAction, formValue, HttpBrowser, type Page } from "../helpers/browser-http";
import { type Gateway, startGateway } from "../helpers/process";
import { startOAuthProvider, startOAuthUpstream, type UpstreamProcess } from "../helpers/upstream";
import { sleep, withTimeout } from "../helpers/wait";

const ACCESS_TTL_S = 4;
const TOKEN_KEY = randomBytes(32).toString("hex");
const TIMEOUT_MS = 30_000;
const tokens = {
  alice: randomBytes(24).toString("hex"),
  bob: randomBytes(24).toString("hex"),
  carol: randomBytes(24).toString("hex"),
  dave: randomBytes(24).toString("hex"),
  erin: randomBytes(24).toString("hex"),
};
type Who = keyof typeof tokens;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let provider: UpstreamProcess | undefined;
let upstream: UpstreamProcess | undefined;
let liar: UpstreamProcess | undefined;
let gateway: Gateway | undefined;
const clients: Client[] = [];

const PRE_CLIENT = { id: "gateway-pre", secret: randomBytes(16).toString("hex") };

beforeAll(async () => {
  const port = await freePort();
  provider = await startOAuthProvider({
    accessTtlSeconds: ACCESS_TTL_S,
    client: { ...PRE_CLIENT, redirectUri: `http://127.0.0.1:${port}/oauth/callback` },
  });
  [upstream, liar] = await Promise.all([
    startOAuthUpstream({ issuer: provider.url }),
    startOAuthUpstream({ issuer: provider.url, resource: "http://127.0.0.1:9/elsewhere" }),
  ]);
  gateway = await startGateway({
    port,
    vars: {
      AUTH_TOKEN_HASHES: Object.entries(tokens)
        .map(([who, token]) => `${who}:${sha256(token)}`)
        .join(","),
      UPSTREAM_TOKEN_KEY: TOKEN_KEY,
      PRE_CLIENT_SECRET: PRE_CLIENT.secret,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      UPSTREAMS: JSON.stringify([
        { name: "sec", url: upstream.url, prefix: "sec", auth: { type: "oauth", scopes: ["mcp"] } },
        { name: "liar", url: liar.url, prefix: "liar", auth: { type: "oauth" } },
        {
          name: "pre",
          url: upstream.url,
          prefix: "pre",
          auth: {
            type: "oauth",
            scopes: ["mcp"],
            clientId: PRE_CLIENT.id,
            clientSecret: "PRE_CLIENT_SECRET",
            issuer: provider.url,
          },
        },
      ]),
    },
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all([gateway?.stop(), provider?.stop(), upstream?.stop(), liar?.stop()]);
}, 60_000);

function gw(): Gateway {
  if (!gateway) throw new Error("gateway did not start");
  return gateway;
}

async function connect(who: Who, urlElicitation: boolean): Promise<Client> {
  const client = new Client(
    { name: `e2e-${who}`, version: "1" },
    { capabilities: urlElicitation ? { elicitation: { url: {} } } : {} },
  );
  const transport = new StreamableHTTPClientTransport(new URL(`${gw().url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${tokens[who]}` } },
  });
  await withTimeout(client.connect(transport), TIMEOUT_MS, `${who} to connect`);
  clients.push(client);
  return client;
}

function whoami(client: Client): Promise<CallToolResult> {
  return withTimeout(
    client.callTool({ name: "sec__whoami", arguments: {} }, undefined, {
      timeout: 60_000,
    }) as Promise<CallToolResult>,
    60_000,
    "sec__whoami",
  );
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

const isCallback = (url: string) => new URL(url).pathname === "/oauth/callback";
/** The authorization URL the gateway sent the browser to last (for checking its parameters). */
let lastAuthorizationUrl = "";

/** Opens the start link, continues, signs in as `login` and consents; returns the redirect to the callback. */
async function toCallback(browser: HttpBrowser, startUrl: string, login: string): Promise<string> {
  const confirm = await browser.request(startUrl);
  expect(confirm.status).toBe(200);
  let page: Page = await browser.request(`${gw().url}/oauth/start`, {
    form: { flow: formValue(confirm.text, "flow") },
  });
  lastAuthorizationUrl = page.location ?? "";
  page = await browser.follow(lastAuthorizationUrl, isCallback);
  for (let step = 0; step < 3 && !(page.location && isCallback(page.location)); step++) {
    const form: Record<string, string> = page.text.includes('name="login"')
      ? { prompt: "login", login, password: "any" }
      : { prompt: "consent" };
    page = await browser.follow(formAction(page.text, page.url), isCallback, form);
  }
  if (!page.location || !isCallback(page.location)) {
    throw new Error(
      `the flow did not reach the callback: ${page.status} ${page.text.slice(0, 300)}`,
    );
  }
  return page.location;
}

async function authorizeInBrowser(
  startUrl: string,
  login: string,
  browser = new HttpBrowser(),
): Promise<Page> {
  return browser.request(await toCallback(browser, startUrl, login));
}

function rpcError(error: unknown): McpError {
  if (!(error instanceof McpError)) throw error;
  return error;
}

/** A URL elicitation the gateway sends to `who`: from -32042 on a fresh client without URL support. */
async function startUrlFor(who: Who): Promise<string> {
  const client = await connect(who, false);
  const error = rpcError(await whoami(client).catch((e: unknown) => e));
  expect(error.code).toBe(-32042);
  const [elicitation] = (error.data as { elicitations: { url: string }[] }).elicitations;
  if (!elicitation) throw new Error("no elicitation in -32042");
  return elicitation.url;
}

async function seenByUpstream(): Promise<
  { sub: string | null; token: string | null; traceparent: string | null }[]
> {
  const response = await fetch(`${upstream?.url.replace(/\/mcp$/, "")}/_test/seen`);
  return response.json();
}

async function issuedByProvider(): Promise<{ codes: string[]; refreshTokens: string[] }> {
  const response = await fetch(`${provider?.url}/_test/issued`);
  return response.json();
}

async function authorizations(who: Who): Promise<{ authorizations: { upstream: string }[] }> {
  const response = await fetch(`${gw().url}/oauth/authorizations`, {
    headers: { Authorization: `Bearer ${tokens[who]}` },
  });
  expect(response.status).toBe(200);
  return response.json();
}

describe("OAuth to an upstream, per principal", () => {
  it("sends a client that declared URL elicitation to authorize on its first call, then completes the call", async () => {
    const client = await connect("alice", true);
    const elicited: { url: string; elicitationId: string }[] = [];
    const completed: string[] = [];
    let flow: Promise<Page> | undefined;
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      const params = request.params as { mode?: string; url: string; elicitationId: string };
      expect(params.mode).toBe("url");
      elicited.push(params);
      // Accept (consent to open the URL), then the user goes through the browser flow.
      flow = authorizeInBrowser(params.url, "alice-at-idp");
      return { action: "accept" };
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.push(n.params.elicitationId);
    });
    const result = await whoami(client);
    expect(textOf(result)).toBe("alice-at-idp");
    expect(elicited).toHaveLength(1);
    expect(new URL(elicited[0]?.url ?? "").origin).toBe(gw().url);
    expect((await flow)?.text).toContain("Authorized sec");
    expect(completed).toEqual([elicited[0]?.elicitationId]);
  });

  it("answers -32042 carrying the URL to a client without URL elicitation; the retry succeeds", async () => {
    const client = await connect("bob", false);
    const error = rpcError(await whoami(client).catch((e: unknown) => e));
    expect(error.code).toBe(-32042);
    const url =
      (error.data as { elicitations: { url: string; mode: string }[] }).elicitations[0]?.url ?? "";
    expect((await authorizeInBrowser(url, "bob-at-idp")).text).toContain("Authorized sec");
    expect(textOf(await whoami(client))).toBe("bob-at-idp");
  });

  it("authorizes as a pre-registered client (secret from a Worker secret) with PKCE S256 and the upstream as resource", async () => {
    const client = await connect("dave", false);
    const error = rpcError(
      await client.callTool({ name: "pre__whoami", arguments: {} }).catch((e: unknown) => e),
    );
    expect(error.code).toBe(-32042);
    const url = (error.data as { elicitations: { url: string }[] }).elicitations[0]?.url ?? "";
    expect((await authorizeInBrowser(url, "dave-at-idp")).text).toContain("Authorized pre");
    const sent = new URL(lastAuthorizationUrl).searchParams;
    expect(sent.get("client_id")).toBe(PRE_CLIENT.id);
    expect(sent.get("code_challenge_method")).toBe("S256");
    expect(sent.get("resource")).toBe(upstream?.url);
    expect(sent.get("scope")).toBe("mcp");
    const result = (await client.callTool({
      name: "pre__whoami",
      arguments: {},
    })) as CallToolResult;
    expect(textOf(result)).toBe("dave-at-idp");
  });

  it("lets a second session of the same principal call without new consent", async () => {
    const client = await connect("alice", false);
    expect(textOf(await whoami(client))).toBe("alice-at-idp");
  });

  it("carries the caller's trace context to the OAuth upstream in the header and in _meta", async () => {
    const client = await connect("alice", false);
    const traceId = randomBytes(16).toString("hex");
    const result = (await client.callTool({
      name: "sec__trace",
      arguments: {},
      _meta: { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` },
    })) as CallToolResult;
    const seen = result.structuredContent as { header: string; meta: string };
    expect(seen.header.split("-")[1]).toBe(traceId);
    expect(seen.meta.split("-")[1]).toBe(traceId);
  });

  it("lists an unauthorized upstream in _meta with its URL elicitation and a stand-in authorize tool", async () => {
    const client = await connect("carol", false);
    const listed = await client.listTools();
    const names = listed.tools.map((t) => t.name);
    expect(names).toContain("sec__authorize");
    expect(names).not.toContain("sec__whoami");
    const required = (listed._meta?.["dormouse/authorizationRequired"] ?? []) as {
      upstream: string;
      url: string;
    }[];
    expect(required.map((r) => r.upstream)).toContain("sec");
    expect(new URL(required.find((r) => r.upstream === "sec")?.url ?? "").pathname).toBe(
      "/oauth/start",
    );
    const alice = await connect("alice", false);
    expect((await alice.listTools()).tools.map((t) => t.name)).toContain("sec__whoami");
  });

  it("keeps each principal's identity apart under interleaved calls (A's token never on B's call)", async () => {
    const [alice, bob] = await Promise.all([connect("alice", false), connect("bob", false)]);
    const calls = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? { who: "alice", client: alice } : { who: "bob", client: bob },
    );
    const answers = await Promise.all(
      calls.map(async ({ who, client }) => ({ who, answer: textOf(await whoami(client)) })),
    );
    for (const { who, answer } of answers) expect(answer).toBe(`${who}-at-idp`);
    for (const entry of await seenByUpstream()) {
      if (!entry.token || !entry.sub) continue;
      const claims = JSON.parse(
        Buffer.from(entry.token.split(".")[1] ?? "", "base64url").toString(),
      );
      expect(claims.sub).toBe(entry.sub);
    }
  });

  it("refreshes an expired access token without the client noticing", async () => {
    const client = await connect("alice", false);
    const before = (await seenByUpstream())
      .filter((e) => e.sub === "alice-at-idp")
      .map((e) => e.token);
    await sleep(ACCESS_TTL_S * 1000 + 500);
    expect(textOf(await whoami(client))).toBe("alice-at-idp");
    const after = (await seenByUpstream())
      .filter((e) => e.sub === "alice-at-idp")
      .map((e) => e.token);
    expect(after.at(-1)).not.toBe(before.at(-1));
    expect(new Set(after).size).toBeGreaterThan(new Set(before).size);
  });

  it("refreshes when the upstream answers 401 to a live token, and the call still succeeds", async () => {
    const client = await connect("alice", false);
    await fetch(`${upstream?.url.replace(/\/mcp$/, "")}/_test/reject-next`, { method: "POST" });
    expect(textOf(await whoami(client))).toBe("alice-at-idp");
  });

  it("lists the principal's authorized upstreams without any token, and revoking ends access", async () => {
    const listed = await authorizations("bob");
    expect(listed.authorizations.map((a) => a.upstream)).toEqual(["sec"]);
    expect(JSON.stringify(listed)).not.toMatch(/eyJ/);
    const resource = await (await connect("bob", false)).readResource({
      uri: "dormouse://authorizations",
    });
    const shown = JSON.parse(String((resource.contents[0] as { text?: string }).text));
    expect(shown.authorizations.map((a: { upstream: string }) => a.upstream)).toEqual(["sec"]);
    const revoked = await fetch(`${gw().url}/oauth/authorizations/sec`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${tokens.bob}` },
    });
    expect(revoked.status).toBe(204);
    expect((await authorizations("bob")).authorizations).toEqual([]);
    const client = await connect("bob", false);
    expect(rpcError(await whoami(client).catch((e: unknown) => e)).code).toBe(-32042);
    // Alice's grant is untouched.
    expect((await authorizations("alice")).authorizations.map((a) => a.upstream)).toEqual(["sec"]);
  });

  it("keeps a revocation made while a refresh was in flight: the refreshed tokens are not saved", async () => {
    const as = provider;
    if (!as) throw new Error("provider did not start");
    const url = await startUrlFor("erin");
    expect((await authorizeInBrowser(url, "erin-at-idp")).text).toContain("Authorized sec");
    const client = await connect("erin", false);
    expect(textOf(await whoami(client))).toBe("erin-at-idp");
    // The access token expires: the next call refreshes it, at an authorization server
    // that stops answering for a while, and the user revokes meanwhile.
    await sleep(ACCESS_TTL_S * 1000 + 500);
    process.kill(as.pid, "SIGSTOP");
    let call: Promise<unknown> | undefined;
    let revoked: Promise<Response> | undefined;
    try {
      call = whoami(client).catch((e: unknown) => e);
      await sleep(500);
      revoked = fetch(`${gw().url}/oauth/authorizations/sec`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${tokens.erin}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      revoked.catch(() => {});
      await sleep(500);
    } finally {
      process.kill(as.pid, "SIGCONT");
    }
    expect((await revoked)?.status).toBe(204);
    const answer = await call;
    expect(rpcError(answer).code).toBe(-32042);
    expect((await authorizations("erin")).authorizations).toEqual([]);
    expect(rpcError(await whoami(client).catch((e: unknown) => e)).code).toBe(-32042);
  });

  it("stores tokens only sealed: no access token, refresh token or code appears in the gateway's files", async () => {
    const secrets = await allSecrets();
    expect(secrets.length).toBeGreaterThan(3);
    const files = await filesUnder(gw().persistDir);
    let principalsChecked = 0;
    for (const file of files) {
      const bytes = await readFile(file);
      if (file.includes("PrincipalObject")) principalsChecked++;
      for (const secret of secrets) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    }
    expect(principalsChecked).toBeGreaterThan(0);
  });
});

describe("OAuth to an upstream for 2026-07-28 requests", () => {
  function modern(id: number, who: Who, params: Record<string, unknown>, capabilities: object) {
    return fetch(`${gw().url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        Authorization: `Bearer ${tokens[who]}`,
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "sec__whoami",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name: "sec__whoami",
          arguments: {},
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": capabilities,
          },
        },
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  }

  async function resultOf(response: Response): Promise<Record<string, unknown>> {
    const text = await response.text();
    const line = text.split("\n").find((l) => l.startsWith("data: ")) ?? text;
    return JSON.parse(line.replace(/^data: /, ""));
  }

  it("answers input_required with a URL elicitation, and the accepting retry completes after the flow", async () => {
    const capabilities = { elicitation: { url: {} } };
    const first = await resultOf(await modern(1, "carol", {}, capabilities));
    const result = first.result as Record<string, unknown>;
    expect(result.resultType).toBe("input_required");
    const input = (
      result.inputRequests as Record<
        string,
        { method: string; params: { mode: string; url: string } }
      >
    )["upstream-authorize"];
    expect(input?.method).toBe("elicitation/create");
    expect(input?.params.mode).toBe("url");
    expect((await authorizeInBrowser(input?.params.url ?? "", "carol-at-idp")).text).toContain(
      "Authorized sec",
    );
    const retry = await resultOf(
      await modern(
        2,
        "carol",
        {
          inputResponses: { "upstream-authorize": { action: "accept" } },
          requestState: result.requestState,
        },
        capabilities,
      ),
    );
    expect(JSON.stringify(retry.result)).toContain("carol-at-idp");
  });

  it("answers -32021 to a 2026-07-28 client that cannot open URLs", async () => {
    await fetch(`${gw().url}/oauth/authorizations/sec`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${tokens.carol}` },
    });
    const answer = await resultOf(await modern(3, "carol", {}, {}));
    expect((answer.error as { code: number }).code).toBe(-32021);
  });
});

describe("attacks on the authorization flow", () => {
  it("refuses a callback without a state, and one with a forged state", async () => {
    const browser = new HttpBrowser();
    const missing = await browser.request(`${gw().url}/oauth/callback?code=abc`);
    expect(missing.status).toBe(400);
    const forged = await browser.request(
      `${gw().url}/oauth/callback?code=abc&state=eyJrIjoic3RhdGUifQ.AAAA`,
    );
    expect(forged.status).toBe(400);
    const otherKey = await new Sealer(randomBytes(32).toString("hex")).sign({
      k: "state",
      p: "alice",
      f: "x",
      n: "y",
      e: Date.now() + 60_000,
    });
    expect(
      (await browser.request(`${gw().url}/oauth/callback?code=abc&state=${otherKey}`)).status,
    ).toBe(400);
  });

  it("refuses an expired state even when it is correctly signed", async () => {
    const expired = await new Sealer(TOKEN_KEY).sign({
      k: "state",
      p: "bob",
      f: "f",
      n: "n",
      e: Date.now() - 1,
    });
    const page = await new HttpBrowser().request(
      `${gw().url}/oauth/callback?code=abc&state=${expired}`,
    );
    expect(page.status).toBe(400);
    expect(page.text).toContain("no valid state");
  });

  it("refuses a state used twice", async () => {
    const browser = new HttpBrowser();
    const callback = await toCallback(browser, await startUrlFor("bob"), "bob-at-idp");
    expect((await browser.request(callback)).text).toContain("Authorized sec");
    const replayed = await browser.request(callback);
    expect(replayed.status).toBe(400);
    expect(replayed.text).toContain("expired or was already used");
  });

  it("refuses a state issued for alice when another browser completes it, and alice gets no grant", async () => {
    await Promise.all([revoke("alice"), revoke("bob")]);
    const aliceBrowser = new HttpBrowser();
    const confirm = await aliceBrowser.request(await startUrlFor("alice"));
    const toServer = await aliceBrowser.request(`${gw().url}/oauth/start`, {
      form: { flow: formValue(confirm.text, "flow") },
    });
    expect(toServer.status).toBe(303);
    // Bob's browser (which holds only its own binder cookie) signs in with alice's authorization URL.
    const bobBrowser = new HttpBrowser();
    await toCallback(bobBrowser, await startUrlFor("bob"), "bob-at-idp").catch(() => {});
    let page = await bobBrowser.follow(toServer.location ?? "", isCallback);
    for (let step = 0; step < 3 && !(page.location && isCallback(page.location)); step++) {
      const form: Record<string, string> = page.text.includes('name="login"')
        ? { prompt: "login", login: "bob-at-idp", password: "x" }
        : { prompt: "consent" };
      page = await bobBrowser.follow(formAction(page.text, page.url), isCallback, form);
    }
    const refused = await bobBrowser.request(page.location ?? "");
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("started in another browser");
    expect((await authorizations("alice")).authorizations).toEqual([]);
  });

  it("refuses a replayed authorization code under a fresh state", async () => {
    const browser = new HttpBrowser();
    const first = await toCallback(browser, await startUrlFor("alice"), "alice-at-idp");
    expect((await browser.request(first)).text).toContain("Authorized sec");
    await revoke("alice");
    const second = new URL(await toCallback(browser, await startUrlFor("alice"), "alice-at-idp"));
    second.searchParams.set("code", new URL(first).searchParams.get("code") ?? "");
    const replayed = await browser.request(second.toString());
    expect(replayed.status).toBe(400);
    expect((await authorizations("alice")).authorizations).toEqual([]);
  });

  it("refuses an upstream whose metadata names a different resource, before any authorization", async () => {
    const client = await connect("alice", true);
    let elicited = false;
    client.setRequestHandler(ElicitRequestSchema, () => {
      elicited = true;
      return { action: "decline" };
    });
    const error = rpcError(
      await client.callTool({ name: "liar__whoami", arguments: {} }).catch((e: unknown) => e),
    );
    expect(error.code).toBe(-32030);
    expect(error.message).toContain("names a different resource");
    expect(elicited).toBe(false);
  });

  it("never writes a token, refresh token or authorization code to the gateway's log", async () => {
    const log = gw().fullLog();
    expect(log).toContain("upstream_authorized");
    for (const secret of [...(await allSecrets()), PRE_CLIENT.secret, TOKEN_KEY]) {
      expect(log.includes(secret)).toBe(false);
    }
  });
});

async function revoke(who: Who): Promise<void> {
  await fetch(`${gw().url}/oauth/authorizations/sec`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${tokens[who]}` },
  });
}

async function allSecrets(): Promise<string[]> {
  const issued = await issuedByProvider();
  const seen = (await seenByUpstream()).map((e) => e.token).filter((t): t is string => !!t);
  return [...new Set([...seen, ...issued.codes, ...issued.refreshTokens])];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}
