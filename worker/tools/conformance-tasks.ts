/**
 * The `conformance` toolset's tasks-extension fixtures (SEP-2663; the
 * 0.2.0-alpha.12 suite's `tasks-*` scenarios name them): `greet` (never a
 * task), `slow_compute`, `failing_job`, `protocol_error_job`,
 * `confirm_delete`, `multi_input` and `test_tool_with_task`. Each task-capable
 * fixture is written as durable steps like the default toolset's `wait`, so
 * the suite exercises the same engine as real tasks.
 */
import * as v from "valibot";
import { INTERNAL_ERROR } from "../../shared/errors";
import { DEFAULT_TASK_TTL_MS, MIN_TASK_STEP_MS } from "../../shared/limits";
import { isRecord } from "../../shared/protocol";
import {
  answerOf,
  askString,
  ElicitAnswerSchema,
  elicitForm,
  formField,
} from "./conformance-fixtures";
import { defineTool, delay, text } from "./define";
import { ask, done, fail, timedSteps } from "./task-steps";
import { type InputRequest, InputRequired, type ToolResult } from "./types";

const CONFIRM_FORM = {
  type: "object",
  properties: { confirm: { type: "boolean" } },
  required: ["confirm"],
};

const failed: ToolResult = {
  isError: true,
  content: [{ type: "text", text: "failing_job failed (a tool error, on purpose)" }],
};

/** The text of an elicitation answer's `content[field]`, or what the person chose instead. */
function answered(answer: unknown, field: string): string {
  if (!isRecord(answer)) return "no answer";
  if (answer.action !== "accept") return String(answer.action);
  const content = isRecord(answer.content) ? answer.content : {};
  return String(content[field] ?? "");
}

export const conformanceTaskTools = [
  defineTool({
    name: "greet",
    description: "Returns `Hello, {name}!` (never a task).",
    input: v.object({ name: v.string() }),
    annotations: { readOnlyHint: true },
    run: ({ name }) => text(`Hello, ${name}!`),
  }),
  defineTool({
    name: "slow_compute",
    description:
      "Works `seconds` seconds, then reports `label`; a task when the client can take one.",
    input: v.object({
      seconds: v.pipe(v.number(), v.minValue(0), v.maxValue(3600)),
      label: v.optional(v.string(), ""),
    }),
    run: async ({ seconds, label }, ctx) => {
      await delay(seconds * 1000, ctx.signal);
      return text(`slow_compute ${label}: done after ${seconds} s`);
    },
    task: {
      support: "optional",
      ttlMs: ({ seconds }) => seconds * 1000 + DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      step: ({ seconds, label }, step) =>
        timedSteps(
          seconds * 1000,
          MIN_TASK_STEP_MS,
          () => done(text(`slow_compute ${label}: done after ${seconds} s`)),
          (elapsed, total) => `slow_compute ${label}: ${elapsed} of ${total} ms`,
        )(step.state, step.now),
    },
  }),
  defineTool({
    name: "failing_job",
    description: "A task that ends with a tool error (isError) after about a second.",
    input: v.object({}),
    run: () => failed,
    task: {
      support: "required",
      ttlMs: () => DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      step: (_args, step) =>
        timedSteps(
          MIN_TASK_STEP_MS,
          MIN_TASK_STEP_MS,
          () => done(failed),
          () => "failing soon",
        )(step.state, step.now),
    },
  }),
  defineTool({
    name: "protocol_error_job",
    description: "A task that ends with a JSON-RPC error (status failed).",
    input: v.object({}),
    run: () => text("protocol_error_job runs only as a task"),
    task: {
      support: "required",
      ttlMs: () => DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      step: () => fail(INTERNAL_ERROR, "protocol_error_job: a protocol-level failure, on purpose"),
    },
  }),
  defineTool({
    name: "confirm_delete",
    description: "Asks to confirm deleting `filename` (an elicitation), then reports the answer.",
    input: v.object({ filename: v.string() }),
    run: ({ filename }, ctx) => {
      const reply = answerOf(ctx, "confirm", ElicitAnswerSchema);
      if (!reply) return new InputRequired({ confirm: confirmRequest(filename) });
      return text(
        `${filename}: ${reply.action === "accept" ? formField(reply, "confirm", "confirm") : reply.action}`,
      );
    },
    task: {
      support: "optional",
      ttlMs: () => DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      step: ({ filename }, step) => {
        const answer = step.answers.confirm;
        if (answer === undefined) {
          return ask({ confirm: confirmRequest(filename) }, null, `Confirm deleting ${filename}?`);
        }
        return done(text(`${filename}: confirm=${answered(answer, "confirm")}`));
      },
    },
  }),
  defineTool({
    name: "multi_input",
    description: "Asks two questions at once (name and confirm); answers may come one at a time.",
    input: v.object({}),
    run: (_args, ctx) => {
      const name = ctx.inputResponses?.name;
      const confirm = ctx.inputResponses?.confirm;
      if (name === undefined || confirm === undefined) return new InputRequired(MULTI_INPUT);
      return text(`name=${answered(name, "name")}, confirm=${answered(confirm, "confirm")}`);
    },
    task: {
      support: "optional",
      ttlMs: () => DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      step: (_args, step) => {
        const { name, confirm } = step.answers;
        if (name === undefined || confirm === undefined) {
          return ask(MULTI_INPUT, null, "Waiting for two answers");
        }
        return done(
          text(`name=${answered(name, "name")}, confirm=${answered(confirm, "confirm")}`),
        );
      },
    },
  }),
  defineTool({
    name: "test_tool_with_task",
    description:
      "Asks for the user's name with a multi-round-trip request, then continues as a task (task only).",
    input: v.object({}),
    run: () => text("test_tool_with_task runs only as a task"),
    task: {
      support: "required",
      ttlMs: () => DEFAULT_TASK_TTL_MS,
      pollIntervalMs: () => 200,
      start: (_args, ctx) => {
        const reply = answerOf(ctx, "user_name", ElicitAnswerSchema);
        if (!reply)
          return new InputRequired({ user_name: askString("What is your name?", "name") });
        const name =
          reply.action === "accept" ? formField(reply, "user_name", "name") : reply.action;
        return { state: { name }, message: `Greeting ${name}` };
      },
      step: (_args, step) => {
        const name = isRecord(step.state) ? String(step.state.name) : "?";
        return done(text(`Hello, ${name}!`));
      },
    },
  }),
];

const MULTI_INPUT: Record<string, InputRequest> = {
  name: askString("What is your name?", "name"),
  confirm: elicitForm("Please confirm", CONFIRM_FORM),
};

function confirmRequest(filename: string): InputRequest {
  return elicitForm(`Delete ${filename}?`, CONFIRM_FORM);
}
