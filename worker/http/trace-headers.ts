/**
 * Trace context from HTTP headers (`traceparent`, `tracestate`, `baggage`,
 * W3C Trace Context) for a POSTed request whose `_meta` carries none: the
 * edge copies them into `params._meta` (SEP-414's carrier), so the dispatcher
 * reads a call's trace from one place whatever the transport. A `_meta` value
 * wins over a header.
 */
import type { DecodedFrame } from "../../shared/codec";
import { isRecord } from "../../shared/protocol";
import { parseTraceparent } from "../observability/trace";

const CARRIERS = ["traceparent", "tracestate", "baggage"] as const;

/** The frame and body to forward: unchanged unless headers add trace context to a request. */
export function withHeaderTrace(
  request: Request,
  frame: DecodedFrame,
  text: string,
): { frame: DecodedFrame; text: string } {
  const traceparent = request.headers.get("traceparent");
  if (frame.kind !== "request" || !parseTraceparent(traceparent)) return { frame, text };
  const params = frame.message.params ?? {};
  const meta = isRecord(params._meta) ? params._meta : {};
  if (meta.traceparent !== undefined) return { frame, text };
  const added: Record<string, string> = {};
  for (const name of CARRIERS) {
    const value = request.headers.get(name);
    if (value !== null) added[name] = value;
  }
  const message = { ...frame.message, params: { ...params, _meta: { ...meta, ...added } } };
  return { frame: { ...frame, message }, text: JSON.stringify(message) };
}
