/**
 * Reading JSON Schema the way a form needs it: local `$ref`s followed,
 * nullable unions (`anyOf: [X, {type: "null"}]`) reduced to X, the effective
 * type, and enumerations in every spelling MCP servers send (`enum`, legacy
 * `enumNames`, `oneOf`/`anyOf` of titled `const`s from SEP-1330, `const`).
 * Pure functions over plain objects; no DOM.
 */
import { isRecord } from "../dom";

export type Schema = Record<string, unknown>;

/** Follows local `$ref`s and strips `null` from nullable unions. */
export function resolve(schema: Schema, root: Schema, seen = 0): Schema {
  if (typeof schema.$ref === "string" && schema.$ref.startsWith("#") && seen < 16) {
    const target = schema.$ref
      .slice(1)
      .split("/")
      .filter(Boolean)
      .reduce<unknown>(
        (node, key) =>
          isRecord(node) ? node[key.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined,
        root,
      );
    if (isRecord(target)) {
      const { $ref: _ref, ...rest } = schema;
      return resolve({ ...target, ...rest }, root, seen + 1);
    }
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key];
    if (!Array.isArray(options)) continue;
    const nonNull = options.filter((option) => !(isRecord(option) && option.type === "null"));
    if (nonNull.length === 1 && nonNull.length < options.length && isRecord(nonNull[0])) {
      const { [key]: _union, ...rest } = schema;
      return resolve({ ...rest, ...nonNull[0] }, root, seen + 1);
    }
  }
  return schema;
}

export function typeOf(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return type.find((t) => t !== "null");
  if (isRecord(schema.properties)) return "object";
  if (schema.items !== undefined) return "array";
  return undefined;
}

export interface Choice {
  value: unknown;
  label: string;
}

/** Enumerations in every spelling MCP clients meet (SEP-1330 titled enums included). */
export function choicesOf(schema: Schema): Choice[] | null {
  if (Array.isArray(schema.enum)) {
    const names = Array.isArray(schema.enumNames) ? schema.enumNames : [];
    return schema.enum.map((value, index) => ({
      value,
      label: typeof names[index] === "string" ? names[index] : String(value),
    }));
  }
  for (const key of ["oneOf", "anyOf"] as const) {
    const options = schema[key];
    if (
      Array.isArray(options) &&
      options.length > 0 &&
      options.every((o) => isRecord(o) && "const" in o)
    ) {
      return (options as Schema[]).map((option) => ({
        value: option.const,
        label: typeof option.title === "string" ? option.title : String(option.const),
      }));
    }
  }
  if ("const" in schema) return [{ value: schema.const, label: String(schema.const) }];
  return null;
}

export function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
