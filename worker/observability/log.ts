/**
 * Structured logs: one JSON line per event, with the session id and method
 * when known, and the trace id of the call it belongs to (trace.ts). Never
 * pass tokens or message bodies; errors are reduced to name and message
 * (stacks stay in the runtime's own exception reporting).
 */
import { currentTrace } from "./trace";

export type LogSeverity = "debug" | "info" | "warn" | "error";

export function logEvent(
  severity: LogSeverity,
  event: string,
  fields: Record<string, unknown> = {},
): void {
  const traceId = currentTrace()?.traceId;
  const line: Record<string, unknown> = {
    level: severity,
    event,
    ...(traceId ? { traceId } : {}),
    ...fields,
  };
  if (fields.error !== undefined) line.error = describeError(fields.error);
  const text = JSON.stringify(line);
  if (severity === "error") console.error(text);
  else if (severity === "warn") console.warn(text);
  else console.log(text);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
