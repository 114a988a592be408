/**
 * The Worker's route table (Hono). Routes validate the edge and hand the raw
 * request to the module that owns it (worker/http/); no MCP method logic
 * lives here.
 */
import { Hono } from "hono";
import { PROTECTED_RESOURCE_PATH } from "./auth/oauth";
import { ConfigError } from "./config/config-error";
import type { AppEnv } from "./http/app-env";
import { authGate, originGate } from "./http/edge";
import { deleteMcp, getMcp, postMcp } from "./http/mcp-endpoint";
import {
  callback,
  clientMetadata,
  listAuthorizations,
  revokeAuthorization,
  startFlow,
  startPage,
} from "./http/oauth-routes";
import { health, protectedResource, tickets } from "./http/service-routes";
import { openSocket } from "./http/ws-endpoint";
import { inspector } from "./inspector/route";
import { logEvent } from "./observability/log";
import {
  AUTHORIZATIONS_PATH,
  CLIENT_METADATA_PATH,
  OAUTH_CALLBACK_PATH,
  OAUTH_START_PATH,
} from "./upstream-auth/plan";

export const app = new Hono<AppEnv>();

app.use("*", originGate);
// The inspector page: behind the Host/Origin check, before authentication (it holds no secrets).
app.route("/", inspector);
app.get(`${PROTECTED_RESOURCE_PATH}/*`, protectedResource);
app.get(PROTECTED_RESOURCE_PATH, protectedResource);
// Upstream OAuth: a browser follows these without the gateway's credentials (signed, single-use state).
app.get(OAUTH_START_PATH, startPage);
app.post(OAUTH_START_PATH, startFlow);
app.get(OAUTH_CALLBACK_PATH, callback);
app.get(CLIENT_METADATA_PATH, clientMetadata);
app.use("*", authGate);

app.get(AUTHORIZATIONS_PATH, listAuthorizations);
app.delete(`${AUTHORIZATIONS_PATH}/:upstream`, revokeAuthorization);

app.post("/tickets", tickets);
app.get("/healthz", health);
app.all("/ws", openSocket);
app.post("/mcp", postMcp);
app.get("/mcp", getMcp);
app.delete("/mcp", deleteMcp);
app.all("/mcp", (c) =>
  c.text("Method Not Allowed: use POST, GET or DELETE\n", 405, { Allow: "GET, POST, DELETE" }),
);

app.notFound((c) => c.text("Not found\n", 404));

app.onError((error, c) => {
  if (error instanceof ConfigError) {
    logEvent("error", "config_invalid", { error });
    return c.text("Service Unavailable: the gateway is misconfigured (see its log)\n", 503);
  }
  logEvent("error", "router_error", { path: c.req.path, error });
  return c.text("Internal error\n", 500);
});
