/**
 * Real headless Chromium for the inspector's browser tests and screenshots:
 * Debian's `chromium` (installed by .ci/run; `npx playwright install` cannot
 * download browsers here) or the browser at CHROMIUM_PATH, driven by playwright-core.
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
  /** The browser to run (default: the CHROMIUM_PATH variable, else /usr/bin/chromium). */
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
  path = "/usr/bin/chromium",
): Promise<{ executablePath: string; env: Record<string, string> }> {
  if (!existsSync(path)) {
    throw new Error(
      `no browser at ${path}: install Debian's chromium (apt-get install -y chromium)`,
    );
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
