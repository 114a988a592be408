/**
 * The `conformance` toolset (TOOLSETS=conformance): the tools, resources,
 * template and prompts that the official MCP conformance suite calls by name
 * (@modelcontextprotocol/conformance 0.1.16 `--suite all`, 0.2.0-alpha.12
 * `--requirements 2026-07-28`). Off by default: its names are the suite's, not
 * ours, and `test_error_handling` fails on purpose.
 *
 * Invariants:
 * - `test_simple_text` comes first: `http-header-validation` calls `tools[0]`.
 * - Every tool is listed in both eras. Tools that ask the client for input are
 *   written once, multi-round-trip style (SEP-2322): 2026-07-28 clients get an
 *   `input_required` result, session-era clients real server->client requests
 *   through the gateway's input bridge.
 * - Multi-round tools keep no memory: each round is derived from the arguments,
 *   `ctx.inputResponses` and the verified `ctx.requestState`. A missing answer
 *   is asked again; a malformed one is -32602 (fixtures `answerOf`).
 *
 * Resources, the template and prompts are data and live in conformance-fixtures.ts;
 * the 2026-07-28 multi-round-trip tools live in conformance-mrtr.ts.
 * The tasks-extension fixtures (SEP-2663, `tasks-*` scenarios) live in
 * conformance-tasks.ts. Not here: `test_reconnection` (the suite accepts the
 * unknown-tool error).
 */

import * as v from "valibot";
import { JsonRpcError, MISSING_CLIENT_CAPABILITY } from "../../shared/errors";
import { publishListChange } from "../feed/change-feed";
import {
  answerOf,
  askString,
  CONFORMANCE_PROMPTS,
  CONFORMANCE_RESOURCES,
  CONFORMANCE_TEMPLATES,
  CUSTOM_HEADER_SCHEMA,
  DEFAULTS_FORM,
  declares,
  describeReply,
  ElicitAnswerSchema,
  ENUMS_FORM,
  elicitForm,
  formField,
  JSON_SCHEMA_2020_12,
  NOTIFICATION_GAP_MS,
  PNG_BASE64,
  SamplingAnswerSchema,
  sampledText,
  sampleText,
  USER_INFO_FORM,
  WAV_BASE64,
} from "./conformance-fixtures";
import { inputRequiredTools } from "./conformance-mrtr";
import { conformanceTaskTools } from "./conformance-tasks";
import { defineTool, delay, text } from "./define";
import {
  type InputRequest,
  InputRequired,
  type ToolDefinition,
  type ToolResult,
  type Toolset,
} from "./types";

/** A tool without arguments that always returns `result`. */
function fixed(name: string, description: string, result: ToolResult): ToolDefinition {
  return defineTool({
    name,
    description,
    input: v.object({}),
    annotations: { readOnlyHint: true },
    run: () => result,
  });
}

const contentTools = [
  fixed(
    "test_simple_text",
    "Returns one text block.",
    text("This is a simple text response for testing."),
  ),
  fixed("test_image_content", "Returns one image block (a 1x1 PNG).", {
    content: [{ type: "image", data: PNG_BASE64, mimeType: "image/png" }],
  }),
  fixed("test_audio_content", "Returns one audio block (a minimal WAV).", {
    content: [{ type: "audio", data: WAV_BASE64, mimeType: "audio/wav" }],
  }),
  fixed("test_embedded_resource", "Returns one embedded text resource.", {
    content: [
      {
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      },
    ],
  }),
  fixed("test_multiple_content_types", "Returns text, image and resource blocks together.", {
    content: [
      { type: "text", text: "Multiple content types test:" },
      { type: "image", data: PNG_BASE64, mimeType: "image/png" },
      {
        type: "resource",
        resource: {
          uri: "test://mixed-content-resource",
          mimeType: "application/json",
          text: JSON.stringify({ test: "data", value: 123 }),
        },
      },
    ],
  }),
  fixed("test_error_handling", "Returns a tool error result (isError), not a protocol error.", {
    isError: true,
    content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
  }),
];

