/**
 * The stdio bridge behind `dormouse connect`: MCP over stdin/stdout
 * (newline-delimited JSON-RPC, as the SDKs' StdioServerTransport speaks it)
 * on one side, a Dormouse session over the resumable WebSocket transport on
 * the other. A stdio-only client (Claude Desktop, an IDE) spawns it and gets
 * a long-lived session that survives dropped connections, sleeping laptops
 * and gateway restarts; only the session's real end stops it.
 *
 * stdout carries JSON-RPC only; everything else goes to stderr, one line per
 * event. Messages pass through unchanged, except that a line that is not JSON
 * is answered here (-32700), as the gateway would, and a request that could
 * not be sent (too many waiting while re-attaching) is answered with an error
 * rather than left without a reply. Exit code: 0 when stdin ends (the session
 * stays on the gateway until its idle TTL; `--session` re-attaches to it), 1
 * when the session is gone or the gateway could not be reached.
 */
import { errorEnvelope, INTERNAL_ERROR, JsonRpcError, PARSE_ERROR } from "../shared/errors";
import { MAX_FRAME_BYTES } from "../shared/limits";
import { LineSplitter } from "./lines";
import type { JsonRpcMessage } from "./messages";
import { nodeTransport } from "./node";
import { isObject } from "./received-count";
import type { ResumableWebSocketOptions, TransportEvent } from "./resumable-websocket";

export interface BridgeOptions {
  transport: ResumableWebSocketOptions;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** One line for people (stderr). */
  log(line: string): void;
  /** Log only failures and the end, not every drop and re-attach. */
  quiet?: boolean;
}

/** Runs until stdin ends (0) or the session is gone (1). */
export async function runBridge(options: BridgeOptions): Promise<number> {
  const { input, output, log } = options;
  let stdinEnded = false;
  let closedLogged = false;
  let exit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const write = (message: unknown) => {
    output.write(`${JSON.stringify(message)}\n`);
  };
  const transport = nodeTransport({
    ...options.transport,
    onEvent: (event) => {
      const line = describe(event);
      if (event.type === "closed") closedLogged = true;
      if (line && (!options.quiet || event.type === "closed")) log(line);
    },
  });
  transport.onmessage = write;
  transport.onerror = (error) => log(`warning: ${error.message}`);
  transport.onclose = () => exit(stdinEnded ? 0 : 1);
  try {
    await transport.start();
  } catch (error) {
    if (!closedLogged) log(`could not connect: ${error instanceof Error ? error.message : error}`);
    return 1;
  }

  const splitter = new LineSplitter(MAX_FRAME_BYTES);
  input.setEncoding("utf8");
  input.on("data", (chunk: string) => {
    const { lines, dropped } = splitter.push(chunk);
    for (let i = 0; i < dropped; i++) {
      write(
        errorEnvelope(null, new JsonRpcError(PARSE_ERROR, `Line over ${MAX_FRAME_BYTES} bytes`)),
      );
    }
    for (const line of lines) forward(line);
  });
  input.on("end", () => {
    stdinEnded = true;
    const id = transport.sessionId;
    if (id)
      log(`stdin closed; session ${id} stays on the gateway (re-attach with --session ${id})`);
    void transport.close();
  });

  const forward = (line: string) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      write(errorEnvelope(null, new JsonRpcError(PARSE_ERROR, "Parse error: a line is not JSON")));
      return;
    }
    if (!isObject(message)) {
      // Not ours to judge further: the gateway answers it (-32600) like any bad message.
      void transport.send(message as unknown as JsonRpcMessage).catch(() => {});
      return;
    }
    transport.send(message as JsonRpcMessage).catch((error: unknown) => {
      const id = message.id;
      if (
        (typeof id === "string" || typeof id === "number") &&
        typeof message.method === "string"
      ) {
        const reason = error instanceof Error ? error.message : String(error);
        write(errorEnvelope(id, new JsonRpcError(INTERNAL_ERROR, reason)));
      }
    });
  };

  return exited;
}

function describe(event: TransportEvent): string | null {
  switch (event.type) {
    case "open":
      return event.reattached
        ? `re-attached to session ${event.sessionId ?? "?"}`
        : `connected to ${event.url}${event.sessionId ? ` (session ${event.sessionId})` : ""}`;
    case "drop":
      return `connection dropped (close ${event.code}${event.reason ? `: ${event.reason}` : ""}); re-attaching`;
    case "retry":
      return `re-attach attempt ${event.attempt} in ${event.delayMs} ms (${event.reason})`;
    case "keepalive_timeout":
      return "no answer to the keepalive: the connection is dead";
    case "messages_lost":
      return `the gateway no longer holds messages ${event.notice.first}..${event.notice.last} (${event.notice.count} lost)`;
    case "resumed": {
      const { replayed, lost, inFlight } = event.notice;
      const failed = event.failed.length ? `; ${event.failed.length} request(s) lost` : "";
      return `resumed: ${replayed} replayed, ${lost} lost, ${inFlight.length} still running${failed}`;
    }
    case "closed":
      return `session closed: ${event.reason}`;
  }
}
