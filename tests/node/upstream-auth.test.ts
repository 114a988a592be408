/**
 * The pure parts of upstream OAuth: sealing (AES-GCM bound to its context,
 * HMAC-signed tokens), the RFC 9728 resource check, WWW-Authenticate parsing,
 * and discovery against a scripted fetch (each refusal the client must make).
 */
import { describe, expect, it } from "vitest";
import type { Upstream } from "../../worker/config/upstreams";
import { planFor } from "../../worker/upstream-auth/client-identity";
import {
  AuthorizationFailure,
  discover,
  parseChallenge,
  resourceAllowed,
} from "../../worker/upstream-auth/discovery";
import { clientMetadataDocument } from "../../worker/upstream-auth/plan";
import { Sealer } from "../../worker/upstream-auth/sealing";

const sealer = new Sealer("a".repeat(64));

describe("sealing", () => {
  it("opens what it sealed only under the same context", async () => {
    const sealed = await sealer.seal("secret-token", "grant\u0000alice\u0000sec");
    expect(sealed).not.toContain("secret-token");
    expect(await sealer.unseal(sealed, "grant\u0000alice\u0000sec")).toBe("secret-token");
    expect(await sealer.unseal(sealed, "grant\u0000bob\u0000sec")).toBeNull();
    expect(await new Sealer("b".repeat(64)).unseal(sealed, "grant\u0000alice\u0000sec")).toBeNull();
  });

  it("seals the same text differently each time (random IV)", async () => {
    expect(await sealer.seal("x", "c")).not.toBe(await sealer.seal("x", "c"));
  });

  it("verifies its own signatures and refuses tampered or foreign ones", async () => {
    const token = await sealer.sign({ k: "state", p: "alice" });
    expect(await sealer.verify(token)).toEqual({ k: "state", p: "alice" });
    const [body, mac] = token.split(".");
    const forged = `${Buffer.from(JSON.stringify({ k: "state", p: "bob" })).toString("base64url")}.${mac}`;
    expect(await sealer.verify(forged)).toBeNull();
    expect(await sealer.verify(`${body}.AAAA`)).toBeNull();
    expect(await new Sealer("c".repeat(64)).verify(token)).toBeNull();
  });
});

describe("discovery helpers", () => {
  it.each([
    ["http://h:1/mcp", "http://h:1/mcp", true],
    ["http://h:1/mcp", "http://h:1/", true],
    ["http://h:1/mcp/x", "http://h:1/mcp", true],
    ["http://h:1/mcp", "http://h:1/mcpx", false],
    ["http://h:1/mcp", "http://h:2/mcp", false],
    ["http://h:1/mcp", "http://other:1/mcp", false],
  ])("resource check: upstream %s, metadata %s -> %s", (upstream, resource, ok) => {
    expect(resourceAllowed(upstream, resource)).toBe(ok);
  });

  it("reads the auth-params of a Bearer challenge, quoted or not", () => {
    expect(
      parseChallenge(
        'Bearer resource_metadata="http://h/.well-known/x", scope=mcp, error="invalid_token"',
      ),
    ).toEqual({
      resource_metadata: "http://h/.well-known/x",
      scope: "mcp",
      error: "invalid_token",
    });
    expect(parseChallenge("Basic realm=x")).toEqual({});
    expect(parseChallenge(null)).toEqual({});
  });
});

describe("discovery", () => {
  const upstream = (name: string): Upstream =>
    ({
      name,
      url: "http://rs.test/mcp",
      prefix: name,
      timeoutMs: 1_000,
      maxRequestMs: 1_000,
      headers: {},
      auth: { type: "oauth", scopes: [] },
    }) as unknown as Upstream;

  function fetcher(documents: Record<string, unknown>) {
    return async (url: string) =>
      url in documents
        ? new Response(JSON.stringify(documents[url]), { status: 200 })
        : new Response("not found", { status: 404 });
  }

  const server = {
    issuer: "http://as.test",
    authorization_endpoint: "http://as.test/auth",
    token_endpoint: "http://as.test/token",
    code_challenge_methods_supported: ["S256"],
    response_types_supported: ["code"],
    scopes_supported: ["a"],
  };
  const resource = {
    resource: "http://rs.test/mcp",
    authorization_servers: ["http://as.test"],
    scopes_supported: ["mcp"],
  };

  it("follows resource_metadata, falls back from RFC 8414 to OpenID discovery, and picks scopes", async () => {
    const found = await discover(
      upstream("ok"),
      'Bearer resource_metadata="http://rs.test/prm"',
      fetcher({
        "http://rs.test/prm": resource,
        "http://as.test/.well-known/openid-configuration": server,
      }),
    );
    expect(found).toMatchObject({
      issuer: "http://as.test",
      resource: "http://rs.test/mcp",
      scope: "mcp",
    });
  });

  it.each([
    [
      "metadata for another resource",
      { ...resource, resource: "http://evil.test/mcp" },
      server,
      /different resource/,
    ],
    [
      "an issuer that differs from its URL",
      resource,
      { ...server, issuer: "http://other.test" },
      /another issuer/,
    ],
    ["no PKCE S256", resource, { ...server, code_challenge_methods_supported: ["plain"] }, /PKCE/],
    [
      "no authorization server",
      { ...resource, authorization_servers: [] },
      server,
      /no authorization server/,
    ],
  ])("refuses %s", async (name, prm, as, message) => {
    const attempt = discover(
      upstream(name.replace(/\W/g, "")),
      null,
      fetcher({
        "http://rs.test/.well-known/oauth-protected-resource/mcp": prm,
        "http://as.test/.well-known/oauth-authorization-server": as,
      }),
    );
    await expect(attempt).rejects.toBeInstanceOf(AuthorizationFailure);
    await expect(attempt).rejects.toThrow(message);
  });

  it("refuses endless metadata after reading a bounded part of it, not the whole body", async () => {
    const chunk = new TextEncoder().encode(`{"pad":"${"x".repeat(16 * 1024)}`);
    let pulled = 0;
    const endless = () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += chunk.byteLength;
          // A server that would send forever: stop the test if the reader never does.
          if (pulled > 64 * 1024 * 1024) controller.error(new Error("read 64 MiB"));
          else controller.enqueue(chunk);
        },
      });
    const documents = fetcher({
      "http://rs.test/.well-known/oauth-protected-resource/mcp": resource,
    });
    const attempt = discover(upstream("endless"), null, async (url: string) =>
      url === "http://as.test/.well-known/oauth-authorization-server"
        ? new Response(endless(), { status: 200 })
        : documents(url),
    );
    await expect(attempt).rejects.toThrow(/too large/);
    expect(pulled).toBeLessThan(1024 * 1024);
  });
});

