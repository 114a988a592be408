/**
 * Stateless 2026-07-28 requests over Streamable HTTP, served in the Worker
 * itself: no session, no Durable Object, nothing stored. The same dispatcher
 * and handlers as sessions run against an EphemeralStore, so per-session tool
 * state (the counter) starts afresh on every request.
 */
import type { DecodedFrame } from "../../shared/codec";
import { asJsonRpcError, errorEnvelope } from "../../shared/errors";
import type { Federation } from "../federation/federation";
import type { HotState, SessionContext } from "../mcp/context";
import { Dispatcher } from "../mcp/dispatcher";
import type { SessionRecord, SessionStore } from "../storage/session-storage";
import type { ToolRegistry } from "../tools/registry";
import { HttpExchange } from "../transports/streamable-http";
import { modernStatusFor } from "./era-checks";
import { openListenStream } from "./listen";

const STATELESS_ID = "stateless";

export async function serveStateless(
  frame: DecodedFrame,
  registry: ToolRegistry,
  secret: string | undefined,
  headers: Headers,
  streams: { keepaliveMs: number; maxOpenMs: number },
  deadlineMs: number,
  federation: Federation | null,
): Promise<Response> {
  const session = statelessContext(registry, secret, federation);
  const dispatcher = new Dispatcher(session, deadlineMs);
  if (frame.kind !== "request") {
    await dispatcher.handle(frame, { send: () => {} });
    return new Response(null, { status: 202, headers });
  }
  if (frame.message.method === "subscriptions/listen") {
    try {
      return await openListenStream(frame.message, streams.keepaliveMs);
    } catch (thrown) {
      const error = asJsonRpcError(thrown);
      return Response.json(errorEnvelope(frame.message.id, error), {
        status: modernStatusFor(error),
        headers,
      });
    }
  }
  const exchange = new HttpExchange(frame.message.id, headers, {
    ...streams,
    statusFor: modernStatusFor,
  });
  dispatcher.run(frame.message, exchange).finally(() => exchange.abandon());
  return exchange.response;
}

function statelessContext(
  registry: ToolRegistry,
  secret: string | undefined,
  federation: Federation | null,
): SessionContext {
  const hot: HotState = { phase: "ready", protocolVersion: null, logLevel: "info" };
  const now = Date.now();
  const record: SessionRecord = {
    sessionId: STATELESS_ID,
    createdAt: now,
    phase: "ready",
    protocolVersion: null,
    clientInfo: null,
    clientCapabilities: null,
    logLevel: "info",
    wakes: 0,
    attachGen: 0,
    lastActiveAt: now,
    principal: "",
  };
  return {
    sessionId: STATELESS_ID,
    requestStateSecret: secret,
    storage: new EphemeralStore(),
    registry,
    federation,
    hot: () => hot,
    updateHot: () => {},
    record: () => record,
  };
}

/** Per-request state for stateless requests: nothing outlives the request. */
class EphemeralStore implements SessionStore {
  readonly #toolState = new Map<string, unknown>();

  saveHandshake(): void {}
  savePhase(): void {}
  saveLogLevel(): void {}
  getToolState(toolset: string, key: string): unknown {
    return this.#toolState.get(`${toolset}\u0000${key}`);
  }
  setToolState(toolset: string, key: string, value: unknown): void {
    this.#toolState.set(`${toolset}\u0000${key}`, value);
  }
  addSubscription(): boolean {
    return false;
  }
  removeSubscription(): void {}
  listSubscriptions(): string[] {
    return [];
  }
}
