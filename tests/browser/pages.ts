/**
 * The inspector pages a browser test file opens: after every test, each must
 * have run without script errors or CSP violations (openInspector collects
 * them), and all are closed. Call once at the top of a test file.
 */
import type { Browser, Page } from "playwright-core";
import { afterEach, expect } from "vitest";
import { type InspectorPage, openInspector } from "./chromium";

type Viewport = { width: number; height: number };

export interface CheckedPages {
  /** Opens the inspector at `url` in a new context; its page. */
  open(browser: Browser, url: string, viewport?: Viewport): Promise<Page>;
  /** The same, with its context and the errors it collects. */
  inspector(browser: Browser, url: string, viewport?: Viewport): Promise<InspectorPage>;
}

export function checkedPages(): CheckedPages {
  const opened: InspectorPage[] = [];
  afterEach(async () => {
    const errors = opened.flatMap((o) => o.errors);
    await Promise.allSettled(opened.map((o) => o.context.close()));
    opened.length = 0;
    expect(errors).toEqual([]);
  });
  const inspector = async (browser: Browser, url: string, viewport?: Viewport) => {
    const opening = await openInspector(browser, url, viewport);
    opened.push(opening);
    return opening;
  };
  return {
    inspector,
    open: async (browser, url, viewport) => (await inspector(browser, url, viewport)).page,
  };
}
