/**
 * The session lifecycle as an explicit state machine.
 *
 *   new --initialize--> initializing --initialized--> ready
 *   initializing|ready --initialize--> initializing   (renegotiation, e.g. a client
 *                                                       re-attaching with ?session= and
 *                                                       running its handshake again)
 *   any live phase --end--> ended                      (terminal)
 *
 * `transition` is pure and returns null for an event the phase does not accept.
 * The phase only governs the session era: 2026-07-28 requests carry their own
 * envelope and are served in any live phase.
 */
export type Phase = "new" | "initializing" | "ready" | "ended";
export type LifecycleEvent = "initialize" | "initialized" | "end";

export const PHASES: readonly Phase[] = ["new", "initializing", "ready", "ended"];

export function transition(phase: Phase, event: LifecycleEvent): Phase | null {
  if (phase === "ended") return null;
  switch (event) {
    case "initialize":
      return "initializing";
    case "initialized":
      return phase === "new" ? null : "ready";
    case "end":
      return "ended";
  }
}

/** Session-era requests allowed before the handshake (spec: lifecycle, "ping"). */
const ALLOWED_BEFORE_INITIALIZE = new Set(["initialize", "ping", "server/discover"]);

/** Whether a session-era request may be served in `phase`. */
export function acceptsSessionRequest(phase: Phase, method: string): boolean {
  if (phase === "ended") return false;
  if (phase === "new") return ALLOWED_BEFORE_INITIALIZE.has(method);
  return true;
}