/** How long test_reconnection keeps working after ending its reply stream. */
const RECONNECTION_WORK_MS = 500;

const notificationTools = [
  defineTool({
    name: "test_reconnection",
    description:
      "Ends its own SSE reply stream mid-call (SSE polling) and answers after the client reconnects with Last-Event-ID.",
    input: v.object({}),
    run: async (_args, ctx) => {
      ctx.closeReplyStream();
      await delay(RECONNECTION_WORK_MS, ctx.signal);
      return text("Reconnection test completed: the result arrived on the resumed stream.");
    },
  }),
  defineTool({
    name: "test_tool_with_progress",
    description: "Reports progress 0, 50 and 100 of 100 when the call carries a progress token.",
    input: v.object({}),
    run: async (_args, ctx) => {
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await delay(NOTIFICATION_GAP_MS, ctx.signal);
        ctx.progress(progress, 100);
      }
      return text("Reported progress 0, 50 and 100 of 100.");
    },
  }),
  defineTool({
    name: "test_tool_with_logging",
    description: "Sends three info log messages (session era: filtered by logging/setLevel).",
    input: v.object({}),
    run: async (_args, ctx) => {
      const steps = ["Tool execution started", "Tool processing data", "Tool execution completed"];
      for (const [i, step] of steps.entries()) {
        if (i > 0) await delay(NOTIFICATION_GAP_MS, ctx.signal);
        ctx.log("info", step, "conformance");
      }
      return text("Tool with logging executed successfully");
    },
  }),
  defineTool({
    name: "test_logging_tool",
    description: "Sends one info log message, only to clients that asked for a log level.",
    input: v.object({}),
    run: (_args, ctx) => {
      // 2026-07-28: without `io.modelcontextprotocol/logLevel` in _meta the server
      // MUST NOT send notifications/message; ctx.log() enforces that for every tool
      // (worker/mcp/tool-call.ts; scenario sep-2575-server-no-log-without-loglevel).
      ctx.log("info", "test_logging_tool ran", "conformance");
      return text("Logging tool finished.");
    },
  }),
];

/** Session-era fixtures (0.1.16): real server->client requests, via the input bridge. */
const clientRequestTools = [
  defineTool({
    name: "test_sampling",
    description: "Asks the client's model to answer `prompt` (sampling/createMessage).",
    input: v.object({ prompt: v.string() }),
    run: ({ prompt }, ctx) => {
      const answer = answerOf(ctx, "llm_response", SamplingAnswerSchema);
      if (!answer) return new InputRequired({ llm_response: sampleText(prompt, 100) });
      return text(`LLM response: ${sampledText(answer)}`);
    },
  }),
  defineTool({
    name: "test_elicitation",
    description: "Asks the user for a username and email, showing `message` (elicitation/create).",
    input: v.object({ message: v.string() }),
    run: ({ message }, ctx) => {
      const reply = answerOf(ctx, "user_info", ElicitAnswerSchema);
      if (!reply) return new InputRequired({ user_info: elicitForm(message, USER_INFO_FORM) });
      return text(describeReply("User response", reply));
    },
  }),
  formTool(
    "test_elicitation_sep1034_defaults",
    "Asks the user to review a form whose fields carry defaults (SEP-1034).",
    elicitForm("Please review and update the form fields with defaults", DEFAULTS_FORM),
  ),
  formTool(
    "test_elicitation_sep1330_enums",
    "Asks the user to pick from titled, untitled and multi-select enums (SEP-1330).",
    elicitForm("Please select options from the enum fields", ENUMS_FORM),
  ),
];

