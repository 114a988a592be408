/**
 * Composition root: the Worker's fetch handler and the session Durable Object.
 */
import { app } from "./router";

export { PrincipalObject } from "./auth/principal-object";
export { TicketObject } from "./auth/ticket-object";
export { SessionObject } from "./session-object";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
