/**
 * The one place that picks a session's transport for a target. It lives apart
 * from `session.ts` (the interface both transports implement) so the import
 * graph stays a tree: the transports import `session.ts`, and only this module
 * imports the transports.
 */
import { HttpSession } from "./http-session";
import type { LoadSession, OnLost } from "./session";
import type { Target } from "./target";
import { WsSession } from "./ws-session";

export function createSession(target: Target, onLost: OnLost): LoadSession {
  return target.transport === "ws" ? new WsSession(target, onLost) : new HttpSession(target);
}
