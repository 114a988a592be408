/**
 * Building blocks for tools written as durable task steps (TaskProgram): the
 * step outcomes, and `timed`, the program of a task that waits in steps (each
 * step one alarm, progress after each) and then finishes. `wait`, `sleep` and
 * the conformance fixtures `slow_compute` and `failing_job` are all `timed`.
 */
import { MIN_TASK_STEP_MS } from "../../shared/limits";
import { isRecord } from "../../shared/protocol";
import type { InputRequest, TaskStepOutcome, ToolResult } from "./types";

export function done(result: ToolResult, message?: string): TaskStepOutcome {
  return { kind: "done", result, ...(message !== undefined ? { message } : {}) };
}

export function fail(code: number, message: string, data?: unknown): TaskStepOutcome {
  return { kind: "fail", code, message, ...(data !== undefined ? { data } : {}) };
}

export function ask(
  inputRequests: Record<string, InputRequest>,
  state: unknown,
  message?: string,
): TaskStepOutcome {
  return { kind: "ask", inputRequests, state, ...(message !== undefined ? { message } : {}) };
}

interface TimedState {
  /** When the wait began (the first step). */
  startedAt: number;
}

/**
 * A wait of `totalMs` in steps of `stepMs` (at least MIN_TASK_STEP_MS), each
 * step an alarm that reports progress, then `finish()`. The end is measured
 * from the first step, so a step that runs late (a restart) does not stretch
 * the wait; a step that runs after the end finishes at once.
 */
export function timedSteps(
  totalMs: number,
  stepMs: number,
  finish: (elapsedMs: number) => TaskStepOutcome,
  describe: (elapsedMs: number, totalMs: number) => string,
): (state: unknown, now: number) => TaskStepOutcome {
  const step = Math.max(MIN_TASK_STEP_MS, stepMs);
  return (state, now) => {
    const startedAt =
      isRecord(state) && typeof state.startedAt === "number" ? state.startedAt : now;
    const elapsed = Math.max(0, now - startedAt);
    if (elapsed >= totalMs) return finish(totalMs);
    const next = Math.min(startedAt + totalMs, startedAt + (Math.floor(elapsed / step) + 1) * step);
    const saved: TimedState = { startedAt };
    return {
      kind: "wait",
      until: next,
      state: saved,
      progress: { progress: elapsed, total: totalMs },
      message: describe(elapsed, totalMs),
    };
  };
}
