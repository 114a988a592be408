/**
 * Reading a response body from a server we do not control without holding
 * more of it than we mean to keep: the body is decoded as it streams, and
 * reading stops (the rest cancelled, never downloaded) once `limit` characters
 * are in hand. `response.text()` would take the whole body into memory first,
 * whatever its size.
 */

/** The body's first `limit` characters at most; `truncated` when there was more. */
export async function readTextUpTo(
  body: ReadableStream | null,
  limit: number,
): Promise<{ text: string; truncated: boolean }> {
  if (!body) return { text: "", truncated: false };
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { text, truncated: false };
    text += value;
    if (text.length > limit) {
      await reader.cancel();
      return { text: text.slice(0, limit), truncated: true };
    }
  }
}