/** Sends one fixed form and reports whatever the user answered. */
function formTool(name: string, description: string, form: InputRequest): ToolDefinition {
  return defineTool({
    name,
    description,
    input: v.object({}),
    run: (_args, ctx) => {
      const reply = answerOf(ctx, "form", ElicitAnswerSchema);
      if (!reply) return new InputRequired({ form });
      return text(describeReply("Elicitation completed", reply));
    },
  });
}

const schemaTools = [
  defineTool({
    name: "json_schema_2020_12_tool",
    description: "Tool with JSON Schema 2020-12 features",
    input: v.pipe(
      v.strictObject({
        name: v.optional(v.string()),
        address: v.optional(
          v.looseObject({ street: v.optional(v.string()), city: v.optional(v.string()) }),
        ),
        contactMethod: v.optional(v.picklist(["phone", "email"])),
        phone: v.optional(v.string()),
        email: v.optional(v.string()),
      }),
      // The schema's if/then/else: phone when contactMethod is "phone", email otherwise.
      v.check(
        (contact) => (contact.contactMethod === "phone" ? !!contact.phone : !!contact.email),
        "phone is required when contactMethod is phone; email otherwise",
      ),
    ),
    jsonSchema: JSON_SCHEMA_2020_12,
    run: (contact) => {
      const via =
        contact.contactMethod === "phone" ? `phone ${contact.phone}` : `email ${contact.email}`;
      return text(`Contact ${contact.name ?? "(unnamed)"} by ${via}`);
    },
  }),
  defineTool({
    name: "test_custom_header",
    description: "Echoes `region`, which HTTP clients mirror into Mcp-Param-Region (SEP-2243).",
    input: v.object({ region: v.string() }),
    jsonSchema: CUSTOM_HEADER_SCHEMA,
    run: ({ region }) => text(`region=${region}`),
  }),
];

/** 2026-07-28 diagnostics (`server-stateless`). */
const diagnosticTools = [
  defineTool({
    name: "test_missing_capability",
    description: "Fails with -32021 unless the client declared the sampling capability.",
    input: v.object({}),
    run: (_args, ctx) => {
      if (!declares(ctx, "sampling")) {
        throw new JsonRpcError(
          MISSING_CLIENT_CAPABILITY,
          "test_missing_capability needs the client's sampling capability",
          { requiredCapabilities: { sampling: {} } },
        );
      }
      return text("The client declared sampling.");
    },
  }),
  defineTool({
    name: "test_streaming_elicitation",
    description:
      "Asks for a value through an input_required result, never a request on the stream.",
    input: v.object({}),
    run: (_args, ctx) => {
      const reply = answerOf(ctx, "stream_input", ElicitAnswerSchema);
      if (!reply)
        return new InputRequired({ stream_input: askString("Provide a value.", "value") });
      if (reply.action !== "accept") return text(`No value given: the user chose ${reply.action}.`);
      return text(`Received: ${formField(reply, "stream_input", "value")}`);
    },
  }),
  // The suite's subscriptions/listen checks: announce a change to every listen stream.
  defineTool({
    name: "test_trigger_tool_change",
    description: "Announces a tool list change to subscriptions/listen streams.",
    input: v.object({}),
    run: async () =>
      text(`Tool list change announced to ${await publishListChange("tools")} listen stream(s).`),
  }),
  defineTool({
    name: "test_trigger_prompt_change",
    description: "Announces a prompt list change to subscriptions/listen streams.",
    input: v.object({}),
    run: async () =>
      text(
        `Prompt list change announced to ${await publishListChange("prompts")} listen stream(s).`,
      ),
  }),
];

export const conformanceToolset: Toolset = {
  name: "conformance",
  tools: [
    ...contentTools,
    ...notificationTools,
    ...clientRequestTools,
    ...schemaTools,
    ...diagnosticTools,
    ...inputRequiredTools,
    ...conformanceTaskTools,
  ],
  resources: CONFORMANCE_RESOURCES,
  resourceTemplates: CONFORMANCE_TEMPLATES,
  prompts: CONFORMANCE_PROMPTS,
};
