/**
 * Federation name resolution (worker/federation/federation.ts), in workerd:
 * which upstream owns a namespaced name. Relaying itself is tested end to end
 * against real upstream processes (tests/e2e/federation.test.ts).
 */
import { describe, expect, it } from "vitest";
import { parseUpstreams } from "../../worker/config/upstreams";
import { Federation } from "../../worker/federation/federation";
import { pooledUpstreamStore } from "../../worker/federation/store";

describe("Federation.resolve", () => {
  const upstreams = parseUpstreams(
    [
      { name: "a", url: "http://127.0.0.1:1/mcp", prefix: "a" },
      { name: "ab", url: "http://127.0.0.1:2/mcp", prefix: "a_b" },
      {
        name: "picky",
        url: "http://127.0.0.1:3/mcp",
        prefix: "p",
        allowTools: ["x", "y"],
        denyTools: ["y"],
      },
    ],
    {},
  );
  const store = pooledUpstreamStore("test", {});
  const federation = new Federation({ upstreams, secrets: {}, store, cacheLists: false });

  it("splits at the prefix and its separator, longest prefix first", () => {
    expect(federation.resolve("a__tool", "prompt")).toMatchObject({
      upstream: { name: "a" },
      name: "tool",
    });
    expect(federation.resolve("a_b__tool", "prompt")).toMatchObject({
      upstream: { name: "ab" },
      name: "tool",
    });
    expect(federation.resolve("a__b__c", "prompt")).toMatchObject({
      upstream: { name: "a" },
      name: "b__c",
    });
    expect(federation.resolve("b__tool", "prompt")).toBeNull();
    expect(federation.resolve("echo", "prompt")).toBeNull();
  });

  it("maps upstream://<prefix>/<uri> back to the upstream's own URI", () => {
    expect(federation.resolve("upstream://a_b/demo://resource/1", "resource")).toMatchObject({
      upstream: { name: "ab" },
      name: "demo://resource/1",
    });
    expect(federation.resolve("upstream://a/file:///x?y#z", "resource")).toMatchObject({
      upstream: { name: "a" },
      name: "file:///x?y#z",
    });
    expect(federation.resolve("upstream://nobody/demo://x", "resource")).toBeNull();
    expect(federation.resolve("upstream://a", "resource")).toBeNull();
    expect(federation.resolve("a__demo://x", "resource")).toBeNull();
  });

  it("applies allowTools and denyTools to tools only", () => {
    expect(federation.resolve("p__x", "tool")).toMatchObject({ name: "x" });
    expect(federation.resolve("p__y", "tool")).toBeNull();
    expect(federation.resolve("p__z", "tool")).toBeNull();
    expect(federation.resolve("p__z", "prompt")).toMatchObject({ name: "z" });
  });
});
