/**
 * Log messages to the client (`notifications/message`) for one call, through
 * the level filter of its era: the session's logging/setLevel, or in
 * 2026-07-28 the request's `_meta` log level, without which the server must
 * not log at all.
 */
import { notificationEnvelope } from "../../shared/errors";
import { type LogLevel, logLevelPasses, META_LOG_LEVEL } from "../../shared/protocol";
import type { CallContext } from "./context";

export type ClientLog = (level: LogLevel, data: unknown, logger?: string) => boolean;

/** The call's log threshold. */
export function logLevelOf(call: CallContext): LogLevel {
  return call.era.kind === "modern"
    ? (call.era.envelope[META_LOG_LEVEL] ?? "info")
    : call.session.hot().logLevel;
}

/** Sends a log message when it passes the call's level; says whether it was sent. */
export function clientLog(call: CallContext): ClientLog {
  return (level, data, logger) => {
    if (call.era.kind === "modern" && call.era.envelope[META_LOG_LEVEL] === undefined) return false;
    if (!logLevelPasses(level, logLevelOf(call))) return false;
    call.channel.send(
      notificationEnvelope("notifications/message", {
        level,
        data,
        ...(logger ? { logger } : {}),
      }),
    );
    return true;
  };
}
