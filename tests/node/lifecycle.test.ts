/**
 * shared/lifecycle.ts as a table: every phase x event, and which session-era
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
  // Stated literally: the expectation must not be computed with the rule under test.
  const rows: readonly (readonly [Phase, string, boolean])[] = [
    ["new", "initialize", true],
    ["new", "ping", true],
    ["new", "server/discover", true],
    ["new", "tools/list", false],
    ["new", "tools/call", false],
    ["initializing", "initialize", true],
    ["initializing", "ping", true],
    ["initializing", "server/discover", true],
    ["initializing", "tools/list", true],
    ["initializing", "tools/call", true],
    ["ready", "initialize", true],
    ["ready", "ping", true],
    ["ready", "server/discover", true],
    ["ready", "tools/list", true],
    ["ready", "tools/call", true],
    ["ended", "initialize", false],
    ["ended", "ping", false],
    ["ended", "server/discover", false],
    ["ended", "tools/list", false],
    ["ended", "tools/call", false],
  ];
  it.each(rows)("in phase %s, %s is accepted: %s", (phase, method, allowed) => {
    expect(acceptsSessionRequest(phase, method)).toBe(allowed);
  });
});
