/**
 * An MCP server that accepts only access tokens of one authorization server
 * (the tests' oidc-provider): JWTs checked with jose against its JWKS, `iss`
 * that server, `aud` this server's /mcp URL. Without a valid token it answers
 * 401 with `WWW-Authenticate: Bearer resource_metadata=...` and publishes its
 * protected-resource metadata (RFC 9728), so clients discover the server.
 *
 * Tools: `whoami` (the `sub` of the token that came with this very request)
 * and `trace` (the traceparent header and `_meta` it received).
 *
 * Test-only endpoints: GET /_test/seen (every /mcp request: sub, the token,
 * traceparent), POST /_test/reject-next (answer the next valid request 401,
 * as after a revocation the server hears of).
 *
 * Usage: node tests/upstreams/oauth-upstream.ts --port N --issuer URL
 *        [--resource URL] (advertise another resource in its metadata: an attack)
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  isInitializeRequest,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { createRemoteJWKSet, jwtVerify } from "jose";

const HOST = "127.0.0.1";
const { values } = parseArgs({
  options: {
    port: { type: "string" },
    issuer: { type: "string" },
    resource: { type: "string" },
  },
});
const port = Number(values.port);
const issuer = values.issuer ?? "";
if (!Number.isInteger(port) || !issuer) {
  console.error("usage: oauth-upstream.ts --port N --issuer URL [--resource URL]");
  process.exit(2);
}
const self = `http://${HOST}:${port}/mcp`;
const metadataUrl = `http://${HOST}:${port}/.well-known/oauth-protected-resource/mcp`;
const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));

interface Seen {
  sub: string | null;
  token: string | null;
  traceparent: string | null;
  method: string | null;
}
const seen: Seen[] = [];
let rejectNext = false;
const transports = new Map<string, StreamableHTTPServerTransport>();

function createMcpServer(): Server {
  const server = new Server(
    { name: "oauth-upstream", version: "1.0.0" },
    { capabilities: { tools: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: "whoami",
        description: "The subject of the caller's token.",
        inputSchema: { type: "object", properties: {} },
      },
      {
        name: "trace",
        description: "The trace context this call carried.",
        inputSchema: { type: "object", properties: {} },
      },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const sub = String(extra.authInfo?.extra?.sub ?? "");
    if (request.params.name === "whoami") {
      return { content: [{ type: "text", text: sub }], structuredContent: { sub } };
    }
    if (request.params.name === "trace") {
      const header = extra.requestInfo?.headers.traceparent;
      const meta = (request.params._meta ?? {}) as Record<string, unknown>;
      const result = {
        header: typeof header === "string" ? header : null,
        meta: meta.traceparent ?? null,
      };
      return {
        content: [{ type: "text", text: JSON.stringify(result) }],
        structuredContent: result,
      };
    }
    throw new Error(`unknown tool ${request.params.name}`);
  });
  return server;
}

function challenge(res: ServerResponse, invalid: boolean): void {
  const error = invalid ? ', error="invalid_token"' : "";
  res
    .writeHead(401, {
      "content-type": "text/plain",
      "www-authenticate": `Bearer resource_metadata="${metadataUrl}", scope="mcp"${error}`,
    })
    .end("unauthorized");
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const authorization = req.headers.authorization ?? "";
  const token = /^Bearer (\S+)$/.exec(authorization)?.[1] ?? null;
  const traceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : null;
  let sub: string | null = null;
  if (token) {
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: self });
      sub = typeof payload.sub === "string" ? payload.sub : null;
    } catch {
      sub = null;
    }
  }
  const body = req.method === "POST" ? await readBody(req) : undefined;
  const method = body && typeof body === "object" && "method" in body ? String(body.method) : null;
  seen.push({ sub, token, traceparent, method });
  if (!sub || rejectNext) {
    rejectNext = false;
    return challenge(res, token !== null);
  }
  (req as IncomingMessage & { auth?: unknown }).auth = {
    token,
    clientId: "gateway",
    scopes: ["mcp"],
    extra: { sub },
  };
  const sessionId = req.headers["mcp-session-id"];
  if (typeof sessionId === "string") {
    const transport = transports.get(sessionId);
    if (!transport) {
      res.writeHead(404, { "content-type": "application/json" }).end(
        JSON.stringify({
          jsonrpc: "2.0",
          id: null,
          error: { code: -32001, message: "Session not found" },
        }),
      );
      return;
    }
    return transport.handleRequest(req, res, body);
  }
  if (!isInitializeRequest(body)) {
    res.writeHead(400).end("initialize first");
    return;
  }
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id): void => {
      transports.set(id, transport);
    },
  });
  await createMcpServer().connect(transport);
  await transport.handleRequest(req, res, body);
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? "/", `http://${HOST}`).pathname;
  if (path.startsWith("/.well-known/oauth-protected-resource")) {
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        resource: values.resource ?? self,
        authorization_servers: [issuer],
        scopes_supported: ["mcp"],
        bearer_methods_supported: ["header"],
      }),
    );
    return;
  }
  if (path === "/_test/seen") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(seen));
    return;
  }
  if (path === "/_test/reject-next" && req.method === "POST") {
    rejectNext = true;
    res.writeHead(204).end();
    return;
  }
  if (path !== "/mcp") {
    res.writeHead(404).end("not found");
    return;
  }
  handleMcp(req, res).catch((error: unknown) => {
    console.error("oauth-upstream: request failed:", error);
    if (!res.headersSent) res.writeHead(500).end("internal error");
    else res.end();
  });
});
server.listen(port, HOST, () => console.error(`oauth-upstream listening on ${port}`));
