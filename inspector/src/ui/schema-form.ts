/**
 * Builds a form from a JSON Schema (tool inputSchema, elicitation
 * requestedSchema) and reads it back as a JSON value.
 *
 * Covered: string (enum, `oneOf`/`anyOf` of titled consts, legacy
 * `enumNames`, formats email/uri/date, length and range bounds), number,
 * integer, boolean (a tri-state select when optional without a default),
 * arrays (checkbox group for enum items, otherwise an add/remove list), nested
 * objects (fieldsets), local `$ref`, nullable unions, `required`, `default`,
 * `description`. Anything else falls back to a JSON text area, so every
 * schema stays callable. Native constraint validation does the checking;
 * the server validates again.
 */
import { h, isRecord, uid } from "../dom";
import { type Choice, choicesOf, num, resolve, type Schema, typeOf } from "./json-schema";

export interface Field {
  element: HTMLElement;
  /** The value, or `undefined` when the field is optional and left empty. */
  read(): unknown;
}

interface Ctx {
  root: Schema;
  name: string;
  label: string;
  required: boolean;
  depth: number;
}

const MAX_DEPTH = 8;

export interface SchemaForm {
  element: HTMLElement;
  read(): Record<string, unknown>;
}

/** Fields for an object schema's properties (the form element is the caller's). */
export function schemaForm(schema: unknown, namePrefix: string): SchemaForm {
  const root = isRecord(schema) ? schema : {};
  const field = objectFields(resolve(root, root), {
    root,
    name: namePrefix,
    label: "",
    required: true,
    depth: 0,
  });
  return {
    element: field.element,
    read: () => {
      const value = field.read();
      return isRecord(value) ? value : {};
    },
  };
}

function fieldFor(raw: Schema, ctx: Ctx): Field {
  if (ctx.depth > MAX_DEPTH) return jsonField(raw, ctx);
  const schema = resolve(raw, ctx.root);
  const choices = choicesOf(schema);
  if (choices) return selectField(schema, choices, ctx);
  switch (typeOf(schema)) {
    case "string":
      return inputField(schema, ctx, "string");
    case "number":
    case "integer":
      return inputField(schema, ctx, typeOf(schema) as "number" | "integer");
    case "boolean":
      return booleanField(schema, ctx);
    case "array":
      return arrayField(schema, ctx);
    case "object":
      return isRecord(schema.properties) ? objectField(schema, ctx) : jsonField(schema, ctx);
    default:
      return jsonField(schema, ctx);
  }
}

/** Label, control and description, wired for assistive technology. */
function row(ctx: Ctx, schema: Schema, control: HTMLElement, id: string): HTMLElement {
  const description = typeof schema.description === "string" ? schema.description : "";
  const helpId = description ? `${id}-help` : null;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  if (ctx.required) control.setAttribute("aria-required", "true");
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, titleOf(schema, ctx), ctx.required ? requiredMark() : null),
    control,
    helpId ? h("small", { id: helpId, class: "help" }, description) : null,
  );
}

function requiredMark(): HTMLElement {
  return h("span", { class: "required", "aria-hidden": "true", title: "required" }, " *");
}

function titleOf(schema: Schema, ctx: Ctx): string {
  return typeof schema.title === "string" ? `${schema.title} (${ctx.label})` : ctx.label;
}

function inputField(schema: Schema, ctx: Ctx, kind: "string" | "number" | "integer"): Field {
  const id = uid("f");
  const numeric = kind !== "string";
  const format = typeof schema.format === "string" ? schema.format : "";
  const type = numeric
    ? "number"
    : (({ email: "email", uri: "url", url: "url", date: "date" } as Record<string, string>)[
        format
      ] ?? "text");
  const input = h("input", {
    id,
    name: ctx.name,
    type,
    required: ctx.required,
    step: kind === "integer" ? 1 : numeric ? "any" : undefined,
    min: num(schema.minimum),
    max: num(schema.maximum),
    minlength: num(schema.minLength),
    maxlength: num(schema.maxLength),
    placeholder: format && type === "text" ? format : undefined,
  });
  if (typeof schema.pattern === "string" && isBrowserPattern(schema.pattern)) {
    input.pattern = schema.pattern;
  }
  if (schema.default !== undefined) input.value = String(schema.default);
  return {
    element: row(ctx, schema, input, id),
    read: () => {
      if (input.value === "") return ctx.required && !numeric ? "" : undefined;
      return numeric ? Number(input.value) : input.value;
    },
  };
}

