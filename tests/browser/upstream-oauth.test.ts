/**
 * Per-principal OAuth to an upstream, in Chromium: the inspector calls an
 * unauthorized upstream's stand-in tool, receives the URL elicitation, opens
 * the gateway's start page in a new window, which follows the authorization
 * server's (oidc-provider's) real login and consent pages back to the
 * gateway; the inspector shows the elicitation completed, the call completes,
 * the upstream's own tools appear and answer with the signed-in identity, and
 * the Session tab lists the upstream among the authorized ones and revokes it.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../tools/free-port";
import { type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
import { startOAuthProvider, startOAuthUpstream, type UpstreamProcess } from "../helpers/upstream";
import { buildInspector, call, connect, expectText, poll, selectTool } from "./actions";
import { type Chromium, type InspectorPage, launchChromium } from "./chromium";
import { checkedPages } from "./pages";

let provider: UpstreamProcess | undefined;
let upstream: UpstreamProcess | undefined;
let gateway: Gateway | undefined;
let chromium: Chromium | undefined;
let browser: Browser;
const pages = checkedPages();

beforeAll(async () => {
  buildInspector();
  provider = await startOAuthProvider();
  upstream = await startOAuthUpstream({ issuer: provider.url });
  const port = await freePort();
  [gateway, chromium] = await startAll([
    startGateway({
      port,
      vars: {
        UPSTREAM_TOKEN_KEY: "k".repeat(64),
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        UPSTREAMS: JSON.stringify([
          {
            name: "sec",
            url: upstream.url,
            prefix: "sec",
            auth: { type: "oauth", scopes: ["mcp"] },
          },
        ]),
      },
    }),
    launchChromium(),
  ]);
  browser = chromium.browser;
});

afterAll(async () => {
  await Promise.allSettled([chromium?.stop(), gateway?.stop(), upstream?.stop(), provider?.stop()]);
});

async function open(): Promise<InspectorPage> {
  if (!gateway) throw new Error("gateway did not start");
  return pages.inspector(browser, `${gateway.url}/`);
}

/** The new window's walk: the gateway's confirmation, the server's login, its consent. */
async function signInAndConsent(popup: Page, login: string): Promise<void> {
  await popup.waitForLoadState();
  await expectText(popup.locator("body"), /Authorize sec/);
  await expectText(popup.locator("body"), /anonymous/);
  await popup.getByRole("button", { name: "Continue to sign in" }).click();
  await popup.locator('input[name="login"]').fill(login);
  await popup.locator('input[name="password"]').fill("any password");
  await popup.locator('button[type="submit"]').click();
  await popup.getByRole("button", { name: "Continue" }).click();
  await expectText(popup.locator("#authorized"), "Authorized sec");
}

describe("inspector with an OAuth upstream", () => {
  it("receives the URL elicitation, follows login and consent, and completes the call", async () => {
    const { page, context } = await open();
    await connect(page, "http");
    await selectTool(page, "sec__authorize");
    const calling = call(page, "sec__authorize");
    await expectText(page.locator("#server-request-title"), "The server asks you to open a page");
    await expectText(page.locator("#elicitation-host"), new URL(gateway?.url ?? "").host);
    const [popup] = await Promise.all([
      context.waitForEvent("page"),
      page.locator("#elicitation-open").click(),
    ]);
    await signInAndConsent(popup, "browser-user");
    expect(await calling).toContain('Authorized "sec"');
    await expectText(page.locator("#url-elicitations"), "completed");
    // The upstream's own tools replace the stand-in (tools/list_changed reloaded the list).
    const whoami = page.getByRole("button", { name: "sec__whoami", exact: true });
    await expect.poll(() => whoami.count(), poll()).toBe(1);
    await selectTool(page, "sec__whoami");
    expect(await call(page, "sec__whoami")).toContain("browser-user");
    await page.getByRole("tab", { name: "Session" }).click();
    await page.locator("#refresh-authorizations").click();
    await expectText(page.locator("#authorizations"), /sec authorized/);
    await page.getByRole("button", { name: "Revoke sec" }).click();
    await expectText(page.locator("#authorizations"), "No upstream is authorized yet.");
  });
});
