/**
 * Builds tool definitions from valibot schemas: the schema validates arguments
 * through Standard Schema and is converted once, at module load, to the JSON
 * Schema that tools/list advertises. A tool may instead advertise a verbatim
 * JSON Schema (`jsonSchema`) when the conversion cannot express it (2020-12
 * keywords such as `$defs`, `if`/`then`/`else`), keeping valibot for validation.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import type { InputRequired, TaskProgram, ToolContext, ToolDefinition, ToolResult } from "./types";

type ObjectSchema = v.GenericSchema<unknown, Record<string, unknown>>;

export function defineTool<S extends ObjectSchema>(spec: {
  name: string;
  title?: string;
  description: string;
  input: S;
  jsonSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  run(
    args: v.InferOutput<S>,
    ctx: ToolContext,
  ): Promise<ToolResult | InputRequired> | ToolResult | InputRequired;
  task?: TaskProgram<v.InferOutput<S>>;
}): ToolDefinition {
  const { jsonSchema, ...rest } = spec;
  const inputSchema =
    jsonSchema ?? withoutDialect(toJsonSchema(spec.input, { errorMode: "ignore" }));
  return { ...rest, inputSchema } as ToolDefinition;
}

function withoutDialect(schema: object): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema as Record<string, unknown>;
  return rest;
}

export function text(value: string): ToolResult {
  return { content: [{ type: "text", text: value }] };
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