function selectField(schema: Schema, choices: Choice[], ctx: Ctx): Field {
  const id = uid("f");
  const select = h(
    "select",
    { id, name: ctx.name, required: ctx.required },
    h("option", { value: "" }, ctx.required ? "Choose…" : "(not set)"),
    choices.map((choice, index) => h("option", { value: String(index) }, choice.label)),
  );
  const preset = choices.findIndex((choice) => choice.value === schema.default);
  if (preset >= 0) select.value = String(preset);
  return {
    element: row(ctx, schema, select, id),
    read: () => (select.value === "" ? undefined : choices[Number(select.value)]?.value),
  };
}

function booleanField(schema: Schema, ctx: Ctx): Field {
  const id = uid("f");
  if (!ctx.required && typeof schema.default !== "boolean") {
    // An optional boolean can be absent: a checkbox cannot say so, a select can.
    return selectField(
      schema,
      [
        { value: true, label: "true" },
        { value: false, label: "false" },
      ],
      ctx,
    );
  }
  const box = h("input", { id, name: ctx.name, type: "checkbox" });
  box.checked = schema.default === true;
  const description = typeof schema.description === "string" ? schema.description : "";
  const helpId = description ? `${id}-help` : undefined;
  return {
    element: h(
      "div",
      { class: "field checkbox" },
      box,
      h("label", { for: id }, titleOf(schema, ctx)),
      helpId ? h("small", { id: helpId, class: "help" }, description) : null,
    ),
    read: () => box.checked,
  };
}

function objectField(schema: Schema, ctx: Ctx): Field {
  const inner = objectFields(schema, ctx);
  const legend = h("legend", {}, titleOf(schema, ctx), ctx.required ? requiredMark() : null);
  const description =
    typeof schema.description === "string"
      ? h("small", { class: "help" }, schema.description)
      : null;
  const element = h("fieldset", { class: "object" }, legend, description, inner.element);
  return {
    element,
    read: () => {
      const value = inner.read();
      return !ctx.required && isRecord(value) && Object.keys(value).length === 0
        ? undefined
        : value;
    },
  };
}

function objectFields(schema: Schema, ctx: Ctx): Field {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = Object.entries(properties)
    .filter((entry): entry is [string, Schema] => isRecord(entry[1]))
    .map(([key, property]) => ({
      key,
      field: fieldFor(property, {
        root: ctx.root,
        name: ctx.name ? `${ctx.name}.${key}` : key,
        label: key,
        required: required.has(key),
        depth: ctx.depth + 1,
      }),
    }));
  const element = h(
    "div",
    { class: "fields" },
    fields.length === 0 ? h("p", { class: "muted" }, "No arguments.") : null,
    fields.map(({ field }) => field.element),
  );
  return {
    element,
    read: () => {
      const value: Record<string, unknown> = {};
      for (const { key, field } of fields) {
        const read = field.read();
        if (read !== undefined) value[key] = read;
      }
      return value;
    },
  };
}

