/**
 * The `conformance` toolset, run in-process: the Worker under test is
 * configured with TOOLSETS=default, so these tests build their own registry
 * with the toolset and call tools, resources and prompts through a recording
 * ToolContext. Outputs are the ones @modelcontextprotocol/conformance compares;
 * multi-round tools are driven round by round the way a 2026-07-28 client
 * (or the session-era input bridge) retries them.
 */
import { describe, expect, it } from "vitest";
import { INVALID_PARAMS, JsonRpcError, MISSING_CLIENT_CAPABILITY } from "../../shared/errors";
import { type LogLevel, logLevelPasses } from "../../shared/protocol";
import {
  DEFAULTS_FORM,
  ENUMS_FORM,
  JSON_SCHEMA_2020_12,
  PNG_BASE64,
  USER_INFO_FORM,
  WAV_BASE64,
} from "../../worker/tools/conformance-fixtures";
import { conformanceToolset } from "../../worker/tools/conformance-toolset";
import { matchTemplate, parseToolsets, ToolRegistry } from "../../worker/tools/registry";
import {
  InputRequired,
  type PromptMessage,
  type ToolContext,
  type ToolResult,
} from "../../worker/tools/types";

const registry = new ToolRegistry([conformanceToolset]);

/** The suite's canned client answers (0.2.0 `Ui`, `Wi`, `Gi`). */
const accept = (content: Record<string, unknown>) => ({ action: "accept", content });
const sampled = (text: string) => ({
  role: "assistant",
  content: { type: "text", text },
  model: "test-model",
  stopReason: "endTurn",
});
const ROOTS = { roots: [{ uri: "file:///test/root", name: "Test Root" }] };
const ALL_CAPABILITIES = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

interface CallOptions {
  clientCapabilities?: Record<string, unknown>;
  inputResponses?: Record<string, unknown>;
  requestState?: unknown;
  progressToken?: string;
  /** The request's log level; null models a 2026-07-28 request without one. */
  logLevel?: LogLevel | null;
}

interface Sent {
  progress: { progress: number; total?: number }[];
  logs: { level: LogLevel; data: unknown }[];
  /** How often the tool ended its reply stream. */
  closedStreams?: number;
}

function fakeContext(options: CallOptions, sent: Sent): ToolContext {
  const logLevel = options.logLevel === undefined ? "info" : options.logLevel;
  return {
    sessionId: "conformance-test",
    signal: new AbortController().signal,
    progressToken: options.progressToken,
    progress(progress, total) {
      if (options.progressToken !== undefined) sent.progress.push({ progress, total });
    },
    log(level, data) {
      if (logLevel === null || !logLevelPasses(level, logLevel)) return false;
      sent.logs.push({ level, data });
      return true;
    },
    state: { get: () => undefined, set: () => {} },
    closeReplyStream() {
      sent.closedStreams = (sent.closedStreams ?? 0) + 1;
    },
    clientCapabilities: options.clientCapabilities ?? ALL_CAPABILITIES,
    inputResponses: options.inputResponses,
    // The gateway hands back what it sealed, after a JSON round trip.
    requestState:
      options.requestState === undefined
        ? undefined
        : JSON.parse(JSON.stringify(options.requestState)),
    session: () => ({
      sessionId: "conformance-test",
      era: "2026-07-28",
      protocolVersion: "2026-07-28",
      clientInfo: null,
      logLevel: logLevel ?? "info",
      phase: "ready",
      wakes: 0,
      createdAt: new Date(0).toISOString(),
      attachGeneration: 0,
      subscriptions: [],
    }),
  };
}

/** Validates `args` like tools/call does, then runs the tool. */
async function call(
  name: string,
  args: Record<string, unknown> = {},
  options: CallOptions = {},
  sent: Sent = { progress: [], logs: [] },
): Promise<ToolResult | InputRequired> {
  const tool = registry.tools.get(name)?.item;
  if (!tool) throw new Error(`no tool ${name}`);
  const validated = await tool.input["~standard"].validate(args);
  if (validated.issues) throw new Error(`invalid arguments: ${validated.issues[0]?.message}`);
  return tool.run(validated.value, fakeContext(options, sent));
}

