/**
 * Fixed data for the `conformance` toolset: the payloads, JSON Schemas,
 * elicitation forms, resources and prompts that @modelcontextprotocol/conformance
 * (0.1.16 and 0.2.0-alpha.12) compares byte for byte, and the small vocabulary
 * its multi-round-trip tools and prompt use to ask the client for input and read
 * the answers.
 *
 * Values here are copied from the official "everything" server and the suite's
 * checks; change one only together with the check it satisfies.
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";
import {
  type InputRequest,
  InputRequired,
  type PromptDefinition,
  type ResourceDefinition,
  type ResourceTemplateDefinition,
  type ToolContext,
} from "./types";

/** A 1x1 red PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/** A minimal WAV file; `tools-call-audio` requires mimeType `audio/wav` exactly. */
export const WAV_BASE64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/** Gap between the notifications of the progress and logging tools. */
export const NOTIFICATION_GAP_MS = 50;

/**
 * Advertised verbatim by `json_schema_2020_12_tool`: the suite checks `$schema`,
 * `$defs`, `$anchor`, `allOf`/`anyOf`, `if`/`then`/`else` and
 * `additionalProperties` survive tools/list (SEP-2106).
 */
export const JSON_SCHEMA_2020_12 = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  $defs: {
    address: {
      $anchor: "addressDef",
      type: "object",
      properties: { street: { type: "string" }, city: { type: "string" } },
    },
  },
  properties: {
    name: { type: "string" },
    address: { $ref: "#/$defs/address" },
    contactMethod: { type: "string", enum: ["phone", "email"] },
    phone: { type: "string" },
    email: { type: "string" },
  },
  allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
  if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
  // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword; an object, so never thenable.
  then: { required: ["phone"] },
  else: { required: ["email"] },
  additionalProperties: false,
};

/** `test_custom_header`: a string argument mirrored into `Mcp-Param-Region` (SEP-2243). */
export const CUSTOM_HEADER_SCHEMA = {
  type: "object",
  properties: {
    region: { type: "string", description: "A region name", "x-mcp-header": "Region" },
  },
  required: ["region"],
};

/** `test_elicitation` (`tools-call-elicitation`). */
export const USER_INFO_FORM = {
  type: "object",
  properties: {
    username: { type: "string", description: "User's response" },
    email: { type: "string", description: "User's email address" },
  },
  required: ["username", "email"],
};

/** `test_elicitation_sep1034_defaults`: every primitive type with a default (SEP-1034). */
export const DEFAULTS_FORM = {
  type: "object",
  properties: {
    name: { type: "string", description: "User name", default: "John Doe" },
    age: { type: "integer", description: "User age", default: 30 },
    score: { type: "number", description: "User score", default: 95.5 },
    status: {
      type: "string",
      description: "User status",
      enum: ["active", "inactive", "pending"],
      default: "active",
    },
    verified: { type: "boolean", description: "Verification status", default: true },
  },
  required: [],
};

/** `test_elicitation_sep1330_enums`: the five enum shapes of SEP-1330. */
export const ENUMS_FORM = {
  type: "object",
  properties: {
    untitledSingle: {
      type: "string",
      description: "Select one option",
      enum: ["option1", "option2", "option3"],
    },
    titledSingle: {
      type: "string",
      description: "Select one option with titles",
      oneOf: [
        { const: "value1", title: "First Option" },
        { const: "value2", title: "Second Option" },
        { const: "value3", title: "Third Option" },
      ],
    },
    legacyEnum: {
      type: "string",
      description: "Select one option (legacy)",
      enum: ["opt1", "opt2", "opt3"],
      enumNames: ["Option One", "Option Two", "Option Three"],
    },
    untitledMulti: {
      type: "array",
      description: "Select multiple options",
      minItems: 1,
      maxItems: 3,
      items: { type: "string", enum: ["option1", "option2", "option3"] },
    },
    titledMulti: {
      type: "array",
      description: "Select multiple options with titles",
      minItems: 1,
      maxItems: 3,
      items: {
        anyOf: [
          { const: "value1", title: "First Choice" },
          { const: "value2", title: "Second Choice" },
          { const: "value3", title: "Third Choice" },
        ],
      },
    },
  },
  required: [],
};

/** A form elicitation (`mode: "form"`); `requestedSchema` is sent as given. */
export function elicitForm(message: string, requestedSchema: object): InputRequest {
  return { method: "elicitation/create", params: { mode: "form", message, requestedSchema } };
}

/** A form asking for one required string field. */
export function askString(message: string, field: string): InputRequest {
  return elicitForm(message, {
    type: "object",
    properties: { [field]: { type: "string" } },
    required: [field],
  });
}

export function sampleText(prompt: string, maxTokens: number): InputRequest {
  return {
    method: "sampling/createMessage",
    params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens },
  };
}

export const LIST_ROOTS: InputRequest = { method: "roots/list", params: {} };

/** ElicitResult. `content` is present only when the user accepted. */
export const ElicitAnswerSchema = v.looseObject({
  action: v.picklist(["accept", "decline", "cancel"]),
  content: v.optional(v.record(v.string(), v.unknown())),
});
export type ElicitAnswer = v.InferOutput<typeof ElicitAnswerSchema>;

const TextBlockSchema = v.looseObject({ type: v.string(), text: v.optional(v.string()) });

/** CreateMessageResult; since 2025-11-25 `content` may also be an array of blocks. */
export const SamplingAnswerSchema = v.looseObject({
  content: v.union([TextBlockSchema, v.array(TextBlockSchema)]),
  model: v.string(),
});
export type SamplingAnswer = v.InferOutput<typeof SamplingAnswerSchema>;

