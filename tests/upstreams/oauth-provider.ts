/**
 * A real OpenID Provider (oidc-provider, certified) on loopback, run as a
 * process by the OAuth end-to-end tests as an upstream's authorization server.
 *
 * Its own interactive login and consent pages (oidc-provider's
 * devInteractions: any login name, any password; then a consent form) are
 * what the tests, and the browser test, go through. Dynamic client
 * registration, revocation and resource indicators (RFC 8707: JWT access
 * tokens whose `aud` is the requested resource) are on; PKCE is required;
 * access tokens live `--access-ttl` seconds so the tests can see them expire;
 * refresh tokens are issued to every client allowed the grant.
 *
 * Test-only: GET /_test/issued lists the authorization codes and refresh
 * tokens it issued, so tests can prove none of them shows up in the gateway's
 * storage or logs.
 *
 * Usage: node tests/upstreams/oauth-provider.ts --port N [--access-ttl S]
 *        [--client id:secret:redirect_uri] (a pre-registered confidential client)
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import Provider from "oidc-provider";

const HOST = "127.0.0.1";
const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "access-ttl": { type: "string", default: "60" },
    client: { type: "string" },
  },
});
const port = Number(values.port);
const accessTtl = Number(values["access-ttl"]);
if (!Number.isInteger(port) || !(accessTtl > 0)) {
  console.error("usage: oauth-provider.ts --port N [--access-ttl S] [--client id:secret:redirect]");
  process.exit(2);
}
const issuer = `http://${HOST}:${port}`;

const clients = [];
if (values.client) {
  const [clientId, secret, ...redirect] = values.client.split(":");
  clients.push({
    client_id: clientId,
    client_secret: secret,
    redirect_uris: [redirect.join(":")],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  });
}

const issued = { codes: [] as string[], refreshTokens: [] as string[] };

const provider = new Provider(issuer, {
  clients,
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => ({
        scope: "mcp",
        audience: resourceIndicator,
        accessTokenTTL: accessTtl,
        accessTokenFormat: "jwt",
      }),
    },
  },
  scopes: ["openid", "offline_access", "mcp"],
  pkce: { required: () => true },
  issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
    client.grantTypeAllowed("refresh_token"),
  ttl: {
    AccessToken: accessTtl,
    AuthorizationCode: 60,
    RefreshToken: 3600,
    Grant: 3600,
    Session: 3600,
    Interaction: 600,
    IdToken: 600,
  },
  findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
  cookies: { keys: ["dormouse-tests-cookie-key"] },
  renderError: (ctx: { type: string; body: string }, out: Record<string, string>) => {
    ctx.type = "text/plain";
    ctx.body = `error: ${out.error}: ${out.error_description ?? ""}`;
  },
});

provider.on("authorization_code.saved", (code: { jti: string }) => {
  issued.codes.push(code.jti);
});
provider.on("refresh_token.saved", (token: { jti: string }) => {
  issued.refreshTokens.push(token.jti);
});
for (const event of ["server_error", "grant.error"]) {
  provider.on(event, (_ctx: unknown, error: Error) =>
    console.error(`oauth-provider ${event}:`, error.message),
  );
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url === "/_test/issued") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(issued));
    return;
  }
  callback(req, res);
});
server.listen(port, HOST, () => console.error(`oauth-provider listening on ${port}`));
