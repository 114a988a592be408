/**
 * The principal of every caller while auth is off (authenticate.ts). Its
 * sessions hold no per-principal slot, so no configured principal may take
 * the name (tokens.ts).
 */
export const ANONYMOUS = "anonymous";
