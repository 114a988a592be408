/**
 * The inspector in front of a federating gateway, in Chromium: upstream tools
 * appear under their prefix and can be called from the generated form; an
 * unreachable upstream is named above the tool list; an upstream's
 * tools/list_changed (from the stateful upstream's `grow`) reloads the list.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeadPort, deadPort, type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
import { startStatefulUpstream, type UpstreamProcess } from "../helpers/upstream";
import { buildInspector, call, connect, expectText, poll, selectTool } from "./actions";
import { type Chromium, launchChromium } from "./chromium";
import { checkedPages } from "./pages";

let upstream: UpstreamProcess | undefined;
let down: DeadPort | undefined;
let gateway: Gateway | undefined;
let chromium: Chromium | undefined;
let browser: Browser;
const pages = checkedPages();

beforeAll(async () => {
  buildInspector();
  upstream = await startStatefulUpstream();
  // Held until the end: a port only released (freePort) can be taken by another test's server.
  down = await deadPort();
  const downPort = down.port;
  [gateway, chromium] = await startAll([
    startGateway({
      vars: {
        UPSTREAMS: JSON.stringify([
          { name: "state", url: upstream.url, prefix: "state" },
          { name: "down", url: `http://127.0.0.1:${downPort}/mcp`, prefix: "down" },
        ]),
      },
    }),
    launchChromium(),
  ]);
  browser = chromium.browser;
});

afterAll(async () => {
  await Promise.allSettled([chromium?.stop(), gateway?.stop(), upstream?.stop(), down?.close()]);
});

async function open(): Promise<Page> {
  if (!gateway) throw new Error("gateway did not start");
  return pages.open(browser, `${gateway.url}/`);
}

describe("inspector with upstreams", () => {
  it("lists upstream tools under their prefix, calls one, and names the unavailable upstream", async () => {
    const page = await open();
    await connect(page, "websocket");
    await page.getByRole("button", { name: "state__remember", exact: true }).waitFor();
    await expectText(page.locator("#unavailable-upstreams"), /down could not be reached/);
    await selectTool(page, "state__remember");
    await page.getByLabel("value").fill("from the browser");
    expect(await call(page, "state__remember")).toContain("remembered from the browser");
    await selectTool(page, "state__recall");
    expect(await call(page, "state__recall")).toContain("from the browser");
  });

  it("reloads the tool list when an upstream announces a change", async () => {
    const page = await open();
    await connect(page, "websocket");
    const extra = page.getByRole("button", { name: "state__extra_1", exact: true });
    expect(await extra.count()).toBe(0);
    await selectTool(page, "state__grow");
    expect(await call(page, "state__grow")).toContain("added extra_1");
    await expect.poll(() => extra.count(), poll()).toBe(1);
  });
});
