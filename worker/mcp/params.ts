/**
 * The one way method handlers read their params: valibot `safeParse` at the
 * trust boundary, every issue named in a -32602 message.
 */
import * as v from "valibot";
import { INVALID_PARAMS, JsonRpcError } from "../../shared/errors";
import { formatIssues } from "../../shared/issues";

export function parseParams<S extends v.GenericSchema>(
  schema: S,
  params: unknown,
  method: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, params ?? {});
  if (!parsed.success) {
    const issues = formatIssues(parsed.issues, "params");
    throw new JsonRpcError(INVALID_PARAMS, `Invalid params for ${method}: ${issues}`);
  }
  return parsed.output;
}
