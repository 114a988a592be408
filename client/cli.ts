/**
 * `dormouse` on the command line (package.json "bin" -> bin/dormouse.mjs ->
 * the bundle of client/bin.ts). One command today: `connect`, the stdio
 * bridge (bridge.ts). Arguments are parsed with node:util, and nothing but
 * JSON-RPC is ever written to stdout.
 */
import { parseArgs } from "node:util";
import { runBridge } from "./bridge";

export const USAGE = `Usage: dormouse connect <ws-url> [options]

Speaks MCP over stdin/stdout (newline-delimited JSON-RPC) and forwards it to a
Dormouse session over a resumable WebSocket: dropped connections are re-attached
and what was missed is replayed, so the stdio client never notices.

  <ws-url>              the gateway's WebSocket endpoint, e.g. wss://gateway.example/ws
  --token TOKEN         bearer token (or set DORMOUSE_TOKEN; the variable keeps it out of ps)
  --session ID          re-attach to this existing session instead of creating one
  --keepalive-ms N      keepalive ping interval (default 15000; 0 turns it off)
  --max-reconnect-ms N  give up re-attaching after this long (default: never)
  --quiet               log only failures and the end to stderr
  --help

Exit status: 0 when stdin closes, 1 when the session is gone or unreachable, 2 on bad usage.
`;

export interface ConnectCommand {
  url: string;
  token: string | undefined;
  sessionId: string | undefined;
  keepaliveIntervalMs: number | undefined;
  maxReconnectMs: number | undefined;
  quiet: boolean;
}

/** The command line, or a usage error (a sentence), or "help". */
export function parseCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): ConnectCommand | "help" | { error: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [command, url, ...extra] = positionals;
  if (command !== "connect") return { error: `unknown command "${command ?? ""}"` };
  if (!url) return { error: "connect needs the gateway's WebSocket URL" };
  if (extra.length > 0) return { error: `unexpected argument "${extra[0]}"` };
  if (!/^wss?:\/\//.test(url)) return { error: `"${url}" is not a ws:// or wss:// URL` };
  const keepalive = count(values["keepalive-ms"], "--keepalive-ms");
  const maxReconnect = count(values["max-reconnect-ms"], "--max-reconnect-ms");
  if (typeof keepalive === "string") return { error: keepalive };
  if (typeof maxReconnect === "string") return { error: maxReconnect };
  return {
    url,
    token: values.token ?? (env.DORMOUSE_TOKEN || undefined),
    sessionId: values.session,
    keepaliveIntervalMs: keepalive,
    maxReconnectMs: maxReconnect,
    quiet: values.quiet ?? false,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      token: { type: "string" },
      session: { type: "string" },
      "keepalive-ms": { type: "string" },
      "max-reconnect-ms": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function count(raw: string | undefined, flag: string): number | undefined | string {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : `${flag} needs a whole number of milliseconds`;
}

/** Runs the command line; resolves with the exit code. */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const command = parseCommand(argv, env);
  const log = (line: string) => process.stderr.write(`dormouse: ${line}\n`);
  if (command === "help") {
    process.stderr.write(USAGE);
    return 0;
  }
  if ("error" in command) {
    log(command.error);
    process.stderr.write(USAGE);
    return 2;
  }
  return runBridge({
    transport: {
      url: command.url,
      token: command.token,
      sessionId: command.sessionId,
      keepaliveIntervalMs: command.keepaliveIntervalMs,
      maxReconnectMs: command.maxReconnectMs,
    },
    input: process.stdin,
    output: process.stdout,
    log,
    quiet: command.quiet,
  });
}
