/**
 * Every way the benchmark calls a server, by lane id: which server, which
 * endpoint, which transport and wire protocol (tools/load/target.ts), and how
 * a comparison's lanes are built from them: echo lanes (warm calls on open
 * sessions) and setup lanes (each call opens a new session).
 *
 * Every reply is checked: Dormouse and McpAgent must answer `echo` with the
 * text sent; the floors must send the frame or body back.
 */
import { createSession } from "../tools/load/create-session";
import { LoadError } from "../tools/load/errors";
import { payloadOf } from "../tools/load/mix";
import { forEachBounded } from "../tools/load/pacing";
import type { LoadSession } from "../tools/load/session";
import { endpointFor, type Target, type Transport, type WireProtocol } from "../tools/load/target";
import type { Lane } from "./interleave";
import type { Server, ServerKind } from "./servers";

export type LaneId =
  | "dormouse-ws"
  | "bare"
  | "json-floor"
  | "nodews"
  | "fair-setup"
  | "dormouse-http"
  | "do-floor"
  | "dormouse-stateless"
  | "worker-floor"
  | "worker-json-floor"
  | "mcpagent";

export interface LaneSpec {
  label: string;
  server: ServerKind;
  /** Path on the server; "" for the server's default endpoint of the transport. */
  endpoint: string;
  transport: Transport;
  protocol: WireProtocol;
}

export const LANE_SPECS: Record<LaneId, LaneSpec> = {
  "dormouse-ws": {
    label: "Dormouse",
    server: "dormouse",
    endpoint: "/ws",
    transport: "ws",
    protocol: "mcp",
  },
  bare: {
    label: "bare object",
    server: "floors",
    endpoint: "/ws",
    transport: "ws",
    protocol: "echo",
  },
  "json-floor": {
    label: "JSON-RPC floor",
    server: "floors",
    endpoint: "/ws-jsonrpc",
    transport: "ws",
    protocol: "mcp",
  },
  nodews: { label: "Node ws", server: "nodews", endpoint: "", transport: "ws", protocol: "echo" },
  "fair-setup": {
    label: "fair setup floor",
    server: "floors",
    endpoint: "/ws-durable",
    transport: "ws",
    protocol: "echo",
  },
  "dormouse-http": {
    label: "Dormouse, session era",
    server: "dormouse",
    endpoint: "/mcp",
    transport: "http",
    protocol: "mcp",
  },
  "do-floor": {
    label: "Worker → object floor",
    server: "floors",
    endpoint: "/do/mcp",
    transport: "http",
    protocol: "echo",
  },
  "dormouse-stateless": {
    label: "Dormouse, stateless 2026-07-28",
    server: "dormouse",
    endpoint: "/mcp",
    transport: "http",
    protocol: "stateless",
  },
  "worker-floor": {
    label: "Worker-only floor",
    server: "floors",
    endpoint: "/worker/mcp",
    transport: "http",
    protocol: "echo",
  },
  "worker-json-floor": {
    label: "Worker JSON-RPC floor",
    server: "floors",
    endpoint: "/worker-jsonrpc/mcp",
    transport: "http",
    protocol: "stateless",
  },
  mcpagent: {
    label: "McpAgent",
    server: "mcpagent",
    endpoint: "/mcp",
    transport: "http",
    protocol: "mcp",
  },
};

export const CALL_TIMEOUT_MS = 10_000;
/** Handshakes in flight while a comparison opens its sessions (not timed). */
const OPEN_CONCURRENCY = 16;

export function targetOf(id: LaneId, server: Server): Target {
  const spec = LANE_SPECS[id];
  return {
    endpoint: endpointFor(`${server.target.url}${spec.endpoint}`, spec.transport),
    transport: spec.transport,
    protocol: spec.protocol,
    token: undefined,
    timeoutMs: CALL_TIMEOUT_MS,
  };
}

/** Collects sessions a server closed on its own; `check` throws the first. */
export class LostSessions {
  #first: LoadError | null = null;
  readonly onLost = (error: LoadError) => {
    this.#first ??= error;
  };
  check(): void {
    if (this.#first) throw this.#first;
  }
}

/** Opens `count` sessions of lane `id` (bounded concurrency, untimed). */
export async function openSessions(
  id: LaneId,
  server: Server,
  count: number,
  lost: LostSessions,
  signal: AbortSignal,
): Promise<LoadSession[]> {
  const target = targetOf(id, server);
  const sessions = Array.from({ length: count }, () => createSession(target, lost.onLost));
  await forEachBounded(count, OPEN_CONCURRENCY, signal, (i) => (sessions[i] as LoadSession).open());
  return sessions;
}

/** A lane of warm `echo` calls, one session per slot. */
export function echoLane(
  id: LaneId,
  server: Server,
  sessions: readonly LoadSession[],
  payloadBytes: number,
): Lane {
  const text = payloadOf(payloadBytes);
  return {
    name: id,
    concurrency: sessions.length,
    cpu: server.cpu,
    async call(slot) {
      const reply = await (sessions[slot] as LoadSession).call("echo", { text });
      if (reply.text !== text)
        throw new LoadError("wrong_reply", `${id}: ${String(reply.text).slice(0, 80)}`);
    },
  };
}

/**
 * A lane whose every call sets up a new session, as a client would before its
 * first call: Dormouse and McpAgent open a session (the WebSocket upgrade or
 * none, then `initialize` and `notifications/initialized`); the bare object
 * is the upgrade alone; the fair setup floor is the upgrade that creates the
 * durable record plus one round trip. The block's sessions are closed after
 * it, untimed.
 */
export function setupLane(
  id: LaneId,
  server: Server,
  concurrency: number,
  lost: LostSessions,
): Lane {
  const target = targetOf(id, server);
  const text = payloadOf(64);
  let opened: LoadSession[] = [];
  return {
    name: id,
    concurrency,
    cpu: server.cpu,
    async call() {
      const session = createSession(target, lost.onLost);
      opened.push(session);
      await session.open();
      if (id !== "fair-setup") return;
      const reply = await session.call("echo", { text });
      if (reply.text !== text) throw new LoadError("wrong_reply", `${id}: no echo`);
    },
    async afterBlock() {
      const closing = opened;
      opened = [];
      const never = new AbortController().signal;
      await forEachBounded(closing.length, 64, never, (i) => (closing[i] as LoadSession).close());
    },
  };
}