function asResult(outcome: ToolResult | InputRequired): ToolResult {
  if (outcome instanceof InputRequired) throw new Error("expected a result, got InputRequired");
  return outcome;
}

function textOf(outcome: ToolResult | InputRequired): string {
  const block = asResult(outcome).content[0];
  expect(block?.type).toBe("text");
  return String(block?.text);
}

function asInputRequired(outcome: unknown): InputRequired {
  if (!(outcome instanceof InputRequired)) throw new Error("expected InputRequired");
  return outcome;
}

/** Round 1, then a retry answering with `answers` and the round's state. */
async function twoRounds(
  name: string,
  answers: (round1: InputRequired) => Record<string, unknown>,
  options: CallOptions = {},
): Promise<ToolResult | InputRequired> {
  const round1 = asInputRequired(await call(name, {}, options));
  return call(
    name,
    {},
    { ...options, inputResponses: answers(round1), requestState: round1.state },
  );
}

async function rejection(promise: Promise<unknown>): Promise<JsonRpcError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof JsonRpcError)) throw new Error(`expected a JsonRpcError, got ${error}`);
  return error;
}

function render(name: string, args: Record<string, string>, options: CallOptions = {}) {
  const prompt = registry.prompts.get(name)?.item;
  if (!prompt) throw new Error(`no prompt ${name}`);
  return prompt.render(args, fakeContext(options, { progress: [], logs: [] }));
}

function messagesOf(rendered: PromptMessage[] | InputRequired): PromptMessage[] {
  if (rendered instanceof InputRequired) throw new Error("expected messages, got InputRequired");
  return rendered;
}

describe("the conformance catalogue", () => {
  it("lists test_simple_text first", () => {
    expect(conformanceToolset.tools[0]?.name).toBe("test_simple_text");
  });

  it("gives every tool a non-empty description and an object input schema", () => {
    for (const tool of conformanceToolset.tools) {
      expect(tool.description, tool.name).not.toBe("");
      expect(tool.inputSchema, tool.name).toMatchObject({ type: "object" });
    }
  });

  it("keeps every tool name within the suite's name format", () => {
    for (const tool of conformanceToolset.tools) {
      expect(tool.name).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
    }
  });

  it("is switched on by TOOLSETS=conformance and combines with default without clashes", () => {
    expect(parseToolsets("conformance")).toEqual([conformanceToolset]);
    const both = new ToolRegistry(parseToolsets("default,conformance"));
    expect(both.tools.has("echo") && both.tools.has("test_simple_text")).toBe(true);
  });

  it("advertises json_schema_2020_12_tool's 2020-12 schema verbatim", () => {
    const tool = registry.tools.get("json_schema_2020_12_tool")?.item;
    expect(tool?.inputSchema).toEqual(JSON_SCHEMA_2020_12);
    expect(tool?.inputSchema).toMatchObject({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $defs: { address: { $anchor: "addressDef" } },
      allOf: [{ anyOf: expect.any(Array) }],
      additionalProperties: false,
    });
    expect(Object.keys(tool?.inputSchema ?? {})).toEqual(
      expect.arrayContaining(["if", "then", "else"]),
    );
  });

  it("marks test_custom_header's region argument as a string x-mcp-header", () => {
    expect(registry.tools.get("test_custom_header")?.item.inputSchema).toMatchObject({
      properties: { region: { type: "string", "x-mcp-header": "Region" } },
      required: ["region"],
    });
  });
});

describe("content tools", () => {
  it("test_simple_text returns the fixed text", async () => {
    expect(textOf(await call("test_simple_text"))).toBe(
      "This is a simple text response for testing.",
    );
  });

  it("test_image_content returns a PNG image block", async () => {
    expect(asResult(await call("test_image_content")).content).toEqual([
      { type: "image", data: PNG_BASE64, mimeType: "image/png" },
    ]);
  });

  it("test_audio_content returns an audio block of type audio/wav", async () => {
    expect(asResult(await call("test_audio_content")).content).toEqual([
      { type: "audio", data: WAV_BASE64, mimeType: "audio/wav" },
    ]);
  });

  it("test_embedded_resource returns an embedded text resource", async () => {
    expect(asResult(await call("test_embedded_resource")).content).toEqual([
      {
        type: "resource",
        resource: {
          uri: "test://embedded-resource",
          mimeType: "text/plain",
          text: "This is an embedded resource content.",
        },
      },
    ]);
  });

  it("test_multiple_content_types returns text, image and resource blocks in order", async () => {
    const { content } = asResult(await call("test_multiple_content_types"));
    expect(content.map((block) => block.type)).toEqual(["text", "image", "resource"]);
    expect(content[2]).toMatchObject({
      resource: { uri: "test://mixed-content-resource", text: '{"test":"data","value":123}' },
    });
  });

  it("test_error_handling returns an isError result rather than throwing", async () => {
    expect(await call("test_error_handling")).toEqual({
      isError: true,
      content: [{ type: "text", text: "This tool intentionally returns an error for testing" }],
    });
  });
});

