/**
 * The Hono app's environment (what Hono apps call `AppEnv`): the Worker's
 * bindings, and the variables the edge middleware sets for the routes.
 */
import type { Context } from "hono";

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** The request's allowed Origin, echoed in CORS headers; null without one. */
    corsOrigin: string | null;
    /** Whether the Host is a loopback name (set by the origin gate). */
    loopback: boolean;
    /** Who is calling: a token's principal, `oauth:<sub>`, or `anonymous` with auth off. */
    principal: string;
    /** Whether the principal was authenticated (false only with auth off, on loopback). */
    authenticated: boolean;
  };
};

export type AppContext = Context<AppEnv>;
