/**
 * A session-era MCP server over Streamable HTTP, run as a real process (see
 * `tests/helpers/upstream.ts`) so the gateway's federation tests have an
 * upstream whose behaviour they fully control.
 *
 * Stateful like server-everything's streamableHttp transport: one low-level
 * `Server` and one server transport per Mcp-Session-Id, each session with its
 * own remembered value and its own grown tools. An unknown session id answers
 * 404 and a POST with no session id that is not `initialize` answers 400, both
 * with a JSON-RPC error body. tools/list is paginated (PAGE_SIZE per page, an
 * opaque cursor) so that clients, and the gateway, must follow nextCursor.
 * Call counters are process-wide and reset only when the process restarts.
 *
 * Modes: `normal`; `garbage` answers every /mcp request 200 with a JSON
 * Content-Type and a body that is not JSON; `hang` reads every /mcp request
 * and never answers, leaving the socket open; `chatty` is normal except that
 * tools/list and tools/call are answered with an SSE stream carrying a
 * notifications/message every 100 ms and never a result; `busy` is the same with
 * notifications/progress instead (it looks like work, forever); `redirect` answers
 * every /mcp request 307 to `--redirect-to`; `stall-replies` is normal except
 * that the client's answers to this server's requests are never acknowledged.
 *
 * Usage: node tests/upstreams/stateful-upstream.ts --port N
 *        [--mode normal|garbage|hang|chatty|busy|redirect] [--redirect-to URL]
 *        [--require-header name=value] (anything without that header: 401)
 * Runs on Node's type stripping, so it must stay erasable TypeScript (no enums,
 * no parameter properties, no namespaces).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";

const HOST = "127.0.0.1";
const MCP_PATH = "/mcp";
const PAGE_SIZE = 4;
const STATE_URI = "state://value";
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** MCP's "resource not found" (spec: server/resources, Error Handling). */
const RESOURCE_NOT_FOUND = -32002;
/** What the SDK's own transport answers for an unknown session. */
const SESSION_NOT_FOUND = -32001;

const MODES = ["normal", "garbage", "hang", "chatty", "busy", "redirect", "stall-replies"] as const;
/** Gap between the chatty mode's log messages. */
const CHATTER_MS = 100;
const CHATTY_METHODS = new Set(["tools/list", "tools/call"]);
type Mode = (typeof MODES)[number];

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

interface Session {
  transport: StreamableHTTPServerTransport;
  value: string | null;
  /** How many `extra_<n>` tools `grow` has added to this session. */
  extras: number;
}

interface CallContext {
  args: Record<string, unknown>;
  session: Session;
  server: Server;
  extra: Extra;
}

type ToolHandler = (call: CallContext) => CallToolResult | Promise<CallToolResult>;

/** Process-wide counters, read through the `stats` tool. */
const stats = { calls: 0, cancelled: 0, running: 0 };
const sessions = new Map<string, Session>();

// ---------------------------------------------------------------------------
// Tools

function objectSchema(properties: Record<string, object> = {}, required: string[] = []) {
  return { type: "object" as const, properties, required };
}

const INTEGER = { type: "integer", minimum: 0 };

const STATIC_TOOLS: Tool[] = [
  {
    name: "remember",
    description: "Stores a value for this session.",
    inputSchema: objectSchema({ value: { type: "string" } }, ["value"]),
  },
  { name: "recall", description: "Returns this session's value.", inputSchema: objectSchema() },
  {
    name: "slow",
    description: "Waits `ms` milliseconds; stops early when cancelled.",
    inputSchema: objectSchema({ ms: INTEGER }, ["ms"]),
  },
  {
    name: "stats",
    description:
      "Process-wide counters: tools/call count, cancelled and running slow calls, live sessions.",
    inputSchema: objectSchema(),
  },
  {
    name: "count_down",
    description: "Sends a progress notification and a log message per step.",
    inputSchema: objectSchema({ steps: INTEGER, intervalMs: INTEGER }, ["steps", "intervalMs"]),
  },
  {
    name: "ask_name",
    description: "Asks the client for a name through elicitation.",
    inputSchema: objectSchema(),
  },
  {
    name: "grow",
    description: "Adds a tool extra_<n> to this session and announces tools/list_changed.",
    inputSchema: objectSchema(),
  },
  {
    name: "header",
    description: "Returns the value of an HTTP header of this tools/call request.",
    inputSchema: objectSchema({ name: { type: "string" } }, ["name"]),
  },
  ...["t01", "t02", "t03", "t04", "t05"].map((name) => ({
    name,
    description: `Returns "${name}".`,
    inputSchema: objectSchema(),
  })),
];

