/**
 * Where a load run connects and how: the endpoint for each transport derived
 * from one `--url`, the bearer token, and the per-request timeout. Also the
 * MCP handshake every session-era client sends, so both transports open
 * sessions the same way.
 */
import { LATEST_SESSION_ERA_VERSION } from "../../shared/protocol";

export type Transport = "ws" | "http";
/**
 * `mcp`: a session-era session (initialize, then tools/call). `stateless`: MCP
 * 2026-07-28 over Streamable HTTP, no session: every request carries the
 * protocol version and client capabilities in `_meta` plus the `Mcp-Method` /
 * `Mcp-Name` headers. `echo`: raw frames or POST bodies echoed back verbatim
 * (the floor servers of bench/).
 */
export type WireProtocol = "mcp" | "stateless" | "echo";

export interface Target {
  /** Full endpoint: `ws://host:port/ws` or `http://host:port/mcp`. */
  endpoint: string;
  transport: Transport;
  protocol: WireProtocol;
  token: string | undefined;
  timeoutMs: number;
}

export const CLIENT_INFO = { name: "dormouse-load", version: "1.0.0" };
export const PROTOCOL_VERSION = LATEST_SESSION_ERA_VERSION;

/**
 * `http://h:p` becomes `ws://h:p/ws` (WebSocket) or `http://h:p/mcp` (HTTP); a
 * URL that already names a path keeps it, so any deployment layout works.
 */
export function endpointFor(url: string, transport: Transport): string {
  const parsed = new URL(url);
  const secure = parsed.protocol === "https:" || parsed.protocol === "wss:";
  if (transport === "ws") parsed.protocol = secure ? "wss:" : "ws:";
  else parsed.protocol = secure ? "https:" : "http:";
  if (parsed.pathname === "/" || parsed.pathname === "") {
    parsed.pathname = transport === "ws" ? "/ws" : "/mcp";
  }
  return parsed.toString();
}

export function initializeParams(): Record<string, unknown> {
  return { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: CLIENT_INFO };
}

export function authHeaders(target: Target): Record<string, string> {
  return target.token ? { Authorization: `Bearer ${target.token}` } : {};
}
