import { describe, expect, it } from "vitest";
import { ConfigError } from "../../worker/config/config-error";
import {
  DEFAULT_UPSTREAM_MAX_REQUEST_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  parseUpstreams,
  upstreamsFor,
} from "../../worker/config/upstreams";
import { MAX_LIST_CHARS, MAX_LIST_ITEMS, readList } from "../../worker/federation/lists";
import { MAX_POOLED_UPSTREAM_SESSIONS, pooledUpstreamStore } from "../../worker/federation/store";

const valid = { name: "everything", url: "http://127.0.0.1:3001/mcp", prefix: "ev" };

describe("UPSTREAMS configuration", () => {
  it("is empty when unset", () => {
    expect(parseUpstreams(undefined, {})).toEqual([]);
    expect(parseUpstreams("", {})).toEqual([]);
  });

  it("accepts a JSON value and a string holding JSON alike, with defaults filled in", () => {
    const expected = [
      {
        ...valid,
        timeoutMs: DEFAULT_UPSTREAM_TIMEOUT_MS,
        maxRequestMs: DEFAULT_UPSTREAM_MAX_REQUEST_MS,
        headers: {},
      },
    ];
    expect(parseUpstreams([valid], {})).toEqual(expected);
    expect(parseUpstreams(JSON.stringify([valid]), {})).toEqual(expected);
  });

  it.each([
    ["not JSON", "[{", /UPSTREAMS: not valid JSON/],
    ["not an array", { ...valid }, /UPSTREAMS/],
    ["a missing url", [{ name: "a", prefix: "a" }], /UPSTREAMS\[0\]\.url \(a\)/],
    ["a relative url", [{ ...valid, url: "/mcp" }], /UPSTREAMS\[0\]\.url \(everything\)/],
    ["a websocket url", [{ ...valid, url: "ws://127.0.0.1/mcp" }], /http\(s\) URL/],
    ["a bad prefix", [{ ...valid, prefix: "e v" }], /UPSTREAMS\[0\]\.prefix/],
    ["a timeout out of range", [{ ...valid, timeoutMs: 10 }], /UPSTREAMS\[0\]\.timeoutMs/],
    ["an unknown field", [{ ...valid, token: "secret" }], /UPSTREAMS\[0\]/],
    [
      "a literal credential as a header value",
      [{ ...valid, headers: { Authorization: "Bearer abc123" } }],
      /NAME of a Worker secret/,
    ],
    [
      "two upstreams with one prefix",
      [valid, { ...valid, name: "other" }],
      /share the prefix "ev"/,
    ],
    [
      "a prefix that, with its separator, starts another's (sep and sep__a)",
      [
        { ...valid, name: "one", prefix: "sep" },
        { ...valid, name: "two", prefix: "sep__a" },
      ],
      /prefixes "sep" \(one\) and "sep__a" \(two\) overlap: a served name such as "sep__a__x"/,
    ],
    [
      "prefixes a and a_, whose names meet at a___x",
      [
        { ...valid, name: "one", prefix: "a_" },
        { ...valid, name: "two", prefix: "a" },
      ],
      /prefixes "a" \(two\) and "a_" \(one\) overlap/,
    ],
    [
      "a maxRequestMs out of range",
      [{ ...valid, maxRequestMs: 50 }],
      /UPSTREAMS\[0\]\.maxRequestMs/,
    ],
  ])("fails loudly on %s, naming the field and the reason", (_case, raw, message) => {
    expect(() => parseUpstreams(raw, {})).toThrow(ConfigError);
    expect(() => parseUpstreams(raw, {})).toThrow(message);
  });

  it("requires every secret a header names to exist, and never echoes its value", () => {
    const raw = [{ ...valid, headers: { Authorization: "EVERYTHING_TOKEN" } }];
    expect(() => parseUpstreams(raw, {})).toThrow(
      /names the secret EVERYTHING_TOKEN, which is not set/,
    );
    expect(parseUpstreams(raw, { EVERYTHING_TOKEN: "s3cret" })[0]?.headers).toEqual({
      Authorization: "EVERYTHING_TOKEN",
    });
  });
});

it("accepts prefixes that share letters but cannot meet (a and a_b)", () => {
  const raw = [
    { ...valid, name: "one", prefix: "a" },
    { ...valid, name: "two", prefix: "a_b" },
  ];
  expect(parseUpstreams(raw, {}).map((u) => u.prefix)).toEqual(["a", "a_b"]);
});

describe("upstreamsFor", () => {
  it("refuses a prefix that would shadow a built-in tool or prompt", () => {
    const env = { UPSTREAMS: JSON.stringify([{ ...valid, prefix: "my" }]) };
    expect(() => upstreamsFor(env, ["echo", "my__tool"])).toThrow(ConfigError);
    expect(() => upstreamsFor(env, ["echo", "my__tool"])).toThrow(
      /prefix "my" would shadow the built-in "my__tool"/,
    );
    expect(upstreamsFor(env, ["echo", "mytool"]).map((u) => u.name)).toEqual(["everything"]);
  });
});

describe("pooledUpstreamStore", () => {
  const state = {
    sessionId: "s1",
    protocolVersion: "2025-11-25",
    capabilities: {},
    declared: {},
  };

  it("keeps principals and capability sets apart", () => {
    pooledUpstreamStore("alice", {}).saveUpstream("u", state);
    expect(pooledUpstreamStore("alice", {}).loadUpstream("u")).toEqual(state);
    expect(pooledUpstreamStore("bob", {}).loadUpstream("u")).toBeNull();
    expect(pooledUpstreamStore("alice", { elicitation: {} }).loadUpstream("u")).toBeNull();
    pooledUpstreamStore("alice", {}).deleteUpstream("u");
    expect(pooledUpstreamStore("alice", {}).loadUpstream("u")).toBeNull();
  });

  it("is bounded: the least recently used entries go first", () => {
    const store = pooledUpstreamStore("many", {});
    for (let i = 0; i <= MAX_POOLED_UPSTREAM_SESSIONS; i++) store.saveUpstream(`u${i}`, state);
    expect(store.loadUpstream("u0")).toBeNull();
    expect(store.loadUpstream(`u${MAX_POOLED_UPSTREAM_SESSIONS}`)).toEqual(state);
    expect(store.listUpstreams().length).toBeLessThanOrEqual(MAX_POOLED_UPSTREAM_SESSIONS);
  });
});

