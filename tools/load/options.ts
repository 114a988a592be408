/**
 * Command-line options of `npm run load`, their defaults and their checks.
 * Every count and duration has an upper bound, so no option can make a run
 * unbounded.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type MixEntry, parseMix } from "./mix";
import { endpointFor, type Target, type Transport, type WireProtocol } from "./target";

export interface LoadOptions {
  url: string;
  target: Target;
  sessions: number;
  ratePerS: number;
  idleS: number;
  concurrency: number;
  durationS: number;
  mix: MixEntry[];
  mixSpec: string;
  payloadBytes: number;
  wakeSample: number;
  wakeConcurrency: number;
  verifyWakes: boolean;
  processes: number;
  pids: number[] | "auto" | "none";
  rampStep: number;
  rampSettleS: number;
  stopOnError: boolean;
  maxRuntimeS: number;
  json: string | undefined;
  quiet: boolean;
}

export const HELP = `Usage: npm run load -- [options]

Opens sessions against a Dormouse gateway (or any MCP server, or an echo
floor), optionally runs a steady tool-call mix, lets the sessions idle so
their objects hibernate, wakes a sample, and reports connect rate, round-trip
percentiles (p50/p90/p99/max), throughput, errors by kind and, for a local
target, the gateway processes' memory and open files.

  --url URL             gateway base URL or full endpoint (default http://127.0.0.1:8787;
                        /ws or /mcp is appended when the URL has no path)
  --transport ws|http   WebSocket (default) or Streamable HTTP
  --protocol mcp|stateless|echo
                        mcp (default): initialize + tools/call; stateless: MCP
                        2026-07-28 requests with no session (HTTP only); echo:
                        frames or POST bodies are echoed back verbatim (the floors
                        in bench/ and the Node ws server)
  --sessions N          sessions to open (default 10, at most 100000)
  --rate R              new sessions per second; 0 = as fast as --concurrency allows (default 0)
  --concurrency C       handshakes in flight while connecting, and call lanes in the
                        steady mix (default 10)
  --duration S          seconds of steady tool calls after connecting (default 0 = none)
  --mix SPEC            tools of the steady mix, tool[:weight],... (default echo);
                        e.g. echo:8,add:1,session_info:1
  --payload BYTES       size of the echo text (default 64)
  --idle S              seconds to stay silent before waking a sample (default 0 = skip;
                        > 10 lets local workerd evict the objects)
  --wake-sample N|all   idle sessions to wake with one call each (default 100)
  --wake-concurrency C  wakes in flight at once (default 1)
  --no-verify-wakes     skip reading the wake count (session_info.wakes; the floors'
                        \`wakes\` message) before and after idling
  --token TOKEN         sent as Authorization: Bearer on every request and upgrade
  --timeout S           per handshake / call timeout (default 10)
  --processes N|auto    client processes; auto forks when sessions exceed the
                        open-file limit of one process (default auto)
  --pids LIST|auto|none gateway PIDs to sample (comma-separated); auto finds the
                        processes serving a loopback URL's port (default auto)
  --ramp-step N         connect in steps of N and stop at the first error: the
                        most sessions held with zero errors (a ceiling search)
  --ramp-settle S       pause after each ramp step before checking (default 2)
  --stop-on-error       stop connecting at the first failed session
  --max-runtime S       hard cap on the whole run (default 3600)
  --json FILE           also write the JSON report to FILE
  --quiet               no progress bar
  --help                this text

Ctrl-C stops the run cleanly: sessions are closed and what was measured is reported.
`;

const LIMITS = {
  sessions: 100_000,
  rate: 100_000,
  concurrency: 10_000,
  duration: 3_600,
  idle: 3_600,
};

export function parseOptions(argv: readonly string[]): LoadOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    allowNegative: true,
    strict: true,
    options: {
      url: { type: "string", default: "http://127.0.0.1:8787" },
      transport: { type: "string", default: "ws" },
      protocol: { type: "string", default: "mcp" },
      sessions: { type: "string", default: "10" },
      rate: { type: "string", default: "0" },
      concurrency: { type: "string", default: "10" },
      duration: { type: "string", default: "0" },
      mix: { type: "string", default: "echo" },
      payload: { type: "string", default: "64" },
      idle: { type: "string", default: "0" },
      "wake-sample": { type: "string", default: "100" },
      "wake-concurrency": { type: "string", default: "1" },
      "verify-wakes": { type: "boolean", default: true },
      token: { type: "string" },
      timeout: { type: "string", default: "10" },
      processes: { type: "string", default: "auto" },
      pids: { type: "string", default: "auto" },
      "ramp-step": { type: "string", default: "0" },
      "ramp-settle": { type: "string", default: "2" },
      "stop-on-error": { type: "boolean", default: false },
      "max-runtime": { type: "string", default: "3600" },
      json: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const transport = oneOf(values.transport, ["ws", "http"] as const, "--transport");
  const protocol = oneOf(values.protocol, ["mcp", "stateless", "echo"] as const, "--protocol");
  if (protocol === "stateless" && transport !== "http")
    throw new Error("--protocol stateless needs --transport http");
  const sessions = int(values.sessions, "--sessions", 1, LIMITS.sessions);
  const url = values.url;
  try {
    new URL(url);
  } catch {
    throw new Error(`--url: "${url}" is not a URL`);
  }
  const target: Target = {
    endpoint: endpointFor(url, transport as Transport),
    transport: transport as Transport,
    protocol: protocol as WireProtocol,
    token: values.token,
    timeoutMs: num(values.timeout, "--timeout", 0.1, 600) * 1000,
  };
  const wakeSample =
    values["wake-sample"] === "all"
      ? sessions
      : int(values["wake-sample"], "--wake-sample", 0, LIMITS.sessions);
  return {
    url,
    target,
    sessions,
    ratePerS: num(values.rate, "--rate", 0, LIMITS.rate),
    idleS: num(values.idle, "--idle", 0, LIMITS.idle),
    concurrency: int(values.concurrency, "--concurrency", 1, LIMITS.concurrency),
    durationS: num(values.duration, "--duration", 0, LIMITS.duration),
    mix: parseMix(values.mix),
    mixSpec: values.mix,
    payloadBytes: int(values.payload, "--payload", 1, 1_000_000),
    wakeSample: Math.min(wakeSample, sessions),
    wakeConcurrency: int(values["wake-concurrency"], "--wake-concurrency", 1, LIMITS.concurrency),
    verifyWakes: values["verify-wakes"],
    processes: processCount(values.processes, sessions),
    pids: pidList(values.pids),
    rampStep: int(values["ramp-step"], "--ramp-step", 0, LIMITS.sessions),
    rampSettleS: num(values["ramp-settle"], "--ramp-settle", 0, 600),
    stopOnError: values["stop-on-error"],
    maxRuntimeS: num(values["max-runtime"], "--max-runtime", 1, 86_400),
    json: values.json,
    quiet: values.quiet,
  };
}

/** This process's soft limit on open files (`ulimit -n`), or 1024 when unknown. */
export function openFileLimit(): number {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+)/m.exec(limits);
    if (match) return Number(match[1]);
  } catch {
    // Not Linux.
  }
  return 1024;
}

/** Descriptors a client process keeps for itself (stdio, IPC, DNS, the event loop). */
const RESERVED_FDS = 200;

function processCount(value: string, sessions: number): number {
  if (value === "auto")
    return Math.max(1, Math.ceil(sessions / Math.max(100, openFileLimit() - RESERVED_FDS)));
  return int(value, "--processes", 1, 64);
}

function pidList(value: string): number[] | "auto" | "none" {
  if (value === "auto" || value === "none") return value;
  return value.split(",").map((part) => int(part.trim(), "--pids", 1, 2 ** 22));
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`${name}: expected one of ${allowed.join(", ")}, got "${value}"`);
}

function num(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new Error(`${name}: expected a number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

function int(value: string, name: string, min: number, max: number): number {
  const n = num(value, name, min, max);
  if (!Number.isInteger(n)) throw new Error(`${name}: expected a whole number, got "${value}"`);
  return n;
}
