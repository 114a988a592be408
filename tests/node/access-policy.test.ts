/**
 * ACCESS_POLICY parsing and evaluation (pure): the decision table over
 * principals, kinds and served names, and config errors that name the field.
 */
import { describe, expect, it } from "vitest";
import { globToRegExp, parseAccessPolicy } from "../../worker/config/access-policy";
import { ConfigError } from "../../worker/config/config-error";

const POLICY = {
  default: "deny",
  rules: [
    {
      principals: ["*"],
      tools: { allow: ["echo", "add"] },
      resources: { allow: ["dormouse://about"] },
    },
    {
      principals: ["alice"],
      tools: { allow: ["*"] },
      prompts: { allow: ["*"] },
      resources: { allow: ["*"] },
    },
    { principals: ["alice"], tools: { deny: ["state__slow"] } },
    { principals: ["oauth:*"], tools: { allow: ["state__*"], deny: ["state__stats"] } },
    { principals: ["bob"], tools: { deny: ["add"] } },
  ],
};

describe("ACCESS_POLICY evaluation", () => {
  const policy = parseAccessPolicy(POLICY);
  it.each([
    ["alice", "tools", "echo", true],
    ["alice", "tools", "state__recall", true],
    ["alice", "tools", "state__slow", false],
    ["alice", "prompts", "greet", true],
    ["alice", "resources", "upstream://state/state://value", true],
    ["bob", "tools", "echo", true],
    ["bob", "tools", "add", false],
    ["bob", "tools", "state__recall", false],
    ["bob", "prompts", "greet", false],
    ["bob", "resources", "dormouse://about", true],
    ["bob", "resources", "dormouse://session", false],
    ["oauth:123", "tools", "state__recall", true],
    ["oauth:123", "tools", "state__stats", false],
    ["oauth:123", "tools", "counter", false],
    ["oauth", "tools", "state__recall", false],
    ["carol", "tools", "add", true],
  ] as const)("%s may use %s %s: %s", (principal, kind, name, expected) => {
    expect(policy?.allows(principal, kind, name)).toBe(expected);
  });

  it("allows everything when unset", () => {
    expect(parseAccessPolicy(undefined)).toBeNull();
    expect(parseAccessPolicy("")).toBeNull();
  });

  it("defaults to allow, so denies alone make a block-list", () => {
    const blocklist = parseAccessPolicy({
      rules: [{ principals: ["*"], tools: { deny: ["sleep"] } }],
    });
    expect(blocklist?.allows("anyone", "tools", "sleep")).toBe(false);
    expect(blocklist?.allows("anyone", "tools", "echo")).toBe(true);
  });

  it("reads a string holding JSON like a JSON value", () => {
    expect(parseAccessPolicy(JSON.stringify(POLICY))?.allows("bob", "tools", "add")).toBe(false);
  });

  it("treats glob metacharacters other than * and ? literally", () => {
    expect(globToRegExp("a.b(c)?").test("a.b(c)x")).toBe(true);
    expect(globToRegExp("a.b").test("axb")).toBe(false);
    expect(globToRegExp("upstream://s/*").test("upstream://s/x/y")).toBe(true);
    expect(globToRegExp("team-*").test("team-a")).toBe(true);
    expect(globToRegExp("a[b]{2}$").test("a[b]{2}$")).toBe(true);
  });
});

describe("ACCESS_POLICY errors", () => {
  it.each([
    ["not JSON", "{", /ACCESS_POLICY: not valid JSON/],
    ["no rules", {}, /ACCESS_POLICY\.rules: /],
    [
      "a bad default",
      { default: "maybe", rules: [] },
      /ACCESS_POLICY\.default: either "allow" or "deny"/,
    ],
    [
      "a rule without principals",
      { rules: [{ principals: [] }] },
      /ACCESS_POLICY\.rules\[0\]\.principals: at least one/,
    ],
    [
      "an empty pattern",
      { rules: [{ principals: ["a"], tools: { deny: ["x", ""] } }] },
      /ACCESS_POLICY\.rules\[0\]\.tools\.deny\[1\]: a non-empty glob/,
    ],
    [
      "an unknown kind",
      { rules: [{ principals: ["a"], tool: { deny: ["x"] } }] },
      /ACCESS_POLICY\.rules\[0\]\.tool/,
    ],
  ])("fails on %s, naming the field and the reason", (_case, raw, message) => {
    expect(() => parseAccessPolicy(raw)).toThrow(ConfigError);
    expect(() => parseAccessPolicy(raw)).toThrow(message);
  });
});