function arrayField(schema: Schema, ctx: Ctx): Field {
  const items = isRecord(schema.items) ? resolve(schema.items, ctx.root) : {};
  const choices = choicesOf(items);
  if (choices) return multiSelectField(schema, choices, ctx);
  const list = h("ol", { class: "array-items" });
  const entries: { field: Field; item: HTMLElement }[] = [];
  const legendText = titleOf(schema, ctx);
  const addItem = (preset?: unknown) => {
    const itemSchema = preset === undefined ? items : { ...items, default: preset };
    const field = fieldFor(itemSchema, {
      root: ctx.root,
      name: `${ctx.name}[]`,
      label: `${ctx.label} item`,
      required: true,
      depth: ctx.depth + 1,
    });
    const remove = h(
      "button",
      { type: "button", class: "small", "aria-label": `Remove this ${ctx.label} item` },
      "Remove",
    );
    const item = h("li", {}, field.element, remove);
    const entry = { field, item };
    remove.addEventListener("click", () => {
      entries.splice(entries.indexOf(entry), 1);
      item.remove();
      add.focus();
    });
    entries.push(entry);
    list.append(item);
  };
  const add = h("button", { type: "button", class: "small" }, `Add ${ctx.label} item`);
  add.addEventListener("click", () => {
    addItem();
    entries.at(-1)?.item.querySelector<HTMLElement>("input, select, textarea")?.focus();
  });
  if (Array.isArray(schema.default)) for (const value of schema.default) addItem(value);
  const minItems = num(schema.minItems) ?? 0;
  while (entries.length < minItems) addItem();
  const description =
    typeof schema.description === "string"
      ? h("small", { class: "help" }, schema.description)
      : null;
  return {
    element: h(
      "fieldset",
      { class: "array" },
      h("legend", {}, legendText, ctx.required ? requiredMark() : null),
      description,
      list,
      add,
    ),
    read: () => {
      const values = entries.map(({ field }) => field.read());
      return !ctx.required && values.length === 0 ? undefined : values;
    },
  };
}

function multiSelectField(schema: Schema, choices: Choice[], ctx: Ctx): Field {
  const defaults = Array.isArray(schema.default) ? schema.default : [];
  const boxes = choices.map((choice) => {
    const id = uid("f");
    const box = h("input", { id, type: "checkbox", name: ctx.name });
    box.checked = defaults.includes(choice.value);
    return {
      choice,
      box,
      element: h("span", { class: "choice" }, box, h("label", { for: id }, choice.label)),
    };
  });
  // A checkbox group has no native minItems/maxItems: report the bound on the first box.
  const min = num(schema.minItems) ?? 0;
  const max = num(schema.maxItems) ?? Number.POSITIVE_INFINITY;
  const check = () => {
    const count = boxes.filter((b) => b.box.checked).length;
    const tooFew = (count > 0 || ctx.required) && count < min;
    const message = tooFew ? `Choose at least ${min}` : count > max ? `Choose at most ${max}` : "";
    boxes[0]?.box.setCustomValidity(message);
  };
  for (const { box } of boxes) box.addEventListener("change", check);
  check();
  const description =
    typeof schema.description === "string"
      ? h("small", { class: "help" }, schema.description)
      : null;
  return {
    element: h(
      "fieldset",
      { class: "multi" },
      h("legend", {}, titleOf(schema, ctx), ctx.required ? requiredMark() : null),
      description,
      h(
        "div",
        { class: "choices" },
        boxes.map((b) => b.element),
      ),
    ),
    read: () => {
      const values = boxes.filter((b) => b.box.checked).map((b) => b.choice.value);
      return !ctx.required && values.length === 0 ? undefined : values;
    },
  };
}

/** The fallback for schemas a form cannot express: JSON typed by hand, checked as typed. */
function jsonField(schema: Schema, ctx: Ctx): Field {
  const id = uid("f");
  const area = h("textarea", {
    id,
    name: ctx.name,
    rows: 3,
    spellcheck: "false",
    required: ctx.required,
    placeholder: "JSON",
  });
  if (schema.default !== undefined) area.value = JSON.stringify(schema.default);
  area.addEventListener("input", () => {
    area.setCustomValidity(parses(area.value) || area.value === "" ? "" : "Not valid JSON");
  });
  return {
    element: row(ctx, { ...schema, description: describeJson(schema) }, area, id),
    read: () => (area.value.trim() === "" ? undefined : JSON.parse(area.value)),
  };
}

function describeJson(schema: Schema): string {
  const type = typeOf(schema);
  const base = typeof schema.description === "string" ? `${schema.description} ` : "";
  return `${base}(JSON${type ? `, ${type}` : ""})`;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** HTML `pattern` compiles with the `v` flag; JSON Schema patterns sometimes do not. */
function isBrowserPattern(pattern: string): boolean {
  try {
    new RegExp(pattern, "v");
    return true;
  } catch {
    return false;
  }
}