function toolsOf(session: Session): Tool[] {
  const extras = Array.from({ length: session.extras }, (_, i) => ({
    name: `extra_${i + 1}`,
    description: `Added by grow call ${i + 1}.`,
    inputSchema: objectSchema(),
  }));
  return [...STATIC_TOOLS, ...extras];
}

function text(body: string, structuredContent?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: body }],
    ...(structuredContent && { structuredContent }),
  };
}

function stringArg(args: Record<string, unknown>, key: string): string {
  const value = args[key];
  if (typeof value !== "string") throw new McpError(ErrorCode.InvalidParams, `${key}: a string`);
  return value;
}

function countArg(args: Record<string, unknown>, key: string): number {
  const value = args[key];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0)
    throw new McpError(ErrorCode.InvalidParams, `${key}: a non-negative integer`);
  return value;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const TOOL_HANDLERS: Record<string, ToolHandler> = {
  remember({ args, session, extra }) {
    session.value = stringArg(args, "value");
    return text(`remembered ${session.value}`, { sessionId: extra.sessionId });
  },
  recall({ session, extra }) {
    return text(session.value ?? "(nothing)", {
      value: session.value,
      sessionId: extra.sessionId,
    });
  },
  async slow({ args, extra }) {
    const ms = countArg(args, "ms");
    stats.running += 1;
    try {
      if (await sleepUnlessAborted(ms, extra.signal)) return text(`slept ${ms}`);
      stats.cancelled += 1;
      // Never sent: the SDK drops the response to a cancelled request.
      return text("cancelled");
    } finally {
      stats.running -= 1;
    }
  },
  stats() {
    // `sessions`: upstream sessions alive now (a DELETE ends one).
    const now = { ...stats, sessions: sessions.size };
    return text(JSON.stringify(now), now);
  },
  async count_down({ args, extra }) {
    const steps = countArg(args, "steps");
    const intervalMs = countArg(args, "intervalMs");
    const progressToken = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (!(await sleepUnlessAborted(intervalMs, extra.signal))) return text("cancelled");
      // extra.sendNotification ties both to this request, so they ride its response stream.
      if (progressToken !== undefined)
        await extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken, progress: i, total: steps, message: `step ${i}` },
        });
      await extra.sendNotification({
        method: "notifications/message",
        params: { level: "info", logger: "count_down", data: `step ${i}` },
      });
    }
    return text(`done ${steps}`);
  },
  async ask_name({ server, extra }) {
    if (!server.getClientCapabilities()?.elicitation)
      return { isError: true, ...text("ask_name needs a client with the elicitation capability") };
    const answer = await extra.sendRequest(
      {
        method: "elicitation/create",
        params: {
          message: "What is your name?",
          requestedSchema: {
            type: "object",
            properties: { name: { type: "string" } },
            required: ["name"],
          },
        },
      },
      ElicitResultSchema,
    );
    if (answer.action === "accept") return text(`hello ${String(answer.content?.name ?? "")}`);
    return text(answer.action === "decline" ? "declined" : "cancelled");
  },
  async grow({ session, extra }) {
    session.extras += 1;
    await extra.sendNotification({ method: "notifications/tools/list_changed" });
    return text(`added extra_${session.extras}`);
  },
  header({ args, extra }) {
    const value = extra.requestInfo?.headers[stringArg(args, "name").toLowerCase()];
    if (value === undefined) return text("(absent)");
    return text(Array.isArray(value) ? value.join(", ") : value);
  },
};

