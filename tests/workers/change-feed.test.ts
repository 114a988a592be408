/**
 * The deployment-wide list-change feed (worker/change-feed.ts, worker/feed-object.ts):
 * `subscriptions/listen` streams opened through the Worker hear a change
 * published from anywhere (here: from the test, as a session object would),
 * through the feed's Durable Object shards rather than isolate memory.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  LISTENER_HEADER,
  MAX_LISTENERS_PER_PRINCIPAL,
  publishListChange,
} from "../../worker/feed/change-feed";
import { LIST_CHANGE_INTERVAL_MS } from "../../worker/feed/feed-object";
import { modern } from "../helpers/http";
import { sseOf } from "../helpers/sse";
import { sleep, waitFor } from "../helpers/wait";

async function listen(notifications: Record<string, boolean>) {
  const { response, id } = await modern("subscriptions/listen", { notifications });
  expect(response.status).toBe(200);
  const stream = sseOf(response);
  const [ack] = await stream.messages({
    until: (m) => m.method === "notifications/subscriptions/acknowledged",
  });
  expect(ack?.method).toBe("notifications/subscriptions/acknowledged");
  return { stream, id };
}

describe("list-change feed", () => {
  it("delivers a published change to every listen stream that asked for that list, once", async () => {
    const tools = await listen({ toolsListChanged: true });
    const prompts = await listen({ promptsListChanged: true });
    try {
      const reached = await publishListChange("tools");
      expect(reached).toBeGreaterThanOrEqual(2);
      const [changed] = await tools.stream.messages({
        until: (m) => m.method === "notifications/tools/list_changed",
      });
      expect(changed?.params).toEqual({
        _meta: { "io.modelcontextprotocol/subscriptionId": tools.id },
      });
      await publishListChange("prompts");
      const promptMessages = await prompts.stream.messages({
        until: (m) => m.method === "notifications/prompts/list_changed",
      });
      // The prompts stream never saw the tools change.
      expect(promptMessages.map((m) => m.method)).toEqual(["notifications/prompts/list_changed"]);
    } finally {
      await Promise.all([tools.stream.cancel(), prompts.stream.cancel()]);
    }
  });

  it("reaches a listener on each of the four shards", async () => {
    const sockets = await Promise.all(
      [0, 1, 2, 3].map(async (index) => {
        const shard = env.FEEDS.get(env.FEEDS.idFromName(`feed-${index}`));
        const response = await shard.fetch("https://feed.internal/listen", {
          headers: { Upgrade: "websocket", [LISTENER_HEADER]: "0".repeat(64) },
        });
        const ws = response.webSocket;
        if (!ws) throw new Error(`shard ${index} did not upgrade`);
        ws.accept();
        const heard = new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`shard ${index} heard nothing`)), 5_000);
          ws.addEventListener("message", (event) => {
            clearTimeout(timer);
            resolve(event.data);
          });
        });
        return { ws, heard };
      }),
    );
    try {
      expect(await publishListChange("resources")).toBeGreaterThanOrEqual(4);
      expect(await Promise.all(sockets.map((s) => s.heard))).toEqual([
        "resources",
        "resources",
        "resources",
        "resources",
      ]);
    } finally {
      for (const { ws } of sockets) ws.close(1000, "done");
    }
  });

  it(`holds at most ${MAX_LISTENERS_PER_PRINCIPAL} listeners of one principal on a shard (429 beyond), while others still get in`, async () => {
    const shard = env.FEEDS.get(env.FEEDS.idFromName(`feed-limit-${crypto.randomUUID()}`));
    const open = (tag: string) =>
      shard.fetch("https://feed.internal/listen", {
        headers: { Upgrade: "websocket", [LISTENER_HEADER]: tag },
      });
    const busy = "a".repeat(64);
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_LISTENERS_PER_PRINCIPAL; i++) {
        const response = await open(busy);
        expect(response.status).toBe(101);
        const ws = response.webSocket as WebSocket;
        ws.accept();
        sockets.push(ws);
      }
      const refused = await open(busy);
      expect(refused.status).toBe(429);
      await refused.body?.cancel();
      const other = await open("b".repeat(64));
      expect(other.status).toBe(101);
      const otherSocket = other.webSocket as WebSocket;
      otherSocket.accept();
      sockets.push(otherSocket);
      // A listener without a principal is not the Worker's: refused.
      const anonymous = await shard.fetch("https://feed.internal/listen", {
        headers: { Upgrade: "websocket" },
      });
      expect(anonymous.status).toBe(400);
      await anonymous.body?.cancel();
    } finally {
      for (const ws of sockets) ws.close(1000, "done");
    }
  });

  it(`tells a listener of one kind's changes at most once per ${LIST_CHANGE_INTERVAL_MS} ms, the last change never lost`, async () => {
    const shard = env.FEEDS.get(env.FEEDS.idFromName(`feed-burst-${crypto.randomUUID()}`));
    const response = await shard.fetch("https://feed.internal/listen", {
      headers: { Upgrade: "websocket", [LISTENER_HEADER]: "c".repeat(64) },
    });
    const ws = response.webSocket as WebSocket;
    ws.accept();
    const heard: { kind: unknown; at: number }[] = [];
    ws.addEventListener("message", (event) => heard.push({ kind: event.data, at: Date.now() }));
    try {
      const start = Date.now();
      // An upstream sending list_changed in a loop, relayed by one session after another.
      for (let i = 0; i < 50; i++) expect(await shard.publish("tools")).toBe(1);
      expect(await shard.publish("prompts")).toBe(1);
      await waitFor(() => heard.length >= 3, {
        timeoutMs: 5_000,
        what: "the burst's trailing notification",
      });
      // Nothing more comes after the interval's end.
      await sleep(LIST_CHANGE_INTERVAL_MS + 500);
      expect(heard.map((h) => h.kind).sort()).toEqual(["prompts", "tools", "tools"]);
      const tools = heard.filter((h) => h.kind === "tools");
      expect((tools[1]?.at ?? 0) - (tools[0]?.at ?? 0)).toBeGreaterThanOrEqual(
        LIST_CHANGE_INTERVAL_MS - 50,
      );
      expect((tools[0]?.at ?? Number.POSITIVE_INFINITY) - start).toBeLessThan(
        LIST_CHANGE_INTERVAL_MS,
      );
    } finally {
      ws.close(1000, "done");
    }
  });

  it("acknowledges only what it honours: no resource subscriptions (nothing sends resources/updated)", async () => {
    const { response } = await modern("subscriptions/listen", {
      notifications: { toolsListChanged: true, resourceSubscriptions: ["dormouse://about"] },
    });
    const stream = sseOf(response);
    try {
      const [ack] = await stream.messages({
        until: (m) => m.method === "notifications/subscriptions/acknowledged",
      });
      expect((ack?.params as { notifications?: unknown } | undefined)?.notifications).toEqual({
        toolsListChanged: true,
      });
    } finally {
      await stream.cancel();
    }
  });

  it("refuses anything but a list kind, and a shard without upgrade", async () => {
    const shard = env.FEEDS.get(env.FEEDS.idFromName("feed-0"));
    expect(await shard.publish("everything")).toBe(0);
    const plain = await shard.fetch("https://feed.internal/listen");
    expect(plain.status).toBe(426);
  });
});
