import { TASKS_EXTENSION } from "../../shared/tasks";

/** Dormouse's identity and capabilities as advertised to clients in both eras. */
export const SERVER_INFO = { name: "dormouse", title: "Dormouse MCP gateway", version: "0.1.0" };

/**
 * Session era: resource subscriptions are kept per session (resources/subscribe);
 * tools/call may be task-augmented (2025-11-25 experimental tasks), and
 * tasks/list and tasks/cancel are served.
 */
export const SERVER_CAPABILITIES = {
  tools: { listChanged: false },
  resources: { subscribe: true, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
  completions: {},
  tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
};

/** Session era with upstreams: their list changes are forwarded to the client. */
export const FEDERATED_SERVER_CAPABILITIES = {
  ...SERVER_CAPABILITIES,
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
};

/**
 * 2026-07-28 (server/discover): list changes are announced on
 * subscriptions/listen streams (Streamable HTTP); resources/subscribe is gone;
 * tasks are the extension `io.modelcontextprotocol/tasks` (SEP-2663), never a
 * `tasks` capability.
 */
export const MODERN_SERVER_CAPABILITIES = {
  tools: { listChanged: true },
  resources: {},
  prompts: { listChanged: true },
  logging: {},
  completions: {},
  extensions: { [TASKS_EXTENSION]: {} },
};

export const INSTRUCTIONS =
  "Dormouse gateway. Each session sleeps between messages; re-attach over WebSocket with " +
  "/ws?session=<id> (id in the initialize result's _meta['dormouse/sessionId']).";
