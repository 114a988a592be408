/**
 * An answer to a server->client request that the person gives while the
 * inspector is re-attaching after a dropped socket, in real headless Chromium
 * against a real gateway (toolsets default and conformance): it must not be
 * lost for want of a socket, but written once the page is attached again, so
 * the call that asked finishes instead of running until the server gives up.
 *
 * The re-attach is held back by a patched `window.WebSocket`: while blocked,
 * every `/ws?session=` attempt is refused (a close 1006 with no network
 * connection, so the page logs no error), which keeps the page reconnecting
 * until the test lets the next attempt through.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
import {
  buildInspector,
  connect,
  expectText,
  newestCall,
  poll,
  selectTool,
  submitCall,
} from "./actions";
import { type Chromium, launchChromium } from "./chromium";
import { checkedPages } from "./pages";

/** Re-attach attempts back off up to 2 s after the first refusals; leave margin, far below the server's own wait. */
const FINISH_WITHIN_MS = 20_000;

let gateway: Gateway;
let chromium: Chromium;
let browser: Browser;
const pages = checkedPages();

beforeAll(async () => {
  buildInspector();
  [gateway, chromium] = await startAll([
    startGateway({ vars: { TOOLSETS: "default,conformance" } }),
    launchChromium(),
  ]);
  browser = chromium.browser;
});

afterAll(async () => {
  await Promise.allSettled([chromium?.stop(), gateway?.stop()]);
});

async function open(): Promise<Page> {
  return pages.open(browser, gateway.url);
}

interface ReattachGate {
  blocked: boolean;
  refused: number;
}

/** Refuses every re-attach (`/ws?session=`) while `window.reattachGate.blocked` is true. */
async function gateReattach(page: Page): Promise<void> {
  await page.evaluate(() => {
    const gate: ReattachGate = { blocked: true, refused: 0 };
    (window as unknown as { reattachGate: ReattachGate }).reattachGate = gate;
    const Real = window.WebSocket;
    window.WebSocket = new Proxy(Real, {
      construct(target, args: [string | URL, (string | string[])?]) {
        if (!gate.blocked || !String(args[0]).includes("session=")) {
          return Reflect.construct(target, args);
        }
        gate.refused += 1;
        const refused = new EventTarget();
        setTimeout(() => refused.dispatchEvent(new CloseEvent("close", { code: 1006 })), 0);
        return Object.assign(refused, { readyState: Real.CLOSED, close() {} });
      },
    });
  });
}

function refusedAttempts(page: Page): Promise<number> {
  return page.evaluate(
    () => (window as unknown as { reattachGate: ReattachGate }).reattachGate.refused,
  );
}

describe("answering while the page re-attaches", () => {
  it("writes an elicitation answer given while re-attaching once attached, and the call finishes", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_elicitation");
    await page.getByRole("textbox", { name: "message" }).fill("Who are you?");
    await submitCall(page, "test_elicitation");
    const dialog = page.getByRole("dialog", { name: "The server asks for input" });
    await dialog.waitFor();
    const card = newestCall(page, "test_elicitation");
    expect(await card.getAttribute("data-status")).toBe("running");

    await gateReattach(page);
    expect(await page.evaluate(() => window.dormouseInspector.dropSocket())).toBe(true);
    await expectText(page.locator("#status"), "Re-attaching");
    await expect.poll(() => refusedAttempts(page), poll()).toBeGreaterThanOrEqual(1);

    await dialog.getByRole("textbox", { name: "username" }).fill("alice");
    await dialog.getByRole("textbox", { name: "email" }).fill("alice@example.com");
    await dialog.getByRole("button", { name: "Accept" }).click();
    await dialog.waitFor({ state: "hidden" });
    // The answer was given with no socket to write it on.
    await expectText(page.locator("#status"), "Re-attaching");

    await page.evaluate(() => {
      (window as unknown as { reattachGate: ReattachGate }).reattachGate.blocked = false;
    });
    await expectText(page.locator("#notice"), /re-attached to session/);
    await expect.poll(() => card.getAttribute("data-status"), poll(FINISH_WITHIN_MS)).toBe("done");
    expect(await card.locator(".result").textContent()).toContain(
      'action=accept, content={"username":"alice","email":"alice@example.com"}',
    );
  }, 60_000);

  it("writes again, after re-attaching, an answer written on a socket that had died half-open", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_elicitation");
    await page.getByRole("textbox", { name: "message" }).fill("Still there?");
    await submitCall(page, "test_elicitation");
    const dialog = page.getByRole("dialog", { name: "The server asks for input" });
    await dialog.waitFor();
    const card = newestCall(page, "test_elicitation");

    // Half-open: the page still writes on the socket, but nothing reaches the gateway.
    await page.evaluate(() => {
      const socket = window.WebSocket.prototype;
      const send = socket.send;
      const gate = { swallow: true };
      (window as unknown as { halfOpen: typeof gate }).halfOpen = gate;
      socket.send = function (this: WebSocket, data) {
        if (!gate.swallow) send.call(this, data);
      };
    });
    await dialog.getByRole("textbox", { name: "username" }).fill("bob");
    await dialog.getByRole("textbox", { name: "email" }).fill("bob@example.com");
    await dialog.getByRole("button", { name: "Accept" }).click();
    await dialog.waitFor({ state: "hidden" });
    const answers = page.locator(
      '#traffic-list li.dir-out[data-kind="response"][data-method="elicitation/create"]',
    );
    await expect.poll(() => answers.count(), poll()).toBe(1);
    expect(await card.getAttribute("data-status")).toBe("running");

    await page.evaluate(() => {
      (window as unknown as { halfOpen: { swallow: boolean } }).halfOpen.swallow = false;
    });
    expect(await page.evaluate(() => window.dormouseInspector.dropSocket())).toBe(true);
    await expectText(page.locator("#notice"), /re-attached to session .*1 call still running/);
    await expect.poll(() => card.getAttribute("data-status"), poll(FINISH_WITHIN_MS)).toBe("done");
    expect(await page.locator("#notice").textContent()).toContain("1 answer written again");
    expect(await answers.count()).toBe(2);
    expect(await card.locator(".result").textContent()).toContain(
      'action=accept, content={"username":"bob","email":"bob@example.com"}',
    );
  }, 60_000);
});
