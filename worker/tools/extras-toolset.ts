/**
 * The `extras` toolset: a second, small toolset that shows TOOLSETS selecting
 * sources (`--var TOOLSETS:default,extras`).
 */
import * as v from "valibot";
import { defineTool, text } from "./define";
import type { Toolset } from "./types";

export const extrasToolset: Toolset = {
  name: "extras",
  tools: [
    defineTool({
      name: "reverse",
      description: "Returns the text reversed (by code point).",
      input: v.object({ text: v.string() }),
      annotations: { readOnlyHint: true },
      run: ({ text: value }) => text([...value].reverse().join("")),
    }),
    defineTool({
      name: "now",
      description: "Returns the gateway's current time as an ISO 8601 string.",
      input: v.object({}),
      annotations: { readOnlyHint: true },
      run: () => text(new Date().toISOString()),
    }),
  ],
  resources: [],
  prompts: [],
};
