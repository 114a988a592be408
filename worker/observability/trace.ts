/**
 * W3C Trace Context for one call (SEP-414: `traceparent`, `tracestate` and
 * `baggage` in a request's `_meta`; the HTTP edge copies the headers of the
 * same names there). A call that carries a valid `traceparent` continues that
 * trace; any other call starts one, so every log line of a call can be joined
 * by its trace id. The dispatcher holds a call's trace on its context and
 * passes it to the log lines it writes; federation runs what it relays inside
 * it as an AsyncLocalStorage context (workerd's `nodejs_als` flag), where the
 * logger stamps each line with it and the upstream client sends it on (header
 * and `_meta`) with the call's own span as the parent. Not one async context
 * per call: entering it was about a quarter of Dormouse's own CPU per warm
 * WebSocket message (8 to 11 µs in four interleaved pairs), and a call served
 * by a built-in tool needs the trace only for its few error lines.
 *
 * https://www.w3.org/TR/trace-context/#traceparent-header
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface Trace {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** This call's span: 16 hex digits, the parent id of what the call sends upstream. */
  spanId: string;
  /** Two hex digits (01: sampled). */
  flags: string;
  /** Passed through unchanged (W3C: vendors' state). */
  tracestate?: string;
  baggage?: string;
}

/** Longest tracestate / baggage carried on (W3C: 512 list members; we bound bytes). */
const MAX_CARRIED_CHARS = 8_192;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

const storage = new AsyncLocalStorage<Trace>();

/** The trace of the call this code runs for, if any. */
export function currentTrace(): Trace | undefined {
  return storage.getStore();
}

/** Runs `fn` as part of `trace`. */
export function withTrace<R>(trace: Trace, fn: () => R): R {
  return storage.run(trace, fn);
}

/**
 * A call's trace from the carriers in its `_meta` (or a new trace when none is
 * valid). The random ids are drawn when first read (a log line, an upstream
 * request), not per call: most warm calls log nothing and call no upstream,
 * and drawing them was 8% of a warm WebSocket call in the profile.
 */
export function traceFrom(meta: unknown): Trace {
  const carrier =
    typeof meta === "object" && meta !== null ? (meta as Record<string, unknown>) : {};
  const parent = parseTraceparent(carrier.traceparent);
  if (!parent) return new CallTrace(null, "01");
  return new CallTrace(parent.traceId, parent.flags, {
    ...carried("tracestate", carrier.tracestate),
    ...carried("baggage", carrier.baggage),
  });
}

class CallTrace implements Trace {
  #traceId: string | null;
  #spanId: string | null = null;
  readonly flags: string;
  readonly tracestate?: string;
  readonly baggage?: string;

  constructor(traceId: string | null, flags: string, carriedOn: Partial<Trace> = {}) {
    this.#traceId = traceId;
    this.flags = flags;
    if (carriedOn.tracestate) this.tracestate = carriedOn.tracestate;
    if (carriedOn.baggage) this.baggage = carriedOn.baggage;
  }

  get traceId(): string {
    this.#traceId ??= randomHex(16);
    return this.#traceId;
  }

  get spanId(): string {
    this.#spanId ??= randomHex(8);
    return this.#spanId;
  }
}

/** The `traceparent` this call sends upstream: same trace, this call's span as parent. */
export function outgoingTraceparent(trace: Trace): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

/** The carriers to put on an outgoing request (header names equal `_meta` keys). */
export function outgoingCarriers(trace: Trace): Record<string, string> {
  return {
    traceparent: outgoingTraceparent(trace),
    ...(trace.tracestate ? { tracestate: trace.tracestate } : {}),
    ...(trace.baggage ? { baggage: trace.baggage } : {}),
  };
}

export function parseTraceparent(
  value: unknown,
): { traceId: string; parentId: string; flags: string } | null {
  if (typeof value !== "string") return null;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  // Version ff is invalid; version 00 has exactly four fields; all-zero ids are invalid.
  if (version === "ff" || (version === "00" && value.trim().length !== 55)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return null;
  return { traceId, parentId, flags };
}

function carried(key: "tracestate" | "baggage", value: unknown): Partial<Trace> {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_CARRIED_CHARS)
    return {};
  // Printable ASCII only: it becomes an HTTP header value upstream.
  return /^[\x20-\x7e]+$/.test(value) ? { [key]: value } : {};
}

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return [...buffer].map((b) => b.toString(16).padStart(2, "0")).join("");
}
