/** A configuration (Worker var or secret) that cannot be served; its message names the field and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
