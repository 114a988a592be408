/**
 * `subscriptions/listen` over Streamable HTTP (2026-07-28): one long-lived SSE
 * stream per request, opened with `notifications/subscriptions/acknowledged`
 * (echoing the accepted filter), then the list-change notifications the filter
 * asks for, each tagged with the subscription id (the listen request's id),
 * with keepalive comments in between. Held by the Worker, never by a session
 * object, so listening costs no object any awake time; changes arrive from the
 * deployment-wide feed (worker/change-feed.ts). The acknowledgement is sent
 * once the stream is subscribed, so a change made after it is delivered.
 */
import * as v from "valibot";
import { INTERNAL_ERROR, JsonRpcError, notificationEnvelope } from "../../shared/errors";
import type { JsonRpcRequest } from "../../shared/protocol";
import { type ListKind, subscribe } from "../feed/change-feed";
import { parseParams } from "../mcp/handlers";
import { keepAlive, SseWriter, sseResponse } from "../transports/sse";

export const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

const FilterSchema = v.looseObject({
  notifications: v.optional(
    v.looseObject({
      toolsListChanged: v.optional(v.boolean()),
      promptsListChanged: v.optional(v.boolean()),
      resourcesListChanged: v.optional(v.boolean()),
      resourceSubscriptions: v.optional(v.array(v.string())),
    }),
    {},
  ),
});

const FLAG_FOR: Record<
  ListKind,
  "toolsListChanged" | "promptsListChanged" | "resourcesListChanged"
> = {
  tools: "toolsListChanged",
  prompts: "promptsListChanged",
  resources: "resourcesListChanged",
};

export async function openListenStream(
  request: JsonRpcRequest,
  keepaliveMs: number,
): Promise<Response> {
  const { notifications: filter } = parseParams(
    FilterSchema,
    request.params,
    "subscriptions/listen",
  );
  const meta = { [META_SUBSCRIPTION_ID]: request.id };
  const sse = new SseWriter();
  const subscription = await subscribe(
    (kind) => {
      if (filter[FLAG_FOR[kind]] !== true) return;
      sse.event(
        JSON.stringify(notificationEnvelope(`notifications/${kind}/list_changed`, { _meta: meta })),
      );
      if (sse.closed) close();
    },
    // The feed dropped us (a restart): end the stream so the client listens again.
    () => close(),
  );
  if (!subscription) {
    throw new JsonRpcError(INTERNAL_ERROR, "Too many listen streams on this gateway; retry later");
  }
  const accepted = {
    ...(filter.toolsListChanged !== undefined ? { toolsListChanged: filter.toolsListChanged } : {}),
    ...(filter.promptsListChanged !== undefined
      ? { promptsListChanged: filter.promptsListChanged }
      : {}),
    ...(filter.resourcesListChanged !== undefined
      ? { resourcesListChanged: filter.resourcesListChanged }
      : {}),
    ...(filter.resourceSubscriptions
      ? { resourceSubscriptions: filter.resourceSubscriptions }
      : {}),
  };
  sse.event(
    JSON.stringify(
      notificationEnvelope("notifications/subscriptions/acknowledged", {
        notifications: accepted,
        _meta: meta,
      }),
    ),
  );
  const stop = keepAlive(sse, keepaliveMs, () => close());
  function close(): void {
    stop();
    subscription?.close();
    sse.close();
  }
  return sseResponse(sse);
}