function handlerFor(name: string, session: Session): ToolHandler | undefined {
  const own = Object.hasOwn(TOOL_HANDLERS, name) ? TOOL_HANDLERS[name] : undefined;
  if (own) return own;
  if (/^t0[1-5]$/.test(name)) return () => text(name);
  const grown = /^extra_([1-9]\d*)$/.exec(name);
  const n = Number(grown?.[1]);
  if (n >= 1 && n <= session.extras) return () => text(`extra ${n}`);
  return undefined;
}

// ---------------------------------------------------------------------------
// Pagination: the cursor is base64url("offset:<n>"), opaque to clients.

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString("base64url");
}

function decodeCursor(cursor: string | undefined, total: number): number {
  if (cursor === undefined) return 0;
  const match = /^offset:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const offset = Number(match?.[1]);
  if (!(offset > 0 && offset < total))
    throw new McpError(ErrorCode.InvalidParams, `invalid cursor: ${cursor}`);
  return offset;
}

// ---------------------------------------------------------------------------
// One MCP server per session

function createSessionServer(session: Session): Server {
  const server = new Server(
    { name: "stateful-upstream", version: "1.0.0" },
    { capabilities: { tools: { listChanged: true }, resources: {}, prompts: {}, logging: {} } },
  );
  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const tools = toolsOf(session);
    const offset = decodeCursor(request.params?.cursor, tools.length);
    const end = offset + PAGE_SIZE;
    return {
      tools: tools.slice(offset, end),
      ...(end < tools.length && { nextCursor: encodeCursor(end) }),
    };
  });
  server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    stats.calls += 1;
    const handler = handlerFor(request.params.name, session);
    if (!handler)
      throw new McpError(ErrorCode.InvalidParams, `unknown tool: ${request.params.name}`);
    return handler({ args: request.params.arguments ?? {}, session, server, extra });
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: [{ uri: STATE_URI, name: "value", mimeType: "text/plain" }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    if (request.params.uri !== STATE_URI)
      throw new McpError(RESOURCE_NOT_FOUND, `resource not found: ${request.params.uri}`);
    return { contents: [{ uri: STATE_URI, mimeType: "text/plain", text: session.value ?? "" }] };
  });
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: [
      {
        name: "greet",
        description: "Greets someone.",
        arguments: [{ name: "name", required: true }],
      },
    ],
  }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    if (request.params.name !== "greet")
      throw new McpError(ErrorCode.InvalidParams, `unknown prompt: ${request.params.name}`);
    const name = request.params.arguments?.name;
    if (name === undefined) throw new McpError(ErrorCode.InvalidParams, "name: required");
    return {
      messages: [{ role: "user", content: { type: "text", text: `Hello, ${name}!` } }],
    };
  });
  return server;
}

async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown) {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      sessions.set(id, session);
    },
    onsessionclosed: (id) => {
      sessions.delete(id);
    },
  });
  const session: Session = { transport, value: null, extras: 0 };
  await createSessionServer(session).connect(transport);
  await transport.handleRequest(req, res, body);
}

// ---------------------------------------------------------------------------
// HTTP

/** The one JSON-RPC error envelope this process builds by hand (HTTP-level refusals). */
function refuse(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } }));
}

/** The parsed body, or `undefined` when it is too large or not JSON. */
async function readJson(req: IncomingMessage): Promise<{ json: unknown } | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return { json: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return undefined;
  }
}

async function handleNormal(
  req: IncomingMessage,
  res: ServerResponse,
  parsed?: { json: unknown },
): Promise<void> {
  const sessionId = req.headers["mcp-session-id"];
  if (typeof sessionId === "string") {
    const session = sessions.get(sessionId);
    if (!session) return refuse(res, 404, SESSION_NOT_FOUND, "Session not found");
    return session.transport.handleRequest(req, res, parsed?.json);
  }
  if (req.method !== "POST")
    return refuse(res, 400, -32000, "Bad Request: Mcp-Session-Id header is required");
  const body = parsed ?? (await readJson(req));
  if (!body) return refuse(res, 400, ErrorCode.ParseError, "Parse error: body is not JSON");
  if (!isInitializeRequest(body.json))
    return refuse(res, 400, -32000, "Bad Request: no Mcp-Session-Id and not an initialize request");
  return openSession(req, res, body.json);
}

