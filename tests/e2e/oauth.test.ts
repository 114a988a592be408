/**
 * OAuth 2.1 resource-server path against a real gateway: a local JWKS server
 * (node:http on loopback) stands in for the authorization server's keys, and
 * access tokens are signed with jose, as an authorization server would.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";

const ISSUER = "https://issuer.dormouse.test";
const AUDIENCE = "dormouse-e2e";
const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "e2e", version: "1" },
  },
};

let gateway: Gateway;
let jwksServer: Server;
let privateKey: CryptoKey;
let otherKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair("ES256")).privateKey;
  const jwk: JWK = {
    ...(await exportJWK(pair.publicKey)),
    kid: "test-key",
    alg: "ES256",
    use: "sig",
  };
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  const { port } = jwksServer.address() as AddressInfo;
  gateway = await startGateway({
    vars: {
      OAUTH_ISSUER: ISSUER,
      OAUTH_AUDIENCE: AUDIENCE,
      OAUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`,
    },
  });
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise<void>((resolve) => jwksServer?.close(() => resolve()));
});

function token(claims: { sub?: string; aud?: string; exp?: number | null; key?: CryptoKey } = {}) {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "test-key" })
    .setIssuer(ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject(claims.sub ?? "alice")
    .setIssuedAt();
  // exp: null signs a token that never expires.
  if (claims.exp !== null) jwt.setExpirationTime(claims.exp ?? "5m");
  return jwt.sign(claims.key ?? privateKey);
}

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

describe("OAuth resource server", () => {
  it("publishes protected-resource metadata naming the authorization server", async () => {
    const response = await fetch(`${gateway.url}/.well-known/oauth-protected-resource`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      resource: AUDIENCE,
      authorization_servers: [ISSUER],
      bearer_methods_supported: ["header"],
    });
  });

  it("answers 401 pointing at the metadata when no token is sent", async () => {
    const response = await post(INIT);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(
      /resource_metadata=".*\/\.well-known\/oauth-protected-resource"/,
    );
  });

  it("serves a request with a valid access token", async () => {
    const response = await post(INIT, { Authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(200);
    expect(response.headers.get("Mcp-Session-Id")).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ["another audience", { aud: "someone-else" }],
    ["an expired token", { exp: Math.floor(Date.now() / 1000) - 60 }],
    ["a token with no expiry (exp)", { exp: null }],
    ["a key the issuer never published", { key: "other" as const }],
  ])("refuses %s with 401 invalid_token", async (_name, claims) => {
    const { key, ...rest } = claims as { key?: "other"; aud?: string; exp?: number | null };
    const jwt = await token({ ...rest, ...(key ? { key: otherKey } : {}) });
    const response = await post(INIT, { Authorization: `Bearer ${jwt}` });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });

  it("keeps one subject's session out of another subject's reach (404)", async () => {
    const created = await post(INIT, { Authorization: `Bearer ${await token({ sub: "alice" })}` });
    const sessionId = created.headers.get("Mcp-Session-Id") ?? "";
    const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
    const intruder = await post(ping, {
      Authorization: `Bearer ${await token({ sub: "mallory" })}`,
      "Mcp-Session-Id": sessionId,
    });
    expect(intruder.status).toBe(404);
    const owner = await post(ping, {
      Authorization: `Bearer ${await token({ sub: "alice" })}`,
      "Mcp-Session-Id": sessionId,
    });
    expect(owner.status).toBe(200);
  });
});
