/**
 * Builds tool definitions from valibot schemas: the schema validates arguments
 * through Standard Schema and is converted once, at module load, to the JSON
 * Schema that tools/list advertises.
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import type { ToolContext, ToolDefinition, ToolResult } from "./types";

type ObjectSchema = v.GenericSchema<unknown, Record<string, unknown>>;

export function defineTool<S extends ObjectSchema>(spec: {
  name: string;
  title?: string;
  description: string;
  input: S;
  annotations?: Record<string, unknown>;
  run(args: v.InferOutput<S>, ctx: ToolContext): Promise<ToolResult> | ToolResult;
}): ToolDefinition {
  const { $schema: _ignored, ...inputSchema } = toJsonSchema(spec.input, {
    errorMode: "ignore",
  }) as Record<string, unknown>;
  return { ...spec, inputSchema } as ToolDefinition;
}

export function text(value: string): ToolResult {
  return { content: [{ type: "text", text: value }] };
}
