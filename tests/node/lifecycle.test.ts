/**
 * worker/lifecycle.ts as a table: every phase x event, and which session-era
 * methods each phase accepts.
 */
import { describe, expect, it } from "vitest";
import {
  acceptsSessionRequest,
  type LifecycleEvent,
  PHASES,
  type Phase,
  transition,
} from "../../shared/lifecycle";

const EVENTS: readonly LifecycleEvent[] = ["initialize", "initialized", "end"];

const TABLE: Record<Phase, Record<LifecycleEvent, Phase | null>> = {
  new: { initialize: "initializing", initialized: null, end: "ended" },
  initializing: { initialize: "initializing", initialized: "ready", end: "ended" },
  ready: { initialize: "initializing", initialized: "ready", end: "ended" },
  ended: { initialize: null, initialized: null, end: null },
};

describe("transition", () => {
  it("covers exactly the phases the module declares", () => {
    expect(Object.keys(TABLE).sort()).toEqual([...PHASES].sort());
  });

  const rows = PHASES.flatMap((phase) =>
    EVENTS.map((event) => [phase, event, TABLE[phase][event]] as const),
  );
  it.each(rows)("%s --%s--> %s", (phase, event, next) => {
    expect(transition(phase, event)).toBe(next);
  });
});

describe("acceptsSessionRequest", () => {
  const METHODS = ["initialize", "ping", "server/discover", "tools/list", "tools/call"];
  const ALLOWED_WHEN_NEW = new Set(["initialize", "ping", "server/discover"]);

  const rows = PHASES.flatMap((phase) =>
    METHODS.map((method) => {
      const allowed =
        phase === "ended" ? false : phase === "new" ? ALLOWED_WHEN_NEW.has(method) : true;
      return [phase, method, allowed] as const;
    }),
  );
  it.each(rows)("in phase %s, %s is accepted: %s", (phase, method, allowed) => {
    expect(acceptsSessionRequest(phase, method)).toBe(allowed);
  });
});
