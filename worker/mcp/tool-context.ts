/**
 * The ToolContext a tool (or prompt, or resource) sees during one request:
 * progress and log notifications on the request's channel, per-session tool
 * state, the client's capabilities and multi-round-trip answers, and a
 * snapshot of the session for introspection tools.
 */
import { notificationEnvelope } from "../../shared/errors";
import type { LogLevel } from "../../shared/protocol";
import type { SessionSnapshot, ToolContext } from "../tools/types";
import { clientLog, logLevelOf } from "./client-log";
import type { CallContext } from "./context";

export function toolContext(toolset: string, call: CallContext): ToolContext {
  const { session } = call;
  return {
    sessionId: session.sessionId,
    signal: call.signal,
    progressToken: call.progressToken,
    progress(progress, total, message) {
      if (call.progressToken === undefined || call.signal.aborted) return;
      call.channel.send(
        notificationEnvelope("notifications/progress", {
          progressToken: call.progressToken,
          progress,
          ...(total !== undefined ? { total } : {}),
          ...(message !== undefined ? { message } : {}),
        }),
      );
    },
    log: clientLog(call),
    state: {
      get: (key) => session.storage.getToolState(toolset, key),
      set: (key, value) => session.storage.setToolState(toolset, key, value),
    },
    session: () => snapshot(call, logLevelOf(call)),
    get clientCapabilities() {
      return call.clientCapabilities();
    },
    inputResponses: call.inputResponses,
    requestState: call.requestState,
  };
}

function snapshot(call: CallContext, logLevel: LogLevel): SessionSnapshot {
  const record = call.session.record();
  const modern = call.era.kind === "modern" ? call.era : null;
  return {
    sessionId: call.session.sessionId,
    era: modern ? "2026-07-28" : "session",
    protocolVersion: modern ? modern.version : record.protocolVersion,
    clientInfo: modern
      ? (modern.envelope["io.modelcontextprotocol/clientInfo"] ?? null)
      : record.clientInfo,
    logLevel,
    phase: record.phase,
    wakes: record.wakes,
    createdAt: new Date(record.createdAt).toISOString(),
    attachGeneration: record.attachGen,
    subscriptions: call.session.storage.listSubscriptions(),
  };
}
