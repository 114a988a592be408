/**
 * The WebSocket wire format for MCP (no spec revision defines it; we follow
 * real clients and the SEP-1288 draft): subprotocol `mcp`, one JSON-RPC
 * message per text frame, binary frames are a protocol error (1003), frames
 * over MAX_FRAME_BYTES are refused (1009).
 *
 * This module knows frames and close codes, not MCP methods.
 */
import { exceedsUtf8Bytes } from "../../shared/codec";
import {
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_NORMAL,
  CLOSE_UNSUPPORTED_DATA,
  MAX_FRAME_BYTES,
  MCP_SUBPROTOCOL,
} from "../../shared/limits";

export type FrameCheck = { ok: true; text: string } | { ok: false; code: number; reason: string };

/** Guards one incoming frame before any parsing. */
export function checkFrame(data: string | ArrayBuffer): FrameCheck {
  if (typeof data !== "string") {
    return {
      ok: false,
      code: CLOSE_UNSUPPORTED_DATA,
      reason: "binary frames are not supported: send one JSON-RPC message per text frame",
    };
  }
  if (exceedsUtf8Bytes(data, MAX_FRAME_BYTES)) {
    return {
      ok: false,
      code: CLOSE_MESSAGE_TOO_BIG,
      reason: `frame exceeds ${MAX_FRAME_BYTES} bytes`,
    };
  }
  return { ok: true, text: data };
}

/** Whether the client offered the `mcp` subprotocol (Sec-WebSocket-Protocol is a comma list). */
export function offersMcpSubprotocol(header: string | null): boolean {
  if (!header) return false;
  return header.split(",").some((entry) => entry.trim() === MCP_SUBPROTOCOL);
}

/** Sends one serialized message as a text frame; false when the socket is gone. */
export function sendText(ws: WebSocket, text: string): boolean {
  try {
    ws.send(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Closes quietly. Echoing a reserved code (1005 "no status", 1006 "abnormal")
 * throws, and the client would then hang until its own timeout (docs/platform.md).
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  const safeCode = code === 1005 || code === 1006 || code === 1015 ? CLOSE_NORMAL : code;
  try {
    ws.close(safeCode, reason.slice(0, 123));
  } catch {
    // Already closed or closing: nothing left to do.
  }
}