describe("notification tools", () => {
  it("test_tool_with_progress reports 0, 50 and 100 of 100 when given a token", async () => {
    const sent: Sent = { progress: [], logs: [] };
    await call("test_tool_with_progress", {}, { progressToken: "progress-test-1" }, sent);
    expect(sent.progress).toEqual([
      { progress: 0, total: 100 },
      { progress: 50, total: 100 },
      { progress: 100, total: 100 },
    ]);
  });

  it("test_tool_with_logging sends its three info messages in order", async () => {
    const sent: Sent = { progress: [], logs: [] };
    await call("test_tool_with_logging", {}, { logLevel: "debug" }, sent);
    expect(sent.logs).toEqual([
      { level: "info", data: "Tool execution started" },
      { level: "info", data: "Tool processing data" },
      { level: "info", data: "Tool execution completed" },
    ]);
  });

  it("test_logging_tool completes without logging when the request set no log level", async () => {
    const sent: Sent = { progress: [], logs: [] };
    const outcome = await call("test_logging_tool", {}, { logLevel: null }, sent);
    expect(textOf(outcome)).toBe("Logging tool finished.");
    expect(sent.logs).toEqual([]);
  });

  it("test_logging_tool logs once when the request asked for info", async () => {
    const sent: Sent = { progress: [], logs: [] };
    await call("test_logging_tool", {}, { logLevel: "info" }, sent);
    expect(sent.logs).toHaveLength(1);
  });
});

describe("session-era client request tools", () => {
  it("test_sampling asks sampling/createMessage with the prompt and 100 max tokens", async () => {
    const round1 = asInputRequired(await call("test_sampling", { prompt: "Test prompt" }));
    expect(round1.inputRequests).toEqual({
      llm_response: {
        method: "sampling/createMessage",
        params: {
          messages: [{ role: "user", content: { type: "text", text: "Test prompt" } }],
          maxTokens: 100,
        },
      },
    });
  });

  it("test_sampling returns the model's text once answered", async () => {
    const outcome = await call(
      "test_sampling",
      { prompt: "Test prompt" },
      { inputResponses: { llm_response: sampled("This is a test response from the client") } },
    );
    expect(textOf(outcome)).toBe("LLM response: This is a test response from the client");
  });

  it("test_sampling refuses a call without a prompt", async () => {
    await expect(call("test_sampling", {})).rejects.toThrow(/invalid arguments/);
  });

  it("test_elicitation asks a username/email form showing the given message", async () => {
    const round1 = asInputRequired(
      await call("test_elicitation", { message: "Please provide your information" }),
    );
    expect(round1.inputRequests).toEqual({
      user_info: {
        method: "elicitation/create",
        params: {
          mode: "form",
          message: "Please provide your information",
          requestedSchema: USER_INFO_FORM,
        },
      },
    });
  });

  it("test_elicitation reports the user's action and content", async () => {
    const content = { username: "testuser", email: "test@example.com" };
    const outcome = await call(
      "test_elicitation",
      { message: "Please provide your information" },
      { inputResponses: { user_info: accept(content) } },
    );
    expect(textOf(outcome)).toBe(
      `User response: action=accept, content=${JSON.stringify(content)}`,
    );
  });

  it("test_elicitation_sep1034_defaults asks a form with a default for every type", async () => {
    const round1 = asInputRequired(await call("test_elicitation_sep1034_defaults"));
    const params = round1.inputRequests.form?.params;
    expect(params).toEqual({
      mode: "form",
      message: "Please review and update the form fields with defaults",
      requestedSchema: DEFAULTS_FORM,
    });
    expect(DEFAULTS_FORM.properties).toMatchObject({
      name: { type: "string", default: "John Doe" },
      age: { type: "integer", default: 30 },
      score: { type: "number", default: 95.5 },
      status: { type: "string", enum: ["active", "inactive", "pending"], default: "active" },
      verified: { type: "boolean", default: true },
    });
  });

  it("test_elicitation_sep1330_enums asks a form with the five SEP-1330 enum shapes", async () => {
    const round1 = asInputRequired(await call("test_elicitation_sep1330_enums"));
    expect(round1.inputRequests.form?.params.requestedSchema).toEqual(ENUMS_FORM);
    const { properties } = ENUMS_FORM;
    expect(properties.untitledSingle).not.toHaveProperty("oneOf");
    expect(properties.titledSingle).not.toHaveProperty("enum");
    expect(properties.legacyEnum.enumNames).toHaveLength(properties.legacyEnum.enum.length);
    expect(properties.untitledMulti.items).toMatchObject({
      type: "string",
      enum: expect.any(Array),
    });
    expect(properties.titledMulti.items).not.toHaveProperty("enum");
  });

  it("test_elicitation_sep1330_enums reports the selections once answered", async () => {
    const outcome = await call(
      "test_elicitation_sep1330_enums",
      {},
      {
        inputResponses: { form: accept({ untitledSingle: "option1" }) },
      },
    );
    expect(textOf(outcome)).toBe(
      'Elicitation completed: action=accept, content={"untitledSingle":"option1"}',
    );
  });
});

