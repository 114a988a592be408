/** Dormouse's identity and capabilities as advertised to clients in both eras. */
export const SERVER_INFO = { name: "dormouse", title: "Dormouse MCP gateway", version: "0.1.0" };

/** Session era: resource subscriptions are kept per session (resources/subscribe). */
export const SERVER_CAPABILITIES = {
  tools: { listChanged: false },
  resources: { subscribe: true, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
  completions: {},
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
 * subscriptions/listen streams (Streamable HTTP); resources/subscribe is gone.
 */
export const MODERN_SERVER_CAPABILITIES = {
  tools: { listChanged: true },
  resources: {},
  prompts: { listChanged: true },
  logging: {},
  completions: {},
};

export const INSTRUCTIONS =
  "Dormouse gateway. Each session sleeps between messages; re-attach over WebSocket with " +
  "/ws?session=<id> (id in the initialize result's _meta['dormouse/sessionId']).";
