import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("smoke", async () => {
  const res = await exports.default.fetch("https://x/healthz");
  expect(res.status).toBe(200);
  const ws = await exports.default.fetch("https://x/ws", { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "mcp" } });
  expect(ws.status).toBe(101);
  console.log([...ws.headers]);
  const s = ws.webSocket!;
  s.accept();
  const got = new Promise((r) => s.addEventListener("message", (e) => r(e.data)));
  s.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
  console.log(await got);
});