describe("schema tools", () => {
  it("json_schema_2020_12_tool accepts a contact reached by phone", async () => {
    const outcome = await call("json_schema_2020_12_tool", {
      name: "Ada",
      contactMethod: "phone",
      phone: "555",
    });
    expect(textOf(outcome)).toBe("Contact Ada by phone 555");
  });

  it("json_schema_2020_12_tool refuses contactMethod phone without a phone", async () => {
    await expect(
      call("json_schema_2020_12_tool", { contactMethod: "phone", email: "a@b.c" }),
    ).rejects.toThrow(/invalid arguments/);
  });

  it("json_schema_2020_12_tool refuses properties outside the schema", async () => {
    await expect(
      call("json_schema_2020_12_tool", { email: "a@b.c", nickname: "x" }),
    ).rejects.toThrow(/invalid arguments/);
  });

  it("test_custom_header echoes its region", async () => {
    expect(textOf(await call("test_custom_header", { region: "Hello" }))).toBe("region=Hello");
  });
});

describe("2026-07-28 diagnostic tools", () => {
  it("test_missing_capability fails with -32021 naming sampling when the client lacks it", async () => {
    const error = await rejection(call("test_missing_capability", {}, { clientCapabilities: {} }));
    expect(error.code).toBe(MISSING_CLIENT_CAPABILITY);
    expect(error.data).toEqual({ requiredCapabilities: { sampling: {} } });
  });

  it("test_missing_capability succeeds when the client declared sampling", async () => {
    const outcome = await call(
      "test_missing_capability",
      {},
      { clientCapabilities: { sampling: {} } },
    );
    expect(textOf(outcome)).toBe("The client declared sampling.");
  });

  it("test_streaming_elicitation answers with an input request, not a stream request", async () => {
    const round1 = asInputRequired(await call("test_streaming_elicitation"));
    expect(round1.inputRequests.stream_input?.method).toBe("elicitation/create");
  });

  it("test_streaming_elicitation returns the value once answered", async () => {
    const outcome = await twoRounds("test_streaming_elicitation", () => ({
      stream_input: accept({ value: "42" }),
    }));
    expect(textOf(outcome)).toBe("Received: 42");
  });

  it("test_trigger_tool_change and test_trigger_prompt_change return text", async () => {
    expect(textOf(await call("test_trigger_tool_change"))).toMatch(/tool list change/i);
    expect(textOf(await call("test_trigger_prompt_change"))).toMatch(/prompt list change/i);
  });
});

