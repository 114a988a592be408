/**
 * The Worker's HTTP edge (worker/router.ts): health, the /ws upgrade contract
 * and the answers it gives before any socket is opened.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MCP_SUBPROTOCOL, SESSION_ID_HEADER } from "../../shared/limits";
import { fetchWorker, upgrade } from "../helpers/workerd";

describe("GET /healthz", () => {
  it("answers 200 with a JSON status naming the service and its toolsets", async () => {
    const res = await fetchWorker("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: "ok", service: "dormouse", toolsets: ["default"] });
  });
});

describe("/ws", () => {
  it("answers 426 with an Upgrade header to a GET without Upgrade: websocket", async () => {
    const res = await fetchWorker("/ws");
    expect(res.status).toBe(426);
    expect(res.headers.get("Upgrade")).toBe("websocket");
    expect(res.webSocket).toBeNull();
  });

  it("answers 405 with Allow: GET to a POST", async () => {
    const res = await fetchWorker("/ws", { method: "POST", body: "{}" });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET");
  });

  it("answers 101, echoes the mcp subprotocol and names a 64-hex session id for a new upgrade", async () => {
    const res = await upgrade("/ws");
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe(MCP_SUBPROTOCOL);
    expect(res.headers.get(SESSION_ID_HEADER)).toMatch(/^[0-9a-f]{64}$/);
    res.webSocket?.accept();
    res.webSocket?.close(1000, "done");
  });

  it("mints a different session id for each new upgrade", async () => {
    const ids = new Set<string | null>();
    for (let i = 0; i < 3; i++) {
      const res = await upgrade("/ws");
      ids.add(res.headers.get(SESSION_ID_HEADER));
      res.webSocket?.accept();
      res.webSocket?.close(1000, "done");
    }
    expect(ids.size).toBe(3);
  });

  it.each([
    ["not hex", "not-a-session"],
    ["too short", "abc123"],
    ["upper-case hex", "A".repeat(64)],
    ["65 hex chars", "a".repeat(65)],
    ["64 hex chars that are no id of this namespace", "0".repeat(64)],
  ])("answers 404 without upgrading to a malformed session id (%s)", async (_label, session) => {
    const res = await upgrade(`/ws?session=${session}`);
    expect(res.status).toBe(404);
    expect(res.webSocket).toBeNull();
  });

  it("answers 404 without upgrading to a well-formed session id that was never created", async () => {
    const neverCreated = env.SESSIONS.newUniqueId().toString();
    const res = await upgrade(`/ws?session=${neverCreated}`);
    expect(res.status).toBe(404);
    expect(res.webSocket).toBeNull();
    expect(await res.text()).toMatch(/unknown or expired session/i);
  });
});

describe("other paths", () => {
  it("answers 404 to an unknown path", async () => {
    const res = await fetchWorker("/nope");
    expect(res.status).toBe(404);
  });
});
