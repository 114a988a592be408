/**
 * GET /mcp with Last-Event-ID (session era, "Resumability and Redelivery"):
 * resumes a reply stream after the event it names. The Worker holds the
 * client's SSE response and opens an internal WebSocket to the session object,
 * which the object accepts through the Hibernation API: the object replays the
 * kept events after that one, sends each new event, and closes the socket after
 * the stream's final reply. Between events the object sleeps; the keepalive
 * comments are the Worker's, never the object's.
 *
 * Event ids are `<stream>.<n>` (worker/session/reply-streams.ts). Anything
 * else is 400, as is an event this session does not know (another session's,
 * a forgotten stream's): the session is alive, and 404 would tell the client
 * to start a new one (spec: 404 means the session is gone). A session this
 * principal cannot reach answers 404 exactly like an unknown one.
 */
import { SESSION_ID_HEADER } from "../../shared/limits";
import { isRecord } from "../../shared/protocol";
import { STREAM_ID_PATTERN } from "../session/reply-streams";
import { unknownEvent, unknownSession } from "../session/session-ids";
import { INTERNAL_RESUME, PRINCIPAL_HEADER } from "../session/session-object";
import { keepAlive, SseWriter, sseResponse } from "../transports/sse";
import type { AppContext } from "./app-env";

const EVENT_ID_PATTERN = /^([0-9a-f]{16})\.(0|[1-9][0-9]{0,15})$/;

export async function resumeStream(
  c: AppContext,
  sessionId: DurableObjectId,
  lastEventId: string,
  keepaliveMs: number,
): Promise<Response> {
  const match = EVENT_ID_PATTERN.exec(lastEventId.trim());
  const stream = match?.[1];
  const after = Number(match?.[2]);
  if (!stream || !STREAM_ID_PATTERN.test(stream) || !Number.isSafeInteger(after)) {
    return unknownEvent();
  }
  const url = `${INTERNAL_RESUME}?stream=${stream}&after=${after}`;
  const answer = await c.env.SESSIONS.get(sessionId).fetch(url, {
    headers: { Upgrade: "websocket", [PRINCIPAL_HEADER]: c.get("principal") },
  });
  const socket = answer.webSocket;
  if (answer.status !== 101 || !socket) return answer.status === 404 ? unknownSession() : answer;
  return relay(socket, sessionId.toString(), keepaliveMs);
}

function relay(socket: WebSocket, sessionId: string, keepaliveMs: number): Response {
  const sse = new SseWriter();
  socket.accept();
  const end = () => {
    stop();
    sse.close();
    try {
      socket.close(1000, "stream ended");
    } catch {
      // Already closed.
    }
  };
  socket.addEventListener("message", (event) => {
    const value = typeof event.data === "string" ? parse(event.data) : null;
    if (value) sse.event(value.data, value.id);
  });
  socket.addEventListener("close", end);
  socket.addEventListener("error", end);
  const stop = keepAlive(sse, keepaliveMs, end);
  return sseResponse(sse, { [SESSION_ID_HEADER]: sessionId });
}

function parse(text: string): { id: string; data: string } | null {
  try {
    const value: unknown = JSON.parse(text);
    if (isRecord(value) && typeof value.id === "string" && typeof value.data === "string") {
      return { id: value.id, data: value.data };
    }
  } catch {
    // Not from the object: ignored.
  }
  return null;
}