describe("input_required tools", () => {
  const ELICITATION = "test_input_required_result_elicitation";

  it("elicitation asks user_name for a name, without state", async () => {
    const round1 = asInputRequired(await call(ELICITATION));
    expect(round1.inputRequests).toEqual({
      user_name: {
        method: "elicitation/create",
        params: {
          mode: "form",
          message: "What is your name?",
          requestedSchema: {
            type: "object",
            properties: { name: { type: "string" } },
            required: ["name"],
          },
        },
      },
    });
    expect(round1.state).toBeUndefined();
  });

  it("elicitation greets the name it was given", async () => {
    const outcome = await twoRounds(ELICITATION, () => ({ user_name: accept({ name: "Alice" }) }));
    expect(textOf(outcome)).toBe("Hello, Alice!");
  });

  it("elicitation asks again when the retry answers a different key", async () => {
    const outcome = await call(
      ELICITATION,
      {},
      {
        inputResponses: { wrong_key: accept({ data: "wrong" }) },
      },
    );
    expect(asInputRequired(outcome).inputRequests).toHaveProperty("user_name");
  });

  it("elicitation ignores answers it did not ask for", async () => {
    const outcome = await call(
      ELICITATION,
      {},
      {
        inputResponses: {
          user_name: accept({ name: "Alice" }),
          unknown_extra_key: accept({ foo: "bar" }),
          another_unexpected: accept({ baz: 123 }),
        },
      },
    );
    expect(textOf(outcome)).toBe("Hello, Alice!");
  });

  it("elicitation refuses a malformed answer with -32602", async () => {
    const error = await rejection(call(ELICITATION, {}, { inputResponses: { user_name: {} } }));
    expect(error.code).toBe(INVALID_PARAMS);
  });

  it("elicitation completes, without a greeting, when the user declines", async () => {
    const outcome = await call(
      ELICITATION,
      {},
      {
        inputResponses: { user_name: { action: "decline" } },
      },
    );
    expect(textOf(outcome)).toBe("No name given: the user chose decline.");
  });

  it("sampling asks capital_question about the capital of France", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_sampling"));
    expect(round1.inputRequests.capital_question).toEqual({
      method: "sampling/createMessage",
      params: {
        messages: [
          { role: "user", content: { type: "text", text: "What is the capital of France?" } },
        ],
        maxTokens: 100,
      },
    });
  });

  it("sampling completes with the model's answer", async () => {
    const outcome = await twoRounds("test_input_required_result_sampling", (round1) => ({
      [Object.keys(round1.inputRequests)[0] ?? ""]: sampled("The capital of France is Paris."),
    }));
    expect(textOf(outcome)).toBe("Sampled: The capital of France is Paris.");
  });

  it("list_roots asks client_roots with roots/list", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_list_roots"));
    expect(round1.inputRequests).toEqual({ client_roots: { method: "roots/list", params: {} } });
  });

  it("list_roots completes with the roots' URIs", async () => {
    const outcome = await twoRounds("test_input_required_result_list_roots", () => ({
      client_roots: ROOTS,
    }));
    expect(textOf(outcome)).toBe("Roots: file:///test/root");
  });

  it("request_state asks to confirm and issues a state", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_request_state"));
    expect(round1.inputRequests.confirm?.method).toBe("elicitation/create");
    expect(round1.state).toBeDefined();
  });

  it("request_state completes with state-ok when its state comes back", async () => {
    const outcome = await twoRounds("test_input_required_result_request_state", () => ({
      confirm: accept({ ok: true }),
    }));
    expect(textOf(outcome)).toContain("state-ok");
  });

  it("request_state asks again when the answer comes without its state", async () => {
    const outcome = await call(
      "test_input_required_result_request_state",
      {},
      {
        inputResponses: { confirm: accept({ ok: true }) },
      },
    );
    expect(outcome).toBeInstanceOf(InputRequired);
  });

  it("request_state does not accept a state issued for another tool", async () => {
    const other = asInputRequired(await call("test_input_required_result_tampered_state"));
    const outcome = await call(
      "test_input_required_result_request_state",
      {},
      {
        inputResponses: { confirm: accept({ ok: true }) },
        requestState: other.state,
      },
    );
    expect(outcome).toBeInstanceOf(InputRequired);
  });

  it("tampered_state issues a state and completes when it comes back intact", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_tampered_state"));
    expect(round1.state).toBeDefined();
    const outcome = await call(
      "test_input_required_result_tampered_state",
      {},
      {
        inputResponses: { confirm: accept({ ok: true }) },
        requestState: round1.state,
      },
    );
    expect(textOf(outcome)).toContain("confirmed");
  });

  it("multiple_inputs asks elicitation, sampling and roots at once, with a state", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_multiple_inputs"));
    const methods = Object.values(round1.inputRequests).map((input) => input.method);
    expect(methods.sort()).toEqual(["elicitation/create", "roots/list", "sampling/createMessage"]);
    expect(round1.state).toBeDefined();
  });

  it("multiple_inputs completes once every input is answered", async () => {
    const outcome = await twoRounds("test_input_required_result_multiple_inputs", () => ({
      user_name: accept({ name: "Alice" }),
      greeting: sampled("Hello there!"),
      client_roots: ROOTS,
    }));
    expect(textOf(outcome)).toBe('name accept, greeting "Hello there!", 1 root(s)');
  });

  it("multi_round asks step2 with a new state after step1, then completes", async () => {
    const tool = "test_input_required_result_multi_round";
    const round1 = asInputRequired(await call(tool));
    expect(Object.keys(round1.inputRequests)).toEqual(["step1"]);
    const round2 = asInputRequired(
      await call(
        tool,
        {},
        {
          inputResponses: { step1: accept({ name: "Alice" }) },
          requestState: round1.state,
        },
      ),
    );
    expect(Object.keys(round2.inputRequests)).toEqual(["step2"]);
    expect(round2.state).not.toEqual(round1.state);
    const round3 = await call(
      tool,
      {},
      {
        inputResponses: { step2: accept({ color: "blue" }) },
        requestState: round2.state,
      },
    );
    expect(textOf(round3)).toBe("Alice likes blue.");
  });

  it("capabilities asks only for sampling when the client declared only sampling", async () => {
    const round1 = asInputRequired(
      await call(
        "test_input_required_result_capabilities",
        {},
        {
          clientCapabilities: { sampling: {} },
        },
      ),
    );
    const methods = Object.values(round1.inputRequests).map((input) => input.method);
    expect(methods).toEqual(["sampling/createMessage"]);
  });

  it("capabilities asks for all three when the client declared all three", async () => {
    const round1 = asInputRequired(await call("test_input_required_result_capabilities"));
    expect(Object.keys(round1.inputRequests).sort()).toEqual(["ask", "roots", "sample"]);
  });

  it("capabilities completes without asking when the client declared none", async () => {
    const outcome = await call(
      "test_input_required_result_capabilities",
      {},
      {
        clientCapabilities: {},
      },
    );
    expect(textOf(outcome)).toMatch(/declared no sampling/);
  });

  it("capabilities completes once its requests are answered", async () => {
    const outcome = await twoRounds(
      "test_input_required_result_capabilities",
      () => ({ sample: sampled("hi") }),
      { clientCapabilities: { sampling: {} } },
    );
    expect(textOf(outcome)).toBe("Answered: sample");
  });
});