describe("UPSTREAMS OAuth entries", () => {
  const oauth = { ...valid, auth: { type: "oauth", scopes: ["mcp"] } };
  const env = { UPSTREAM_TOKEN_KEY: "k".repeat(32), PUBLIC_URL: "https://gw.example" };

  it("accepts an OAuth upstream with its key and public URL", () => {
    expect(parseUpstreams([oauth], env)[0]?.auth).toEqual({ type: "oauth", scopes: ["mcp"] });
  });

  it.each([
    [
      "no UPSTREAM_TOKEN_KEY",
      [oauth],
      { PUBLIC_URL: env.PUBLIC_URL },
      /needs? the Worker secret UPSTREAM_TOKEN_KEY/,
    ],
    ["a short key", [oauth], { ...env, UPSTREAM_TOKEN_KEY: "short" }, /at least 32 characters/],
    [
      "no PUBLIC_URL",
      [oauth],
      { UPSTREAM_TOKEN_KEY: env.UPSTREAM_TOKEN_KEY },
      /the var PUBLIC_URL/,
    ],
    [
      "a PUBLIC_URL with a path",
      [oauth],
      { ...env, PUBLIC_URL: "https://gw.example/x" },
      /PUBLIC_URL/,
    ],
    [
      "a client secret without a client id",
      [{ ...oauth, auth: { type: "oauth", clientSecret: "UP_SECRET" } }],
      { ...env, UP_SECRET: "x" },
      /auth\.clientSecret needs auth\.clientId/,
    ],
    [
      "a client secret that is not set",
      [
        {
          ...oauth,
          auth: { type: "oauth", clientId: "gw", clientSecret: "UP_SECRET", issuer: "https://as" },
        },
      ],
      env,
      /names the secret UP_SECRET, which is not set/,
    ],
    [
      "a pre-registered client without the issuer it is registered at",
      [{ ...oauth, auth: { type: "oauth", clientId: "gw" } }],
      env,
      /auth\.clientId needs auth\.issuer/,
    ],
    [
      "an issuer without a client",
      [{ ...oauth, auth: { type: "oauth", issuer: "https://as.example" } }],
      env,
      /auth\.issuer needs auth\.clientId/,
    ],
    [
      "a literal client secret",
      [{ ...oauth, auth: { type: "oauth", clientId: "gw", clientSecret: "hunter2" } }],
      env,
      /UPSTREAMS\[0\]\.auth\.clientSecret \(everything\): the NAME of a Worker secret/,
    ],
    [
      "an unknown auth type",
      [{ ...valid, auth: { type: "basic" } }],
      env,
      /UPSTREAMS\[0\]\.auth\.type/,
    ],
    [
      "an Authorization header beside OAuth",
      [{ ...oauth, headers: { Authorization: "TOKEN" } }],
      { ...env, TOKEN: "x" },
      /cannot also set an Authorization header/,
    ],
  ])("fails on %s", (_case, raw, secrets, message) => {
    expect(() => parseUpstreams(raw, secrets)).toThrow(ConfigError);
    expect(() => parseUpstreams(raw, secrets)).toThrow(message);
  });
});

describe("readList", () => {
  const [upstream] = parseUpstreams(
    [{ name: "big", url: "http://127.0.0.1:9/mcp", prefix: "big" }],
    {},
  );
  if (!upstream) throw new Error("no upstream parsed");

  it("keeps at most MAX_LIST_CHARS of an upstream's list, however large its items", async () => {
    const description = "x".repeat(64 * 1024);
    let pages = 0;
    const items = await readList(upstream, "tools", async () => {
      pages += 1;
      const tools = Array.from({ length: 50 }, (_, i) => ({
        name: `tool_${pages}_${i}`,
        description,
        inputSchema: { type: "object" },
      }));
      return { tools, nextCursor: `page-${pages}` };
    });
    const chars = items.reduce((sum, item) => sum + JSON.stringify(item).length, 0);
    expect(chars).toBeLessThanOrEqual(MAX_LIST_CHARS);
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThan(MAX_LIST_ITEMS);
    // Reading stopped once the bound was reached: no page was fetched for nothing.
    expect(pages).toBeLessThanOrEqual(2);
  });

  it("keeps a list of small items whole", async () => {
    const items = await readList(upstream, "tools", async () => ({
      tools: [{ name: "a", inputSchema: { type: "object" } }],
    }));
    expect(items.map((item) => item.name)).toEqual(["big__a"]);
  });

  it("drops SEP-2243 x-mcp-header marks from a relayed tool's schema, and nothing else", async () => {
    const [tool] = await readList(upstream, "tools", async () => ({
      tools: [
        {
          name: "route",
          inputSchema: {
            type: "object",
            properties: {
              region: { type: "string", "x-mcp-header": "Region", description: "where" },
              text: { type: "string" },
            },
            required: ["region"],
          },
        },
      ],
    }));
    expect(tool?.inputSchema).toEqual({
      type: "object",
      properties: { region: { type: "string", description: "where" }, text: { type: "string" } },
      required: ["region"],
    });
  });
});
