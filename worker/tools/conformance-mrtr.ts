/**
 * The `conformance` toolset's 2026-07-28 multi-round-trip fixtures (SEP-2322,
 * the suite's `input-required-result-*` scenarios): tools that ask the client
 * for input by returning InputRequired and are called again with the answers.
 * Each round is derived from the arguments, `ctx.inputResponses` and the
 * verified `ctx.requestState`; nothing is remembered between rounds.
 */
import * as v from "valibot";
import {
  answerOf,
  askString,
  declares,
  ElicitAnswerSchema,
  elicitForm,
  formField,
  LIST_ROOTS,
  RootsAnswerSchema,
  roundState,
  SamplingAnswerSchema,
  sampledText,
  sampleText,
} from "./conformance-fixtures";
import { defineTool, text } from "./define";
import { type InputRequest, InputRequired, type ToolDefinition } from "./types";

const ASK_NAME = askString("What is your name?", "name");

/** 2026-07-28 multi-round-trip fixtures (SEP-2322, `input-required-result-*`). */
export const inputRequiredTools = [
  defineTool({
    name: "test_input_required_result_elicitation",
    description: "Asks for the user's name (user_name), then greets them.",
    input: v.object({}),
    run: (_args, ctx) => {
      const reply = answerOf(ctx, "user_name", ElicitAnswerSchema);
      if (!reply) return new InputRequired({ user_name: ASK_NAME });
      if (reply.action !== "accept") return text(`No name given: the user chose ${reply.action}.`);
      return text(`Hello, ${formField(reply, "user_name", "name")}!`);
    },
  }),
  defineTool({
    name: "test_input_required_result_sampling",
    description: "Asks the client's model for the capital of France (capital_question).",
    input: v.object({}),
    run: (_args, ctx) => {
      const answer = answerOf(ctx, "capital_question", SamplingAnswerSchema);
      if (!answer) {
        return new InputRequired({
          capital_question: sampleText("What is the capital of France?", 100),
        });
      }
      return text(`Sampled: ${sampledText(answer)}`);
    },
  }),
  defineTool({
    name: "test_input_required_result_list_roots",
    description: "Asks for the client's roots (client_roots) and lists their URIs.",
    input: v.object({}),
    run: (_args, ctx) => {
      const answer = answerOf(ctx, "client_roots", RootsAnswerSchema);
      if (!answer) return new InputRequired({ client_roots: LIST_ROOTS });
      return text(`Roots: ${answer.roots.map((root) => root.uri).join(", ") || "(none)"}`);
    },
  }),
  confirmTool(
    "test_input_required_result_request_state",
    "Asks for confirmation with a requestState; completes only when that state comes back.",
    (reply) => `state-ok: the user chose ${reply}.`,
  ),
  confirmTool(
    "test_input_required_result_tampered_state",
    "Asks for confirmation with a requestState; an altered state is refused with -32602.",
    (reply) => `confirmed: the user chose ${reply}.`,
  ),
  defineTool({
    name: "test_input_required_result_multiple_inputs",
    description: "Asks for a name, a sampled greeting and the roots in one round, with a state.",
    input: v.object({}),
    run: (_args, ctx) => {
      const tool = "test_input_required_result_multiple_inputs";
      const name = answerOf(ctx, "user_name", ElicitAnswerSchema);
      const greeting = answerOf(ctx, "greeting", SamplingAnswerSchema);
      const roots = answerOf(ctx, "client_roots", RootsAnswerSchema);
      if (!roundState(ctx, tool) || !name || !greeting || !roots) {
        // The retry carries only this round's answers, so ask for all three again.
        return new InputRequired(
          {
            user_name: ASK_NAME,
            greeting: sampleText("Generate a greeting", 50),
            client_roots: LIST_ROOTS,
          },
          { tool, step: 1 },
        );
      }
      return text(
        `name ${name.action}, greeting "${sampledText(greeting)}", ${roots.roots.length} root(s)`,
      );
    },
  }),
  defineTool({
    name: "test_input_required_result_multi_round",
    description: "Asks for a name (step1), then a favourite colour (step2), then answers.",
    input: v.object({}),
    run: (_args, ctx) => {
      const tool = "test_input_required_result_multi_round";
      const askColor = askString("Step 2: What is your favorite color?", "color");
      const state = roundState(ctx, tool);
      if (state?.step === 2) {
        const reply = answerOf(ctx, "step2", ElicitAnswerSchema);
        if (!reply) return new InputRequired({ step2: askColor }, state);
        if (reply.action !== "accept") return text(`Stopped at step 2: ${reply.action}.`);
        return text(`${String(state.name)} likes ${formField(reply, "step2", "color")}.`);
      }
      const reply = state?.step === 1 ? answerOf(ctx, "step1", ElicitAnswerSchema) : undefined;
      if (!reply) {
        const askName = askString("Step 1: What is your name?", "name");
        return new InputRequired({ step1: askName }, { tool, step: 1 });
      }
      if (reply.action !== "accept") return text(`Stopped at step 1: ${reply.action}.`);
      const name = formField(reply, "step1", "name");
      return new InputRequired({ step2: askColor }, { tool, step: 2, name });
    },
  }),
  defineTool({
    name: "test_input_required_result_capabilities",
    description: "Asks only for what the client declared: sampling, elicitation and/or roots.",
    input: v.object({}),
    run: (_args, ctx) => {
      const wanted: Record<string, InputRequest> = {};
      if (declares(ctx, "sampling")) wanted.sample = sampleText("Say hi", 20);
      if (declares(ctx, "elicitation")) wanted.ask = ASK_NAME;
      if (declares(ctx, "roots")) wanted.roots = LIST_ROOTS;
      const keys = Object.keys(wanted);
      if (keys.length === 0) return text("The client declared no sampling, elicitation or roots.");
      // No state: a retry must answer every request of the round, so ask for all again.
      if (keys.some((key) => ctx.inputResponses?.[key] === undefined)) {
        return new InputRequired(wanted);
      }
      return text(`Answered: ${keys.join(", ")}`);
    },
  }),
];

/** Asks "Please confirm" with a requestState; completes when both come back. */
function confirmTool(
  tool: string,
  description: string,
  done: (action: string) => string,
): ToolDefinition {
  const confirm = elicitForm("Please confirm", {
    type: "object",
    properties: { ok: { type: "boolean" } },
    required: ["ok"],
  });
  return defineTool({
    name: tool,
    description,
    input: v.object({}),
    run: (_args, ctx) => {
      const reply = answerOf(ctx, "confirm", ElicitAnswerSchema);
      if (!roundState(ctx, tool) || !reply)
        return new InputRequired({ confirm }, { tool, step: 1 });
      return text(done(reply.action));
    },
  });
}
