/**
 * The steady tool-call mix (`--mix echo:8,add:1,session_info:1`): which tools,
 * in what proportion, with what arguments, and how a reply is checked.
 */
import { LoadError } from "./errors";
import type { ToolReply } from "./session";

export interface MixEntry {
  tool: string;
  weight: number;
}

export function parseMix(spec: string): MixEntry[] {
  const entries = spec
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [tool = "", weightText] = part.split(":");
      const weight = weightText === undefined ? 1 : Number(weightText);
      if (!/^[\w./-]+$/.test(tool) || !Number.isFinite(weight) || weight <= 0) {
        throw new Error(`--mix: "${part}" is not tool[:weight] with a positive weight`);
      }
      return { tool, weight };
    });
  if (entries.length === 0) throw new Error("--mix: name at least one tool");
  return entries;
}

/** Picks a tool by weight; `roll` is a number in [0, 1). */
export function pickTool(mix: readonly MixEntry[], roll: number): string {
  const total = mix.reduce((sum, entry) => sum + entry.weight, 0);
  let point = roll * total;
  for (const entry of mix) {
    point -= entry.weight;
    if (point < 0) return entry.tool;
  }
  return mix[mix.length - 1]?.tool ?? "echo";
}

export function argumentsFor(tool: string, payload: string, n: number): Record<string, unknown> {
  switch (tool) {
    case "echo":
    case "reverse":
      return { text: payload };
    case "add":
      return { a: n, b: 1 };
    default:
      return {};
  }
}

/** Throws `bad_reply` when a reply is not what the tool must answer. */
export function checkReply(tool: string, payload: string, n: number, reply: ToolReply): void {
  const expected = tool === "echo" ? payload : tool === "add" ? String(n + 1) : undefined;
  if (expected !== undefined && reply.text !== expected) {
    throw new LoadError(
      "bad_reply",
      `${tool} answered ${JSON.stringify(reply.text)?.slice(0, 80)}`,
    );
  }
}

/** A payload of about `bytes` characters for echo calls. */
export function payloadOf(bytes: number): string {
  const unit = "dormouse ";
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, Math.max(1, bytes));
}
