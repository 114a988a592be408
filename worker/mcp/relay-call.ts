/**
 * Builds federation's narrow view of a call (federation/relay-call.ts) from the
 * dispatcher's CallContext: the MCP layer hands federation what a relayed call
 * needs and keeps the rest (session, registry, deadline, storage) to itself.
 */
import type { RelayCall } from "../federation/relay-call";
import { clientLog } from "./client-log";
import type { CallContext } from "./context";

export function relayCall(call: CallContext): RelayCall {
  return {
    sessionId: call.session.sessionId,
    trace: call.trace,
    era: call.era.kind,
    signal: call.signal,
    progressToken: call.progressToken,
    send: (message) => call.channel.send(message),
    log: clientLog(call),
    clientCapabilities: () => call.clientCapabilities(),
    askClient: (method, params, signal) => call.askClient(method, params, signal),
    deadline: call.deadline,
    inputResponses: call.inputResponses,
    requestState: call.requestState,
  };
}
