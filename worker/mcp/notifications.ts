/**
 * What a client's notification changes. `notifications/initialized` moves the
 * session on in its lifecycle (shared/lifecycle.ts), written to storage before
 * the hot state mirrors it; `notifications/cancelled` stops the request it
 * names, wherever that request waits (spec: cancellation; a malformed one is
 * ignored, as the spec allows). Any other notification is ignored: JSON-RPC
 * notifications get no reply, so there is nobody to tell.
 */
import * as v from "valibot";
import { transition } from "../../shared/lifecycle";
import { type JsonRpcNotification, RequestIdSchema, requestKey } from "../../shared/protocol";
import type { SessionContext } from "./context";

const CancelledSchema = v.looseObject({
  requestId: RequestIdSchema,
  reason: v.optional(v.string()),
});

/** Stops the request with this key (requestKey), for `reason`. */
export type CancelRequest = (key: string, reason: string) => void;

export function onNotification(
  notification: JsonRpcNotification,
  session: SessionContext,
  cancel: CancelRequest,
): void {
  switch (notification.method) {
    case "notifications/initialized": {
      const phase = session.hot().phase;
      const next = transition(phase, "initialized");
      if (next !== null && next !== phase) {
        session.storage.savePhase(next);
        session.updateHot({ phase: next });
      }
      return;
    }
    case "notifications/cancelled": {
      const parsed = v.safeParse(CancelledSchema, notification.params);
      if (!parsed.success) return;
      cancel(requestKey(parsed.output.requestId), parsed.output.reason ?? "cancelled by client");
      return;
    }
    default:
      return;
  }
}
