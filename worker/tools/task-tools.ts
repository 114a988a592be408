/**
 * The default toolset's durable-task tools (issue #13), both written as steps
 * (TaskProgram), so a task holds no timer and no open request while it waits:
 *
 * - `wait {seconds, stepSeconds?}`: waits up to 24 h, one alarm per step,
 *   progress after each. Task only (taskSupport "required"): no request may
 *   stay open that long.
 * - `approve {action}`: asks the client yes or no through an elicitation form.
 *   As a task it asks with `input_required` and may wait days (its TTL) for the
 *   answer; called without a task it asks with a multi-round-trip request
 *   (SEP-2322), which session-era clients see as a real elicitation/create.
 */
import * as v from "valibot";
import { DEFAULT_TASK_TTL_MS, MIN_TASK_STEP_MS, WAIT_MAX_MS } from "../../shared/limits";
import { isRecord } from "../../shared/protocol";
import { defineTool, text } from "./define";
import { ask, done, timedSteps } from "./task-steps";
import { type InputRequest, InputRequired, type ToolResult } from "./types";

/** How long an approval may wait for its answer: days (issue #13). */
export const APPROVE_TTL_MS = 3 * 24 * 60 * 60_000;
const APPROVE_POLL_MS = 5_000;
const DEFAULT_STEP_SECONDS = 60;

export const wait = defineTool({
  name: "wait",
  description: `Waits \`seconds\` (at most ${WAIT_MAX_MS / 3_600_000} h) as a durable task, one alarm per step of \`stepSeconds\` (default ${DEFAULT_STEP_SECONDS}), reporting progress after each; survives disconnects and restarts.`,
  input: v.object({
    seconds: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(WAIT_MAX_MS / 1000)),
    stepSeconds: v.optional(
      v.pipe(v.number(), v.integer(), v.minValue(MIN_TASK_STEP_MS / 1000), v.maxValue(3600)),
    ),
  }),
  annotations: { readOnlyHint: true },
  // Never reached: the registry refuses a task-only tool called without a task.
  run: () => text("wait runs only as a task"),
  task: {
    support: "required",
    ttlMs: ({ seconds }) => seconds * 1000 + DEFAULT_TASK_TTL_MS,
    pollIntervalMs: ({ seconds, stepSeconds }) =>
      Math.min(seconds, stepSeconds ?? DEFAULT_STEP_SECONDS) * 1000 || MIN_TASK_STEP_MS,
    step: ({ seconds, stepSeconds }, step) =>
      timedSteps(
        seconds * 1000,
        (stepSeconds ?? DEFAULT_STEP_SECONDS) * 1000,
        (total) => done(text(`waited ${total / 1000} s`), `waited ${total / 1000} s`),
        (elapsed, total) =>
          `waited ${Math.round(elapsed / 1000)} of ${total / 1000} s (step ${step.index + 1})`,
      )(step.state, step.now),
  },
});

const APPROVAL_KEY = "approval";

function approvalRequest(action: string): InputRequest {
  return {
    method: "elicitation/create",
    params: {
      mode: "form",
      message: `Approve this action? ${action}`,
      requestedSchema: {
        type: "object",
        properties: {
          approved: { type: "boolean", title: "Approve", description: action },
          note: { type: "string", title: "Note", maxLength: 500 },
        },
        required: ["approved"],
      },
    },
  };
}

/**
 * The verdict in an elicitation answer: approved only on accept with
 * `approved: true`. An accept whose content does not fit the form (no boolean
 * `approved`) approves nothing and says so, as an error, rather than passing
 * for a "no".
 */
function verdict(action: string, answer: unknown): ToolResult {
  const reply = isRecord(answer) ? answer : {};
  const content = isRecord(reply.content) ? reply.content : {};
  const approved = reply.action === "accept" && content.approved === true;
  const misfit = reply.action === "accept" && typeof content.approved !== "boolean";
  const note = typeof content.note === "string" ? content.note.slice(0, 500) : undefined;
  const why =
    reply.action !== "accept"
      ? ` (${String(reply.action)})`
      : approved
        ? ""
        : misfit
          ? " (the answer did not fit the form: `approved` must be true or false)"
          : " (answered no)";
  return {
    content: [{ type: "text", text: `${approved ? "Approved" : "Not approved"}: ${action}${why}` }],
    structuredContent: { approved, action, ...(note ? { note } : {}) },
    ...(misfit ? { isError: true } : {}),
  };
}

export const approve = defineTool({
  name: "approve",
  description:
    "Asks the person at the client to approve `action` (yes/no, through an elicitation form) and reports their answer. As a task it may wait days for the answer.",
  input: v.object({
    action: v.pipe(v.string(), v.minLength(1), v.maxLength(500)),
  }),
  run: ({ action }, ctx) => {
    const answer = ctx.inputResponses?.[APPROVAL_KEY];
    if (answer === undefined) return new InputRequired({ [APPROVAL_KEY]: approvalRequest(action) });
    return verdict(action, answer);
  },
  task: {
    support: "optional",
    ttlMs: () => APPROVE_TTL_MS,
    pollIntervalMs: () => APPROVE_POLL_MS,
    step: ({ action }, step) => {
      const answer = step.answers[APPROVAL_KEY];
      if (answer === undefined) {
        return ask(
          { [APPROVAL_KEY]: approvalRequest(action) },
          null,
          `Waiting for approval: ${action}`,
        );
      }
      const result = verdict(action, answer);
      return done(result, String(result.content[0]?.text));
    },
  },
});
