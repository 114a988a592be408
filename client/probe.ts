/**
 * Whether a session still exists, for platforms where a refused WebSocket
 * upgrade shows no status (browsers): a `GET /mcp` carrying the session id is
 * answered 404 for an unknown or ended session (the same answer the WebSocket
 * upgrade would have given). The answer's body is never read.
 */
import { SESSION_ID_HEADER } from "../shared/limits";

export type SessionVerdict = "alive" | "gone" | "unknown";

const PROBE_TIMEOUT_MS = 5_000;

/** `ws(s)://host/prefix/ws?...` -> `http(s)://host/prefix/mcp`. */
export function probeUrl(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = url.pathname.replace(/\/ws\/?$/, "/mcp");
  url.search = "";
  return url.toString();
}

export async function probeSession(
  wsUrl: string,
  sessionId: string,
  token: string | undefined,
): Promise<SessionVerdict> {
  if (typeof fetch !== "function") return "unknown";
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    const headers: Record<string, string> = {
      Accept: "text/event-stream",
      [SESSION_ID_HEADER]: sessionId,
    };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(probeUrl(wsUrl), { headers, signal: controller.signal });
    if (response.status === 404) return "gone";
    return response.ok ? "alive" : "unknown";
  } catch {
    return "unknown";
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