/** ListRootsResult. */
export const RootsAnswerSchema = v.looseObject({
  roots: v.array(v.looseObject({ uri: v.string(), name: v.optional(v.string()) })),
});
export type RootsAnswer = v.InferOutput<typeof RootsAnswerSchema>;

/**
 * The client's answer under `key`, or undefined when this round carries none
 * (first round, or a retry that answered other keys: the tool asks again).
 * An answer of the wrong shape is the client's error, so -32602 rather than a
 * silent re-ask (SEP-2322: validate input responses).
 */
export function answerOf<S extends v.GenericSchema>(
  ctx: ToolContext,
  key: string,
  schema: S,
): v.InferOutput<S> | undefined {
  const raw = ctx.inputResponses?.[key];
  if (raw === undefined) return undefined;
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid input response "${key}": ${parsed.issues[0].message}`,
    );
  }
  return parsed.output;
}

/** An accepted form's `field` as text; an accepted form without it is an invalid answer. */
export function formField(reply: ElicitAnswer, key: string, field: string): string {
  const value = reply.content?.[field];
  if (value === undefined || value === null || typeof value === "object") {
    throw new JsonRpcError(INVALID_PARAMS, `Invalid input response "${key}": no "${field}" field`);
  }
  return String(value);
}

/** `test_elicitation`-style summary of any elicitation answer. */
export function describeReply(label: string, reply: ElicitAnswer): string {
  return `${label}: action=${reply.action}, content=${JSON.stringify(reply.content ?? {})}`;
}

/** The text of a sampling answer (the first text block when it is an array). */
export function sampledText(answer: SamplingAnswer): string {
  const blocks = Array.isArray(answer.content) ? answer.content : [answer.content];
  return blocks.find((block) => block.type === "text")?.text ?? "";
}

/** Whether the client declared capability `name` (an object, per the spec). */
export function declares(ctx: ToolContext, name: string): boolean {
  const value = ctx.clientCapabilities[name];
  return typeof value === "object" && value !== null;
}

/**
 * The `state` a multi-round tool issued, as the gateway verified it. The MAC
 * proves the gateway sealed it, not for which tool, so each state names its
 * tool and a state issued for another one counts as none.
 */
const RoundStateSchema = v.looseObject({ tool: v.string(), step: v.number() });
export type RoundState = v.InferOutput<typeof RoundStateSchema>;

export function roundState(ctx: ToolContext, tool: string): RoundState | undefined {
  const parsed = v.safeParse(RoundStateSchema, ctx.requestState);
  return parsed.success && parsed.output.tool === tool ? parsed.output : undefined;
}

export const CONFORMANCE_RESOURCES: ResourceDefinition[] = [
  // First on purpose: the 2026 `caching` scenario reads the first listed resource.
  {
    uri: "test://static-text",
    name: "static-text",
    description: "A fixed text resource.",
    mimeType: "text/plain",
    read: () => ({ text: "This is the content of the static text resource." }),
  },
  {
    uri: "test://static-binary",
    name: "static-binary",
    description: "A fixed binary resource (a 1x1 PNG).",
    mimeType: "image/png",
    read: () => ({ blob: PNG_BASE64 }),
  },
  {
    uri: "test://watched-resource",
    name: "watched-resource",
    description: "A resource for resources/subscribe and resources/unsubscribe.",
    mimeType: "text/plain",
    read: () => ({ text: "Watched resource content" }),
  },
];

export const CONFORMANCE_TEMPLATES: ResourceTemplateDefinition[] = [
  {
    uriTemplate: "test://template/{id}/data",
    name: "template",
    description: "JSON data for any id.",
    mimeType: "application/json",
    read: ({ id }) => ({
      text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
    }),
  },
];

export const CONFORMANCE_PROMPTS: PromptDefinition[] = [
  {
    name: "test_simple_prompt",
    description: "A prompt without arguments.",
    arguments: [],
    render: () => [
      { role: "user", content: { type: "text", text: "This is a simple prompt for testing." } },
    ],
  },
  {
    name: "test_prompt_with_arguments",
    description: "A prompt that quotes its two arguments.",
    arguments: [
      { name: "arg1", description: "First argument", required: true },
      { name: "arg2", description: "Second argument", required: true },
    ],
    complete: { arg1: ["testValue1"], arg2: ["testValue2"] },
    render: ({ arg1, arg2 }) => [
      {
        role: "user",
        content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
      },
    ],
  },
  {
    name: "test_prompt_with_embedded_resource",
    description: "A prompt that embeds the resource named by resourceUri.",
    arguments: [{ name: "resourceUri", description: "URI to embed", required: true }],
    render: ({ resourceUri }) => [
      {
        role: "user",
        content: {
          type: "resource",
          resource: {
            uri: resourceUri,
            mimeType: "text/plain",
            text: "Embedded resource content for testing.",
          },
        },
      },
      {
        role: "user",
        content: { type: "text", text: "Please process the embedded resource above." },
      },
    ],
  },
  {
    name: "test_prompt_with_image",
    description: "A prompt with an image.",
    arguments: [],
    render: () => [
      { role: "user", content: { type: "image", data: PNG_BASE64, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  },
  {
    name: "test_input_required_result_prompt",
    description: "A prompt that first asks the user for context (user_context).",
    arguments: [],
    render: (_args, ctx) => {
      const reply = answerOf(ctx, "user_context", ElicitAnswerSchema);
      if (!reply) {
        return new InputRequired({
          user_context: askString("What context should the prompt use?", "context"),
        });
      }
      const context =
        reply.action === "accept" ? formField(reply, "user_context", "context") : null;
      const body = context === null ? "No context was given." : `Context: ${context}`;
      return [{ role: "user", content: { type: "text", text: body } }];
    },
  },
];