describe("client identity", () => {
  const base = {
    issuer: "https://as.test",
    server: {
      issuer: "https://as.test",
      authorization_endpoint: "https://as.test/auth",
      token_endpoint: "https://as.test/token",
      registration_endpoint: "https://as.test/reg",
      client_id_metadata_document_supported: true,
      token_endpoint_auth_methods_supported: ["client_secret_basic", "none"],
    },
    resource: "http://rs.test/mcp",
    scope: "mcp",
  };
  const upstream = (auth: Record<string, unknown>) =>
    ({
      name: "sec",
      url: "http://rs.test/mcp",
      prefix: "sec",
      headers: {},
      auth,
    }) as unknown as Upstream;
  const registrations: string[] = [];
  const register = async (request: { upstream: string }) => {
    registrations.push(request.upstream);
    return {
      ok: true as const,
      clientId: "dcr-client",
      clientSecret: "dcr-secret",
      authMethod: "client_secret_basic" as const,
    };
  };

  it("prefers the pre-registered client, whose secret stays a name", async () => {
    const plan = await planFor(
      upstream({
        type: "oauth",
        clientId: "gw",
        clientSecret: "GW_SECRET",
        issuer: "https://as.test/",
      }),
      base,
      {
        publicUrl: "https://gw.example",
        register,
      },
    );
    expect(plan).toMatchObject({
      clientId: "gw",
      secretName: "GW_SECRET",
      authMethod: "client_secret_basic",
    });
    expect(plan.registeredSecret).toBeUndefined();
    expect(registrations).toEqual([]);
  });

  it("refuses an authorization server other than the one the pre-registered client belongs to", async () => {
    // The upstream's metadata names the server: a compromised upstream must not get the secret.
    const attempt = planFor(
      upstream({
        type: "oauth",
        clientId: "gw",
        clientSecret: "GW_SECRET",
        issuer: "https://login.example",
      }),
      base,
      { publicUrl: "https://gw.example", register },
    );
    await expect(attempt).rejects.toThrow(/names the authorization server https:\/\/as\.test/);
    expect(registrations).toEqual([]);
  });

  it("refuses an authorization server on plain http when the gateway is served over https", async () => {
    const plain = {
      ...base,
      server: { ...base.server, token_endpoint: "http://as.test/token" },
    };
    await expect(
      planFor(upstream({ type: "oauth" }), plain, { publicUrl: "https://gw.example", register }),
    ).rejects.toThrow(/not served over https \(http:\/\/as\.test\)/);
  });

  it("uses its own Client ID Metadata Document when the server supports them and PUBLIC_URL is https", async () => {
    const plan = await planFor(upstream({ type: "oauth" }), base, {
      publicUrl: "https://gw.example",
      register,
    });
    expect(plan).toMatchObject({
      clientId: "https://gw.example/oauth/client-metadata.json",
      authMethod: "none",
      redirectUri: "https://gw.example/oauth/callback",
    });
    expect(registrations).toEqual([]);
  });

  it("falls back to dynamic registration otherwise", async () => {
    const plan = await planFor(upstream({ type: "oauth" }), base, {
      publicUrl: "http://127.0.0.1:8787",
      register,
    });
    expect(plan).toMatchObject({ clientId: "dcr-client", registeredSecret: "dcr-secret" });
    expect(registrations).toEqual(["sec"]);
  });

  it("serves a metadata document naming exactly its client id and callback", () => {
    expect(clientMetadataDocument("https://gw.example")).toMatchObject({
      client_id: "https://gw.example/oauth/client-metadata.json",
      redirect_uris: ["https://gw.example/oauth/callback"],
      token_endpoint_auth_method: "none",
    });
  });
});
