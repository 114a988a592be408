/**
 * fetch with a deadline whose timer is cleared when the exchange ends (these
 * requests run inside Durable Objects, where AbortSignal.timeout's timer
 * would outlive the request and keep the object awake), with redirects not
 * followed (an authorization server answers directly or not at all), and a
 * body read only up to OAUTH_MAX_RESPONSE_CHARS: a larger one is cut there
 * (its callers refuse a body over their bound) instead of downloaded whole
 * into the object's memory.
 */
import { readTextUpTo } from "../transports/bounded-body";

export type Fetcher = (input: string, init?: RequestInit) => Promise<Response>;

export const OAUTH_FETCH_TIMEOUT_MS = 10_000;
/** The most of a body read; one character past every caller's own bound, so they see it was larger. */
export const OAUTH_MAX_RESPONSE_CHARS = 64 * 1024 + 1;

const defaultFetcher: Fetcher = (input, init) => fetch(input, init);

/** Sends `init` to `url`; the body must be read with `readText` before the deadline. */
export async function boundedFetch(
  url: string,
  init: RequestInit,
  fetcher: Fetcher = defaultFetcher,
  timeoutMs = OAUTH_FETCH_TIMEOUT_MS,
): Promise<{ status: number; ok: boolean; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("timed out")), timeoutMs);
  try {
    const response = await fetcher(url, { ...init, redirect: "manual", signal: controller.signal });
    const { text } = await readTextUpTo(response.body, OAUTH_MAX_RESPONSE_CHARS);
    return { status: response.status, ok: response.ok, text };
  } finally {
    clearTimeout(timer);
  }
}