describe("resources", () => {
  it("lists static-text first, then static-binary and watched-resource", () => {
    expect(conformanceToolset.resources.map((r) => [r.uri, r.name, r.mimeType])).toEqual([
      ["test://static-text", "static-text", "text/plain"],
      ["test://static-binary", "static-binary", "image/png"],
      ["test://watched-resource", "watched-resource", "text/plain"],
    ]);
  });

  it("reads test://static-text as its fixed text", () => {
    const resource = registry.resources.get("test://static-text")?.item;
    expect(resource?.read(fakeContext({}, { progress: [], logs: [] }))).toEqual({
      text: "This is the content of the static text resource.",
    });
  });

  it("reads test://static-binary as a PNG blob", () => {
    const resource = registry.resources.get("test://static-binary")?.item;
    expect(resource?.read(fakeContext({}, { progress: [], logs: [] }))).toEqual({
      blob: PNG_BASE64,
    });
  });

  it("reads test://watched-resource as its fixed text", () => {
    const resource = registry.resources.get("test://watched-resource")?.item;
    expect(resource?.read(fakeContext({}, { progress: [], logs: [] }))).toEqual({
      text: "Watched resource content",
    });
  });

  it("matches test://template/123/data to the template with id 123", () => {
    expect(matchTemplate("test://template/{id}/data", "test://template/123/data")).toEqual({
      id: "123",
    });
  });

  it("reads a template instance as JSON naming its id", () => {
    const template = registry.resourceTemplates.get("test://template/{id}/data")?.item;
    const body = template?.read({ id: "123" }, fakeContext({}, { progress: [], logs: [] }));
    expect(body).toEqual({
      text: JSON.stringify({ id: "123", templateTest: true, data: "Data for ID: 123" }),
    });
  });

  it("does not match a URI whose value is not valid percent-encoding (no expansion makes one)", () => {
    expect(matchTemplate("test://template/{id}/data", "test://template/%/data")).toBeNull();
    expect(matchTemplate("test://template/{id}/data", "test://template/%E0%A4%A/data")).toBeNull();
    expect(matchTemplate("test://template/{id}/data", "test://template/a%20b/data")).toEqual({
      id: "a b",
    });
  });

  it("does not match a template path with an extra segment", () => {
    expect(matchTemplate("test://template/{id}/data", "test://template/1/2/data")).toBeNull();
  });
});

