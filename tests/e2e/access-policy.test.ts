/**
 * ACCESS_POLICY end to end: one gateway with built-in tools and an upstream
 * (the project's stateful upstream, prefix `state`), three principals, and a
 * policy that is an allow-list with denies. For each principal and name, the
 * list and the call must agree: a name absent from the list is answered
 * exactly like a name that does not exist. A second gateway started with a
 * bad policy answers 503 everywhere and names the field in its log.
 */
import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { withTimeout } from "../helpers/wait";

const TIMEOUT_MS = 20_000;
const tokens = {
  alice: randomBytes(24).toString("hex"),
  bob: randomBytes(24).toString("hex"),
  "team-a": randomBytes(24).toString("hex"),
};
type Who = keyof typeof tokens;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const POLICY = {
  default: "deny",
  rules: [
    { principals: ["*"], tools: { allow: ["echo"] }, resources: { allow: ["dormouse://about"] } },
    {
      principals: ["alice"],
      tools: { allow: ["*"], deny: ["state__slow", "sleep"] },
      prompts: { allow: ["*"] },
      resources: { allow: ["*"] },
    },
    {
      principals: ["team-*"],
      tools: { allow: ["state__*", "add"] },
      prompts: { allow: ["state__greet"] },
    },
  ],
};

/** Arguments that make each tool succeed when it is allowed. */
const CALLS: Record<string, Record<string, unknown>> = {
  echo: { text: "x" },
  add: { a: 1, b: 2 },
  sleep: { ms: 1 },
  counter: {},
  state__recall: {},
  state__slow: { ms: 1 },
};

const TOOL_TABLE: [Who, string, boolean][] = [
  ["alice", "echo", true],
  ["alice", "add", true],
  ["alice", "sleep", false],
  ["alice", "state__recall", true],
  ["alice", "state__slow", false],
  ["bob", "echo", true],
  ["bob", "add", false],
  ["bob", "counter", false],
  ["bob", "state__recall", false],
  ["team-a", "echo", true],
  ["team-a", "add", true],
  ["team-a", "counter", false],
  ["team-a", "state__recall", true],
  ["team-a", "state__slow", true],
];

const PROMPT_TABLE: [Who, string, boolean][] = [
  ["alice", "greet", true],
  ["alice", "state__greet", true],
  ["bob", "greet", false],
  ["team-a", "greet", false],
  ["team-a", "state__greet", true],
];

const RESOURCE_TABLE: [Who, string, boolean][] = [
  ["alice", "dormouse://session", true],
  ["bob", "dormouse://about", true],
  ["bob", "dormouse://session", false],
  ["team-a", "upstream://state/state://value", false],
  ["alice", "upstream://state/state://value", true],
];

let stateful: UpstreamProcess | undefined;
let gateway: Gateway | undefined;
let broken: Gateway | undefined;
const clients = new Map<Who, Client>();

beforeAll(async () => {
  stateful = await startStatefulUpstream();
  const [good, bad] = await Promise.all([
    startGateway({
      vars: {
        AUTH_TOKEN_HASHES: Object.entries(tokens)
          .map(([who, token]) => `${who}:${sha256(token)}`)
          .join(","),
        ACCESS_POLICY: JSON.stringify(POLICY),
        UPSTREAMS: JSON.stringify([{ name: "state", url: stateful.url, prefix: "state" }]),
      },
    }),
    startGateway({
      vars: { ACCESS_POLICY: JSON.stringify({ rules: [{ principals: [] }] }) },
      readyStatus: 503,
    }),
  ]);
  gateway = good;
  broken = bad;
  for (const who of Object.keys(tokens) as Who[]) {
    const client = new Client({ name: `policy-${who}`, version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${good.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${tokens[who]}` } },
    });
    await withTimeout(client.connect(transport), TIMEOUT_MS, `${who} to connect`);
    clients.set(who, client);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.close().catch(() => {})));
  await Promise.all([gateway?.stop(), broken?.stop(), stateful?.stop()]);
}, 60_000);

function client(who: Who): Client {
  const found = clients.get(who);
  if (!found) throw new Error(`${who} did not connect`);
  return found;
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; message: string } | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (!(error instanceof McpError)) throw error;
    return { code: error.code, message: error.message.replace(/^MCP error -?\d+: /, "") };
  }
}

describe("ACCESS_POLICY over tools, prompts and resources", () => {
  it.each(TOOL_TABLE)(
    "%s sees and calls %s: %s (list and call agree)",
    async (who, name, allowed) => {
      const listed = (await client(who).listTools()).tools.map((t) => t.name);
      expect(listed.includes(name)).toBe(allowed);
      const called = await failure(client(who).callTool({ name, arguments: CALLS[name] ?? {} }));
      if (allowed) {
        expect(called).toBeNull();
        return;
      }
      // A hidden name gets the very answer of a name nothing serves.
      const unknown = await failure(client(who).callTool({ name: "no_such_tool", arguments: {} }));
      expect(unknown?.message).toBe("Unknown tool: no_such_tool");
      expect(called).toEqual({ code: unknown?.code, message: `Unknown tool: ${name}` });
    },
  );

  it.each(PROMPT_TABLE)("%s sees and gets prompt %s: %s", async (who, name, allowed) => {
    const listed = (await client(who).listPrompts()).prompts.map((p) => p.name);
    expect(listed.includes(name)).toBe(allowed);
    const got = await failure(client(who).getPrompt({ name, arguments: { name: "Ada" } }));
    if (allowed) expect(got).toBeNull();
    else expect(got).toEqual({ code: -32602, message: `Unknown prompt: ${name}` });
  });

  it.each(RESOURCE_TABLE)("%s sees and reads resource %s: %s", async (who, uri, allowed) => {
    const listed = (await client(who).listResources()).resources.map((r) => r.uri);
    expect(listed.includes(uri)).toBe(allowed);
    const read = await failure(client(who).readResource({ uri }));
    if (allowed) expect(read).toBeNull();
    else expect(read).toEqual({ code: -32002, message: `Resource not found: ${uri}` });
  });

  it("answers 503 everywhere while the policy is invalid, naming the field and the reason in the log", async () => {
    const bad = broken;
    if (!bad) throw new Error("the misconfigured gateway did not start");
    const health = await fetch(`${bad.url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).not.toContain("ACCESS_POLICY");
    const mcp = await fetch(`${bad.url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(mcp.status).toBe(503);
    expect(bad.fullLog()).toContain(
      "ACCESS_POLICY.rules[0].principals: at least one principal or pattern",
    );
  });
});
