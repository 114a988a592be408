/**
 * Real headless Chromium for the inspector's browser tests and screenshots:
 * Debian's `chromium` (installed by .ci/run; `npx playwright install` cannot
 * download browsers here) driven by playwright-core.
 *
 * The browser is started with `launchServer` so its PID is known: playwright
 * starts it as the leader of its own process group with a fresh temporary
 * profile (`--user-data-dir`, removed on close), and `close()` ends that
 * group by PID if a graceful close did not. Every wait is bounded.
 */
import { existsSync } from "node:fs";
import {
  type Browser,
  type BrowserContext,
  type BrowserServer,
  chromium,
  type Page,
} from "playwright-core";
import { sleep, withTimeout } from "../helpers/wait";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
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
  pid: number;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`,
    );
  }
  const server: BrowserServer = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
  });
  const pid = server.process().pid;
  if (pid === undefined) throw new Error("chromium started without a pid");
  const kill = () => killGroup(pid, "SIGKILL");
  process.once("exit", kill);
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: LAUNCH_TIMEOUT_MS });
  } catch (error) {
    kill();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    browser,
    pid,
    close() {
      closed ??= (async () => {
        process.off("exit", kill);
        await withTimeout(browser.close(), CLOSE_TIMEOUT_MS, "the browser to close").catch(
          () => {},
        );
        await withTimeout(server.close(), CLOSE_TIMEOUT_MS, "chromium to exit").catch(() => {});
        const deadline = Date.now() + CLOSE_TIMEOUT_MS;
        while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
        if (groupAlive(pid)) kill();
      })();
      return closed;
    },
  };
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

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}
