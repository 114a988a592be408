/** Dormouse's identity and capabilities as advertised to clients in both eras. */
export const SERVER_INFO = { name: "dormouse", title: "Dormouse MCP gateway", version: "0.1.0" };

export const SERVER_CAPABILITIES = {
  tools: { listChanged: false },
  resources: { subscribe: false, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
  completions: {},
};

export const INSTRUCTIONS =
  "Dormouse gateway. Each session sleeps between messages; re-attach over WebSocket with " +
  "/ws?session=<id> (id in the initialize result's _meta['dormouse/sessionId']).";
