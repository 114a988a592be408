/**
 * JSON in SQLite columns: bounded on the way in, tolerant on the way out (a
 * corrupt value reads as null rather than failing the session).
 */

/** Cap on stored client info / capabilities JSON; larger values are stored as `{}`. */
export const MAX_CLIENT_JSON_BYTES = 8 * 1024;

export function cappedJson(value: unknown): string {
  const text = JSON.stringify(value ?? {});
  return text.length > MAX_CLIENT_JSON_BYTES ? "{}" : text;
}

export function parseJsonObject<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as T) : null;
  } catch {
    return null;
  }
}
