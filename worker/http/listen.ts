/**
 * `subscriptions/listen` over Streamable HTTP (2026-07-28): one long-lived SSE
 * stream per request, opened with `notifications/subscriptions/acknowledged`
 * (echoing the accepted filter), then the list-change notifications the filter
 * asks for, each tagged with the subscription id (the listen request's id),
 * with keepalive comments in between. Held by the Worker, never by a session
 * object, so listening costs no object any awake time; changes arrive from the
 * deployment-wide feed (worker/change-feed.ts). The acknowledgement is sent
 * once the stream is subscribed, so a change made after it is delivered.
 *
 * Tasks (SEP-2663): `notifications.taskIds` asks for `notifications/tasks` on
 * those tasks; the request must declare the tasks extension (-32021
 * otherwise). Each id is watched through its task object
 * (tasks/task-listeners.ts), which refuses ids of other principals, so the
 * acknowledgement lists only the caller's own tasks and nothing of anyone
 * else's can ever reach this stream. Each watched task's current state follows
 * the acknowledgement, then every change.
 */
import * as v from "valibot";
import {
  INTERNAL_ERROR,
  JsonRpcError,
  MISSING_CLIENT_CAPABILITY,
  notificationEnvelope,
  TOO_MANY_IN_FLIGHT,
} from "../../shared/errors";
import { MAX_LISTEN_TASK_IDS } from "../../shared/limits";
import { isRecord, type JsonRpcRequest, META_CLIENT_CAPABILITIES } from "../../shared/protocol";
import { declaresTasksExtension, TASKS_EXTENSION } from "../../shared/tasks";
import {
  FEED_SHARDS,
  type ListKind,
  MAX_LISTENERS_PER_PRINCIPAL,
  type Subscription,
  subscribe,
} from "../feed/change-feed";
import { parseParams } from "../mcp/params";
import { watchTask } from "../tasks/task-listeners";
import { keepAlive, SseWriter, sseResponse } from "../transports/sse";

export const META_SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

const FilterSchema = v.looseObject({
  notifications: v.optional(
    v.looseObject({
      toolsListChanged: v.optional(v.boolean()),
      promptsListChanged: v.optional(v.boolean()),
      resourcesListChanged: v.optional(v.boolean()),
      resourceSubscriptions: v.optional(v.array(v.string())),
      taskIds: v.optional(
        v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(MAX_LISTEN_TASK_IDS)),
      ),
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

export interface ListenOptions {
  keepaliveMs: number;
  /** The authenticated principal: only its own tasks may be watched. */
  principal: string;
}

export async function openListenStream(
  request: JsonRpcRequest,
  options: ListenOptions,
): Promise<Response> {
  const { notifications: filter } = parseParams(
    FilterSchema,
    request.params,
    "subscriptions/listen",
  );
  if (filter.taskIds) requireTasksExtension(request);
  const meta = { [META_SUBSCRIPTION_ID]: request.id };
  const sse = new SseWriter();
  // Declared before anything can end the stream: the feed may drop us while
  // the tasks are still being read.
  let feed: Subscription | null = null;
  let tasks: { watched: string[]; close(): void } | null = null;
  let stop = () => {};
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stop();
    feed?.close();
    tasks?.close();
    sse.close();
  };
  const send = (frame: object) => {
    sse.event(JSON.stringify(frame));
    if (sse.closed) close();
  };
  // Whatever arrives before the acknowledgement (a list change, a task's state) waits for it.
  const held: object[] = [];
  let acknowledged = false;
  const emit = (frame: object) => {
    if (acknowledged) send(frame);
    else held.push(frame);
  };
  const emitTask = (task: Record<string, unknown>) => {
    const taskMeta = isRecord(task._meta) ? task._meta : {};
    emit(notificationEnvelope("notifications/tasks", { ...task, _meta: { ...taskMeta, ...meta } }));
  };
  const subscription = await subscribe(
    options.principal,
    (kind) => {
      if (filter[FLAG_FOR[kind]] !== true) return;
      emit(notificationEnvelope(`notifications/${kind}/list_changed`, { _meta: meta }));
    },
    // The feed dropped us (a restart): end the stream so the client listens again.
    () => close(),
  );
  if (subscription === "principal_limit") {
    throw new JsonRpcError(
      TOO_MANY_IN_FLIGHT,
      `Too many listen streams open for this principal (at most ${MAX_LISTENERS_PER_PRINCIPAL} per feed shard, ${FEED_SHARDS} shards); close one first`,
    );
  }
  if (!subscription) {
    throw new JsonRpcError(INTERNAL_ERROR, "Too many listen streams on this gateway; retry later");
  }
  feed = subscription;
  const watching = await watchOwnTasks(filter.taskIds ?? [], options.principal, emitTask);
  tasks = watching;
  if (closed) {
    watching.close();
    return sseResponse(sse);
  }
  send(
    notificationEnvelope("notifications/subscriptions/acknowledged", {
      notifications: acceptedFilter(filter, watching.watched),
      _meta: meta,
    }),
  );
  acknowledged = true;
  for (const frame of held.splice(0)) send(frame);
  stop = keepAlive(sse, options.keepaliveMs, close);
  return sseResponse(sse);
}

function requireTasksExtension(request: JsonRpcRequest): void {
  if (declaresTasksExtension(capabilitiesOf(request))) return;
  throw new JsonRpcError(
    MISSING_CLIENT_CAPABILITY,
    `Missing required client capability: task notifications need the ${TASKS_EXTENSION} extension declared in _meta clientCapabilities`,
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
}

/**
 * Watches, all at once, the tasks among `taskIds` that are the principal's own;
 * the others are simply not watched. A task deleted at its TTL stops being
 * watched; the stream goes on.
 */
async function watchOwnTasks(
  taskIds: readonly string[],
  principal: string,
  emit: (task: Record<string, unknown>) => void,
): Promise<{ watched: string[]; close(): void }> {
  const unique = [...new Set(taskIds)];
  const watches = await Promise.all(
    unique.map((taskId) => watchTask(taskId, principal, emit, () => {}).catch(() => null)),
  );
  return {
    watched: unique.filter((_, index) => watches[index] !== null),
    close() {
      for (const watch of watches) watch?.close();
    },
  };
}

/**
 * The filter echoed in the acknowledgement: what was asked and is honoured,
 * with only the watched task ids. Resource subscriptions are left out: nothing
 * sends `notifications/resources/updated` yet, and the acknowledgement lists
 * only what the server will do.
 */
function acceptedFilter(
  filter: v.InferOutput<typeof FilterSchema>["notifications"],
  watched: string[],
): Record<string, unknown> {
  return {
    ...(filter.toolsListChanged !== undefined ? { toolsListChanged: filter.toolsListChanged } : {}),
    ...(filter.promptsListChanged !== undefined
      ? { promptsListChanged: filter.promptsListChanged }
      : {}),
    ...(filter.resourcesListChanged !== undefined
      ? { resourcesListChanged: filter.resourcesListChanged }
      : {}),
    ...(filter.taskIds ? { taskIds: watched } : {}),
  };
}

function capabilitiesOf(request: JsonRpcRequest): Record<string, unknown> {
  const meta = request.params?._meta;
  const declared = isRecord(meta) ? meta[META_CLIENT_CAPABILITIES] : undefined;
  return isRecord(declared) ? declared : {};
}
