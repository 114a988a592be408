/**
 * Composition root: the Worker's fetch handler and the Durable Object classes.
 */
import { env } from "cloudflare:workers";
import { warnIfOpen } from "./auth/authenticate";
import { ConfigError } from "./config/config-error";
import { checkConfiguration } from "./config/configuration";
import { logEvent, setLogLevel } from "./observability/log";
import { app } from "./router";

// At start: the log threshold first, so what follows obeys it; a bad LOG_LEVEL keeps `info` and says so.
if (!setLogLevel((env as Env).LOG_LEVEL)) {
  logEvent("warn", "log_level_invalid", { value: (env as Env).LOG_LEVEL, using: "info" });
}
// Then say plainly when the gateway runs without authentication, and check
// TOOLSETS/UPSTREAMS/ACCESS_POLICY now, so a bad configuration is in the log before any request
// (requests are then refused with 503 until it is fixed).
warnIfOpen(env as Env);
try {
  checkConfiguration(env as Env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  logEvent("error", "config_invalid", { error });
}

export { PrincipalObject } from "./auth/principal-object";
export { TicketObject } from "./auth/ticket-object";
export { FeedObject } from "./feed/feed-object";
export { SessionObject } from "./session/session-object";
export { TaskObject } from "./tasks/task-object";
export { RegistrationObject } from "./upstream-auth/registration-object";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
