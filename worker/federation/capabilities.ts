/**
 * The client capabilities a gateway session relays to its upstream sessions
 * (what the upstream may ask the client for), and a canonical form to compare
 * them, so an upstream session opened with other capabilities is re-opened.
 */
import { isRecord } from "../../shared/protocol";
import type { RelayCall } from "./relay-call";

/** Client capabilities the gateway can relay upstream. */
const RELAYABLE_CAPABILITIES = ["elicitation", "sampling", "roots"] as const;

export function relayableCapabilities(call: RelayCall): Record<string, unknown> {
  const declared = call.clientCapabilities();
  const picked: Record<string, unknown> = {};
  for (const name of RELAYABLE_CAPABILITIES) if (name in declared) picked[name] = declared[name];
  return picked;
}

/** JSON with sorted keys at every level, for comparing capability objects. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
