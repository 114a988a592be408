/**
 * Real headless Chromium for the inspector's browser tests and screenshots, driven
 * by playwright-core: the Chromium inside the npm package @sparticuz/chromium
 * (`npm-chromium.ts`), or the browser at CHROMIUM_PATH when that is set.
 *
 * Our own switches, not the package's `chromium.args`: those are for AWS Lambda
 * (`--single-process`, `--disable-web-security`, which would switch off the
 * same-origin checks the page is tested under), and the browser runs here without them.
 *
 * The browser is started with `launchServer` so its PID is known: playwright
 * starts it as the leader of its own process group with a fresh temporary
 * profile (`--user-data-dir`, removed on close). The group is registered for
 * cleanup as soon as playwright hands over its PID (`process-groups.ts`), and
 * `stop()` ends it by PID if a graceful close did not. Every wait is bounded.
 */
import { existsSync } from "node:fs";
import {
  type Browser,
  type BrowserContext,
  type BrowserServer,
  chromium,
  type Page,
} from "playwright-core";
import { killGroupNow, stopGroup, trackGroup } from "../helpers/process-groups";
import { withTimeout } from "../helpers/wait";
import { npmChromium } from "./npm-chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;
/** Default bound for every page action and expectation in these tests. */
export const ACTION_TIMEOUT_MS = 10_000;

export interface Chromium {
  browser: Browser;
  /** PID of the browser, which leads its process group. */
  pid: number;
  /** Closes the browser, then ends its process group by PID; idempotent. */
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** A browser to run instead of the npm one (default: the CHROMIUM_PATH variable). */
  executablePath?: string;
}

export async function launchChromium(options: LaunchOptions = {}): Promise<Chromium> {
  const { executablePath, env } = await executable(
    options.executablePath ?? (process.env.CHROMIUM_PATH || undefined),
  );
  const server: BrowserServer = await chromium.launchServer({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, ...env },
    timeout: LAUNCH_TIMEOUT_MS,
  });
  const pid = server.process().pid;
  if (pid === undefined) {
    await withTimeout(server.kill(), CLOSE_TIMEOUT_MS, "chromium to be killed").catch(() => {});
    throw new Error("chromium started without a pid");
  }
  trackGroup(pid, `chromium ${executablePath}`);
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: LAUNCH_TIMEOUT_MS });
  } catch (error) {
    await killGroupNow(pid);
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    browser,
    pid,
    stop() {
      stopped ??= (async () => {
        await withTimeout(browser.close(), CLOSE_TIMEOUT_MS, "the browser to close").catch(
          () => {},
        );
        await withTimeout(server.close(), CLOSE_TIMEOUT_MS, "chromium to exit").catch(() => {});
        await stopGroup(pid, CLOSE_TIMEOUT_MS);
      })();
      return stopped;
    },
  };
}

async function executable(
  path: string | undefined,
): Promise<{ executablePath: string; env: Record<string, string> }> {
  if (path === undefined) return npmChromium();
  if (!existsSync(path)) {
    throw new Error(`no browser at ${path} (CHROMIUM_PATH; unset it to use the npm Chromium)`);
  }
  return { executablePath: path, env: {} };
}

export interface InspectorPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors (CSP violations show up here). */
  errors: string[];
}

export async function openInspector(
  browser: Browser,
  url: string,
  viewport = { width: 1280, height: 800 },
): Promise<InspectorPage> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { context, page, errors };
}
