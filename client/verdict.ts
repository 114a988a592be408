/**
 * What the end of a connection means for a resumable session: gone for good,
 * or worth re-attaching to. Pure, so the rules read as a table:
 *
 * | how it ended                         | verdict                        |
 * |--------------------------------------|--------------------------------|
 * | open socket closed 4004              | gone: the session ended        |
 * | open socket closed 4001              | gone: another client took over |
 * | any other close, error, no frame     | re-attach                      |
 * | upgrade refused 404                  | gone: unknown or expired       |
 * | upgrade refused 401 / 403            | gone: credentials refused      |
 * | upgrade refused 400 (our `received`) | re-attach without `received`   |
 * | upgrade failed, status not shown     | probe the session, then decide |
 * | anything else (5xx, refused, reset)  | re-attach                      |
 *
 * A 4001 on a socket the client already let go of (its own re-attach
 * superseded it) never gets here: the transport ignores ends of sockets it
 * no longer holds.
 */
import { CLOSE_SESSION_ENDED, CLOSE_SUPERSEDED } from "../shared/limits";
import type { SocketEnd } from "./socket";

export type Verdict =
  | { kind: "gone"; reason: string }
  | { kind: "retry"; reason: string }
  | { kind: "retry_without_received"; reason: string }
  | { kind: "probe"; reason: string };

export function verdictOf(
  end: SocketEnd,
  context: { showsStatus: boolean; usedReceived: boolean },
): Verdict {
  const what = describeEnd(end);
  if (end.opened) {
    if (end.code === CLOSE_SESSION_ENDED)
      return { kind: "gone", reason: `the session ended (${what})` };
    if (end.code === CLOSE_SUPERSEDED) {
      return { kind: "gone", reason: `another client re-attached to the session (${what})` };
    }
    return { kind: "retry", reason: what };
  }
  switch (end.status) {
    case 404:
      return { kind: "gone", reason: `the session no longer exists (${what})` };
    case 401:
    case 403:
      return { kind: "gone", reason: `the gateway refused the credentials (${what})` };
    case 400:
      if (context.usedReceived) return { kind: "retry_without_received", reason: what };
      return { kind: "retry", reason: what };
    case undefined:
      return context.showsStatus
        ? { kind: "retry", reason: what }
        : { kind: "probe", reason: what };
    default:
      return { kind: "retry", reason: what };
  }
}

export function describeEnd(end: SocketEnd): string {
  const what = end.status !== undefined ? `HTTP ${end.status}` : `close ${end.code}`;
  return end.reason ? `${what}: ${end.reason}` : what;
}
