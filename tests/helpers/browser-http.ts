/**
 * A browser reduced to what an OAuth flow needs, over plain HTTP: a cookie
 * jar (per host and port, honouring Path), redirects followed by hand (so a
 * test can stop at, inspect or tamper with the redirect to the gateway's
 * callback), and form posts. Every request is bounded.
 */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 12;

interface Cookie {
  name: string;
  value: string;
  host: string;
  path: string;
}

export interface Page {
  status: number;
  url: string;
  text: string;
  location: string | null;
}

export class HttpBrowser {
  readonly #cookies: Cookie[] = [];

  async request(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = { Accept: "text/html" };
    const cookie = this.#cookieHeader(target);
    if (cookie) headers.Cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(target, {
      method: init.method ?? (init.form ? "POST" : "GET"),
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    for (const line of response.headers.getSetCookie()) this.#store(target, line);
    const location = response.headers.get("Location");
    return {
      status: response.status,
      url: target.toString(),
      text: await response.text(),
      location: location ? new URL(location, target).toString() : null,
    };
  }

  /** Follows redirects from `url` until a page that is not one, or until `stop(url)` says so. */
  async follow(
    url: string,
    stop: (next: string) => boolean = () => false,
    form?: Record<string, string>,
  ): Promise<Page> {
    let page = await this.request(url, form ? { form } : {});
    for (let hops = 0; page.location && hops < MAX_REDIRECTS; hops++) {
      if (stop(page.location)) return page;
      page = await this.request(page.location);
    }
    return page;
  }

  #cookieHeader(url: URL): string {
    return this.#cookies
      .filter((c) => c.host === url.host && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
  }

  #store(url: URL, line: string): void {
    const [pair, ...attributes] = line.split(";");
    const split = pair?.indexOf("=") ?? -1;
    if (!pair || split < 1) return;
    const name = pair.slice(0, split).trim();
    const value = pair.slice(split + 1).trim();
    let path = "/";
    let expired = false;
    for (const attribute of attributes) {
      const [key, val] = attribute.trim().split("=");
      if (key?.toLowerCase() === "path" && val) path = val;
      if (key?.toLowerCase() === "max-age" && Number(val) <= 0) expired = true;
    }
    const index = this.#cookies.findIndex(
      (c) => c.name === name && c.host === url.host && c.path === path,
    );
    if (index >= 0) this.#cookies.splice(index, 1);
    if (!expired) this.#cookies.push({ name, value, host: url.host, path });
  }
}

/** The value of the first form input named `name` on an HTML page. */
export function formValue(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match?.[1]) throw new Error(`no input ${name} on the page: ${html.slice(0, 300)}`);
  return match[1].replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
}

/** The action of the first form on an HTML page, absolute. */
export function formAction(html: string, base: string): string {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no form on the page: ${html.slice(0, 300)}`);
  return new URL(match[1].replace(/&amp;/g, "&"), base).toString();
}
