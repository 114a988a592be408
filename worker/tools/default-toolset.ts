/**
 * The `default` toolset (issue #2 names each tool exactly): echo, add, counter,
 * sleep, session_info and log, plus one resource pair and one prompt so that
 * resources/*, prompts/* and completion/complete have something real to serve.
 * The task-capable tools (issue #13) are `sleep` (taskSupport "optional"),
 * `wait` and `approve` (task-tools.ts).
 */
import * as v from "valibot";
import { DEFAULT_TASK_TTL_MS, PROGRESS_INTERVAL_MS, SLEEP_MAX_MS } from "../../shared/limits";
import { LogLevelSchema } from "../../shared/protocol";
import { defineTool, delay, text } from "./define";
import { done, timedSteps } from "./task-steps";
import { approve, wait } from "./task-tools";
import type { Toolset } from "./types";

const echo = defineTool({
  name: "echo",
  description: "Returns the text it is given.",
  input: v.object({ text: v.pipe(v.string(), v.description("Text to send back")) }),
  annotations: { readOnlyHint: true },
  run: ({ text: value }) => text(value),
});

const add = defineTool({
  name: "add",
  description: "Adds two numbers and returns the sum as text.",
  input: v.object({ a: v.number(), b: v.number() }),
  annotations: { readOnlyHint: true },
  run: ({ a, b }) => text(String(a + b)),
});

const counter = defineTool({
  name: "counter",
  description:
    "Adds `by` (default 1) to a counter kept in this session's storage; returns the new value.",
  input: v.object({ by: v.optional(v.pipe(v.number(), v.integer(), v.safeInteger()), 1) }),
  run: ({ by }, ctx) => {
    const current = ctx.state.get("counter");
    const next = (typeof current === "number" ? current : 0) + by;
    // Past 2^53 the sum would be stored inexact: a tool error, and the counter stays.
    if (!Number.isSafeInteger(next)) {
      return {
        isError: true,
        content: [
          { type: "text", text: `counter would leave the safe integer range (${current} + ${by})` },
        ],
      };
    }
    ctx.state.set("counter", next);
    return text(String(next));
  },
});

const sleep = defineTool({
  name: "sleep",
  description: `Waits \`ms\` milliseconds (at most ${SLEEP_MAX_MS}), reporting progress when asked; cancellable.`,
  input: v.object({
    ms: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(SLEEP_MAX_MS)),
  }),
  annotations: { readOnlyHint: true },
  run: async ({ ms }, ctx) => {
    let elapsed = 0;
    while (elapsed < ms) {
      const step = Math.min(PROGRESS_INTERVAL_MS, ms - elapsed);
      await delay(step, ctx.signal);
      elapsed += step;
      ctx.progress(elapsed, ms, `slept ${elapsed} of ${ms} ms`);
    }
    return text(`slept ${ms} ms`);
  },
  task: {
    support: "optional",
    ttlMs: ({ ms }) => ms + DEFAULT_TASK_TTL_MS,
    pollIntervalMs: () => PROGRESS_INTERVAL_MS,
    step: ({ ms }, step) =>
      timedSteps(
        ms,
        PROGRESS_INTERVAL_MS,
        () => done(text(`slept ${ms} ms`)),
        (elapsed, total) => `slept ${elapsed} of ${total} ms`,
      )(step.state, step.now),
  },
});

const sessionInfo = defineTool({
  name: "session_info",
  description:
    "Describes this session: id, protocol version, client info, log level and wake count.",
  input: v.object({}),
  annotations: { readOnlyHint: true },
  run: (_args, ctx) => text(JSON.stringify(ctx.session())),
});

const log = defineTool({
  name: "log",
  description:
    "Emits a log message at the given level (filtered by logging/setLevel); says whether it was sent.",
  input: v.object({
    level: LogLevelSchema,
    message: v.pipe(v.string(), v.maxLength(4096)),
  }),
  run: ({ level, message }, ctx) => {
    const sent = ctx.log(level, message, "dormouse.log-tool");
    return text(sent ? `sent at ${level}` : `filtered: ${level} is below the session's level`);
  },
});

const GREETING_STYLES = ["casual", "formal", "pirate"] as const;

/** The session's own state as a resource; subscribers hear of changes a request makes. */
export const SESSION_RESOURCE_URI = "dormouse://session";

export const defaultToolset: Toolset = {
  name: "default",
  tools: [echo, add, counter, sleep, sessionInfo, log, wait, approve],
  resources: [
    {
      uri: SESSION_RESOURCE_URI,
      name: "session",
      description: "This session's state as JSON (same as the session_info tool).",
      mimeType: "application/json",
      read: (ctx) => ({ text: JSON.stringify(ctx.session()) }),
    },
    {
      uri: "dormouse://about",
      name: "about",
      description: "What Dormouse is.",
      mimeType: "text/plain",
      read: () => ({
        text: "Dormouse: an MCP gateway whose sessions sleep in Durable Objects between messages.",
      }),
    },
  ],
  prompts: [
    {
      name: "greet",
      description: "A greeting for someone, in a chosen style.",
      arguments: [
        { name: "name", description: "Who to greet", required: true },
        { name: "style", description: `One of ${GREETING_STYLES.join(", ")}`, required: false },
      ],
      complete: { style: GREETING_STYLES },
      render: ({ name, style }) => [
        {
          role: "user",
          content: { type: "text", text: `Greet ${name} in a ${style ?? "casual"} style.` },
        },
      ],
    },
  ],
};
