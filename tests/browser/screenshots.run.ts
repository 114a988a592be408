/**
 * Takes the README's screenshots of the inspector (`npm run screenshots`):
 * real Chromium against a real gateway, light colour scheme, fixed viewports.
 * Writes docs/inspector-*.png. Run through vitest (tests/browser/screenshots.config.ts)
 * for TypeScript and the shared helpers; it is not part of `npm test`.
 */
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../tools/free-port";
import { type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
import { startStatefulUpstream } from "../helpers/upstream";
import { sleep } from "../helpers/wait";
import {
  buildInspector,
  call,
  connect,
  expectText,
  newestCall,
  poll,
  selectTool,
  submitCall,
} from "./actions";
import { ACTION_TIMEOUT_MS, type Chromium, launchChromium } from "./chromium";

const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 400, height: 860 };
/** Long enough for local workerd to evict the idle session object (10 s). */
const IDLE_FOR_EVICTION_MS = 12_500;

let gateway: Gateway;
let chromium: Chromium;
let browser: Browser;

beforeAll(async () => {
  buildInspector();
  await mkdir(DOCS, { recursive: true });
  [gateway, chromium] = await startAll([
    startGateway({ vars: { TOOLSETS: "default,conformance" } }),
    launchChromium(),
  ]);
  browser = chromium.browser;
});

afterAll(async () => {
  await Promise.allSettled([chromium?.stop(), gateway?.stop()]);
});

async function page(viewport = WIDE, on: Gateway = gateway): Promise<Page> {
  const context = await browser.newContext({ viewport, colorScheme: "light" });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const tab = await context.newPage();
  await tab.goto(`${on.url}/inspector`);
  return tab;
}

async function shoot(tab: Page, name: string): Promise<void> {
  // No caret or focus ring blinking into the picture.
  await tab.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  await tab.screenshot({ path: `${DOCS}${name}`, animations: "disabled", caret: "hide" });
}

it("takes the tools view: a form, a finished call, a call in progress, logs and traffic", async () => {
  const tab = await page();
  await connect(tab);
  await tab.getByRole("combobox", { name: "Level", exact: true }).selectOption("debug");
  await selectTool(tab, "log");
  await tab
    .getByRole("combobox", { name: "level", exact: true })
    .selectOption({ label: "warning" });
  await tab.getByRole("textbox", { name: "message" }).fill("disk almost full");
  await call(tab, "log");
  await selectTool(tab, "test_image_content");
  await call(tab, "test_image_content");
  await selectTool(tab, "add");
  await tab.getByRole("spinbutton", { name: "a" }).fill("2");
  await tab.getByRole("spinbutton", { name: "b" }).fill("40");
  await call(tab, "add");
  await selectTool(tab, "sleep");
  await tab.getByRole("spinbutton", { name: "ms" }).fill("4000");
  await submitCall(tab, "sleep");
  const bar = newestCall(tab, "sleep").getByRole("progressbar");
  await expect
    .poll(async () => Number(await bar.getAttribute("value")), poll())
    .toBeGreaterThanOrEqual(1500);
  await shoot(tab, "inspector-tools.png");
  await newestCall(tab, "sleep").getByRole("button", { name: "Cancel sleep" }).click();
  await tab.context().close();
}, 60_000);

it("takes the elicitation dialog", async () => {
  const tab = await page();
  await connect(tab);
  await selectTool(tab, "test_elicitation");
  await tab.getByRole("textbox", { name: "message" }).fill("Who should this booking be for?");
  await submitCall(tab, "test_elicitation");
  const dialog = tab.getByRole("dialog");
  await dialog.getByRole("textbox", { name: "username" }).fill("ada");
  await dialog.getByRole("textbox", { name: "email" }).fill("ada@example.com");
  await shoot(tab, "inspector-elicitation.png");
  await dialog.getByRole("button", { name: "Accept" }).click();
  await tab.context().close();
}, 60_000);

it("takes the session view after hibernation and a dropped socket", async () => {
  const tab = await page();
  await connect(tab);
  await selectTool(tab, "counter");
  await call(tab, "counter");
  await call(tab, "counter");
  await sleep(IDLE_FOR_EVICTION_MS);
  await tab.evaluate(() => window.dormouseInspector.dropSocket());
  await expectText(tab.locator("#notice"), "re-attached");
  await tab.getByRole("tab", { name: "Session" }).click();
  await tab.getByRole("button", { name: "Refresh session_info" }).click();
  await expect
    .poll(async () => Number(await tab.locator("#summary-wakes").textContent()), poll())
    .toBeGreaterThan(1);
  await shoot(tab, "inspector-session.png");
  await tab.context().close();
}, 90_000);

it("takes the narrow layout", async () => {
  const tab = await page(NARROW);
  await connect(tab);
  await selectTool(tab, "add");
  await tab.getByRole("spinbutton", { name: "a" }).fill("1");
  await tab.getByRole("spinbutton", { name: "b" }).fill("2");
  await call(tab, "add");
  await shoot(tab, "inspector-narrow.png");
  await tab.context().close();
}, 60_000);

it("takes the federation view: upstream tools under their prefix, a relayed call, an upstream down", async () => {
  const upstream = await startStatefulUpstream();
  let federating: Gateway | undefined;
  try {
    federating = await startGateway({
      vars: {
        UPSTREAMS: JSON.stringify([
          { name: "notes", url: upstream.url, prefix: "notes" },
          { name: "search", url: `http://127.0.0.1:${await freePort()}/mcp`, prefix: "search" },
        ]),
      },
    });
    const tab = await page(WIDE, federating);
    await connect(tab);
    await tab.locator("#tool-filter").fill("notes__");
    await selectTool(tab, "notes__remember");
    await tab.getByLabel("value").fill("the meeting moved to Thursday");
    await call(tab, "notes__remember");
    await selectTool(tab, "notes__recall");
    await call(tab, "notes__recall");
    await expectText(tab.locator("#unavailable-upstreams"), /search could not be reached/);
    await shoot(tab, "inspector-federation.png");
    await tab.context().close();
  } finally {
    await Promise.allSettled([federating?.stop(), upstream.stop()]);
  }
}, 90_000);