function handle(
  mode: Mode,
  required: [string, string] | null,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (new URL(req.url ?? "/", `http://${HOST}`).pathname !== MCP_PATH) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    return;
  }
  if (required && req.headers[required[0]] !== required[1]) {
    req.resume();
    res
      .writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" })
      .end("unauthorized");
    return;
  }
  if (mode === "hang") {
    req.resume(); // Read the request, never answer: the socket stays open.
    return;
  }
  if (mode === "garbage") {
    req.resume();
    req.once("end", () => {
      res.writeHead(200, { "content-type": "application/json" }).end("this is not json {{{");
    });
    return;
  }
  if (mode === "redirect") {
    req.resume();
    res.writeHead(307, { location: redirectTo ?? "http://127.0.0.1:9/" }).end();
    return;
  }
  const served =
    mode === "chatty" || mode === "busy"
      ? handleChatty(req, res, mode)
      : mode === "stall-replies"
        ? handleStallingReplies(req, res)
        : handleNormal(req, res);
  served.catch((error: unknown) => {
    console.error("stateful-upstream: request failed:", error);
    if (!res.headersSent) refuse(res, 500, ErrorCode.InternalError, "Internal error");
    else res.end();
  });
}

/**
 * Stall-replies mode: normal, except that a POST carrying the client's answer to
 * one of this server's requests (a JSON-RPC response: elicitation, sampling,
 * ping) is read and never answered, the connection left open.
 */
async function handleStallingReplies(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") return handleNormal(req, res);
  const parsed = await readJson(req);
  const body = parsed?.json as Record<string, unknown> | undefined;
  const isResponse =
    typeof body === "object" &&
    body !== null &&
    !("method" in body) &&
    ("result" in body || "error" in body);
  if (isResponse) return;
  return handleNormal(req, res, parsed);
}

/**
 * Chatty mode: tools/list and tools/call get an SSE stream of log messages every
 * CHATTER_MS and never a result, until the client goes away; anything else is
 * served normally (the parsed body is handed on).
 */
async function handleChatty(
  req: IncomingMessage,
  res: ServerResponse,
  mode: "chatty" | "busy",
): Promise<void> {
  if (req.method !== "POST") return handleNormal(req, res);
  const body = await readJson(req);
  const method = (body?.json as { method?: unknown } | undefined)?.method;
  if (!body || typeof method !== "string" || !CHATTY_METHODS.has(method)) {
    return handleNormal(req, res, body);
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    const message =
      mode === "busy"
        ? {
            jsonrpc: "2.0",
            method: "notifications/progress",
            params: { progressToken: "busy", progress: n },
          }
        : {
            jsonrpc: "2.0",
            method: "notifications/message",
            params: {
              level: "info",
              logger: "chatty",
              data: `still thinking about ${method} (${n})`,
            },
          };
    res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }, CHATTER_MS);
  res.once("close", () => clearInterval(timer));
}

function parseCli(): {
  port: number;
  mode: Mode;
  required: [string, string] | null;
  redirectTo: string | undefined;
} {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      mode: { type: "string", default: "normal" },
      "require-header": { type: "string" },
      "redirect-to": { type: "string" },
    },
  });
  const port = Number(values.port);
  const mode = MODES.find((m) => m === values.mode);
  const header = values["require-header"];
  const split = header?.indexOf("=") ?? -1;
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || !mode || (header && split < 1)) {
    console.error(
      "usage: stateful-upstream.ts --port N [--mode normal|garbage|hang|chatty|busy|redirect|stall-replies] [--redirect-to URL] [--require-header name=value]",
    );
    process.exit(2);
  }
  const required: [string, string] | null =
    header && split > 0 ? [header.slice(0, split).toLowerCase(), header.slice(split + 1)] : null;
  return { port, mode, required, redirectTo: values["redirect-to"] };
}

const { port, mode, required, redirectTo } = parseCli();
const httpServer = createServer((req, res) => handle(mode, required, req, res));
httpServer.on("error", (error) => {
  console.error(`stateful-upstream: cannot listen on ${HOST}:${port}:`, error);
  process.exit(1);
});
httpServer.listen(port, HOST, () => {
  console.error(`stateful-upstream listening on ${port}`);
});
