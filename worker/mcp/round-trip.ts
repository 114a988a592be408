/**
 * Multi-round-trip requests (SEP-2322) on the wire: reading `inputResponses`
 * and `requestState` from a retry, and writing an `input_required` result.
 * Both eras use it: 2026-07-28 clients retry themselves; for session-era
 * clients the input bridge retries on their behalf.
 */
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";
import type { InputRequired } from "../tools/types";
import { openRequestState, sealRequestState } from "./request-state";

export interface RoundTrip {
  inputResponses: Record<string, unknown> | undefined;
  requestState: unknown;
}

/** A first round: nothing to read (most calls; answered without a promise). */
const FIRST_ROUND: RoundTrip = Object.freeze({
  inputResponses: undefined,
  requestState: undefined,
});

/** The round-trip fields of `params`; a promise only when there is sealed state to open. */
export function readRoundTrip(
  params: Record<string, unknown>,
  secret: string | undefined,
): RoundTrip | Promise<RoundTrip> {
  const { inputResponses, requestState } = params;
  if (inputResponses === undefined && requestState === undefined) return FIRST_ROUND;
  if (inputResponses !== undefined && !isObjectOfObjects(inputResponses)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      "Invalid inputResponses: expected an object whose values are response objects",
    );
  }
  if (requestState !== undefined && typeof requestState !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      "Invalid requestState: expected the string the server issued",
    );
  }
  if (requestState === undefined) return { inputResponses, requestState: undefined };
  return openRequestState(requestState, secret).then((opened) => ({
    inputResponses,
    requestState: opened,
  }));
}

export async function inputRequiredResult(
  required: InputRequired,
  secret: string | undefined,
): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {
    resultType: "input_required",
    inputRequests: required.inputRequests,
  };
  if (required.state !== undefined)
    result.requestState = await sealRequestState(required.state, secret);
  return result;
}

function isObjectOfObjects(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (entry) => typeof entry === "object" && entry !== null && !Array.isArray(entry),
  );
}
