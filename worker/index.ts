/**
 * Composition root: the Worker's fetch handler and the Durable Object classes.
 */
import { env } from "cloudflare:workers";
import { warnIfOpen } from "./auth/authenticate";
import { app } from "./router";

// At start: say plainly when the gateway runs without authentication.
warnIfOpen(env as Env);

export { PrincipalObject } from "./auth/principal-object";
export { TicketObject } from "./auth/ticket-object";
export { SessionObject } from "./session-object";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
