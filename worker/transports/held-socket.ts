/**
 * A WebSocket a Worker holds to an object (a listen stream's feed of list
 * changes or of a task's states). Workers-only (`accept()`), kept apart from
 * websocket.ts, which Node code shares.
 */
import { CLOSE_NORMAL } from "../../shared/limits";
import { closeQuietly } from "./websocket";

/** A socket a Worker holds to an object (a listen stream's feed), closed once by either side. */
export interface HeldSocket {
  close(): void;
}

/**
 * Holds the WebSocket of an object's answer to an upgrade as a feed: each text
 * message goes to `onText`, and `onEnd` runs once if the object's side ends it;
 * `close()` ends it from ours (then `onEnd` does not run). An answer other than
 * a 101 with a socket (the object refused, or is at its bound) is discarded: null.
 */
export async function holdSocket(
  response: Response,
  onText: (text: string) => void,
  onEnd: () => void,
): Promise<HeldSocket | null> {
  const ws = response.webSocket;
  if (response.status !== 101 || !ws) {
    await response.body?.cancel();
    return null;
  }
  ws.accept();
  let open = true;
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") onText(event.data);
  });
  ws.addEventListener("close", () => {
    if (!open) return;
    open = false;
    onEnd();
  });
  return {
    close() {
      if (!open) return;
      open = false;
      closeQuietly(ws, CLOSE_NORMAL, "listen stream closed");
    },
  };
}