describe("prompts", () => {
  it("renders test_simple_prompt as one user text message", () => {
    expect(render("test_simple_prompt", {})).toEqual([
      { role: "user", content: { type: "text", text: "This is a simple prompt for testing." } },
    ]);
  });

  it("quotes both arguments in test_prompt_with_arguments", () => {
    expect(
      render("test_prompt_with_arguments", { arg1: "testValue1", arg2: "testValue2" }),
    ).toEqual([
      {
        role: "user",
        content: {
          type: "text",
          text: "Prompt with arguments: arg1='testValue1', arg2='testValue2'",
        },
      },
    ]);
  });

  it("declares arg1 and arg2 of test_prompt_with_arguments as required", () => {
    const prompt = registry.prompts.get("test_prompt_with_arguments")?.item;
    expect(prompt?.arguments.map((a) => [a.name, a.required])).toEqual([
      ["arg1", true],
      ["arg2", true],
    ]);
  });

  it("offers completion candidates for arg1 of test_prompt_with_arguments", () => {
    const prompt = registry.prompts.get("test_prompt_with_arguments")?.item;
    expect(prompt?.complete?.arg1?.filter((value) => value.startsWith("test"))).toEqual([
      "testValue1",
    ]);
  });

  it("embeds the given resource URI in test_prompt_with_embedded_resource", () => {
    const messages = messagesOf(
      render("test_prompt_with_embedded_resource", { resourceUri: "test://example-resource" }),
    );
    expect(messages[0]?.content).toEqual({
      type: "resource",
      resource: {
        uri: "test://example-resource",
        mimeType: "text/plain",
        text: "Embedded resource content for testing.",
      },
    });
  });

  it("puts a PNG image in test_prompt_with_image", () => {
    const messages = messagesOf(render("test_prompt_with_image", {}));
    expect(messages[0]?.content).toEqual({
      type: "image",
      data: PNG_BASE64,
      mimeType: "image/png",
    });
  });

  it("test_input_required_result_prompt asks user_context first", () => {
    const round1 = asInputRequired(render("test_input_required_result_prompt", {}));
    expect(round1.inputRequests.user_context?.params).toMatchObject({
      message: "What context should the prompt use?",
      requestedSchema: { properties: { context: { type: "string" } }, required: ["context"] },
    });
  });

  it("test_input_required_result_prompt renders the context it was given", () => {
    const messages = messagesOf(
      render(
        "test_input_required_result_prompt",
        {},
        {
          inputResponses: { user_context: accept({ context: "test context" }) },
        },
      ),
    );
    expect(messages).toEqual([
      { role: "user", content: { type: "text", text: "Context: test context" } },
    ]);
  });

  it("gives every prompt a non-empty description", () => {
    for (const prompt of conformanceToolset.prompts) {
      expect(prompt.description, prompt.name).not.toBe("");
    }
  });
});
