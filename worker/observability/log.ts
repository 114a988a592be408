/**
 * Structured logs: one JSON line per event, with the session id and method
 * when known, and the trace id of the call it belongs to (trace.ts). Never
 * pass tokens or message bodies; errors are reduced to name and message
 * (stacks stay in the runtime's own exception reporting).
 */
import { currentTrace, type Trace } from "./trace";

export type LogSeverity = "debug" | "info" | "warn" | "error";

const RANK: Record<LogSeverity, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** The least severity written (LOG_LEVEL, default `info`); per isolate, set when the Worker starts. */
let threshold = RANK.info;

/**
 * Sets the least severity written from the LOG_LEVEL var: `debug`, `info`
 * (unset), `warn` or `error`. Answers false, keeping `info`, for anything else.
 */
export function setLogLevel(level: string | undefined): boolean {
  const wanted = (level ?? "info").trim().toLowerCase();
  if (!Object.hasOwn(RANK, wanted)) {
    threshold = RANK.info;
    return false;
  }
  threshold = RANK[wanted as LogSeverity];
  return true;
}

/**
 * Writes one line. `trace`: the call it belongs to, when the caller holds it
 * (a dispatcher's call); otherwise the trace of the async context, if any
 * (federation's relayed work, a principal object's RPC).
 */
export function logEvent(
  severity: LogSeverity,
  event: string,
  fields: Record<string, unknown> = {},
  trace?: Trace,
): void {
  if (RANK[severity] < threshold) return;
  const traceId = (trace ?? currentTrace())?.traceId;
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
