/**
 * Where a request's credentials may be, in order of preference:
 * `Authorization: Bearer <token>` (HTTP and WebSocket upgrades from clients
 * that can set headers), a `mcp.auth.<token>` entry in Sec-WebSocket-Protocol
 * (browsers cannot set headers on a WebSocket; SEP-1288 draft), and
 * `?ticket=<ticket>` (a short-lived single-use ticket from POST /tickets).
 *
 * The subprotocol entry is never echoed back: the 101 echoes `mcp` only.
 */
import { AUTH_SUBPROTOCOL_PREFIX } from "../../shared/limits";

export type Credential =
  | { kind: "bearer"; token: string }
  | { kind: "ticket"; ticket: string }
  | { kind: "none" };

export function credentialOf(request: Request): Credential {
  const authorization = request.headers.get("Authorization");
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (bearer) return { kind: "bearer", token: bearer };
  const protocols = request.headers.get("Sec-WebSocket-Protocol");
  if (protocols) {
    for (const entry of protocols.split(",")) {
      const value = entry.trim();
      if (
        value.startsWith(AUTH_SUBPROTOCOL_PREFIX) &&
        value.length > AUTH_SUBPROTOCOL_PREFIX.length
      ) {
        return { kind: "bearer", token: value.slice(AUTH_SUBPROTOCOL_PREFIX.length) };
      }
    }
  }
  const ticket = new URL(request.url).searchParams.get("ticket");
  if (ticket) return { kind: "ticket", ticket };
  return { kind: "none" };
}
