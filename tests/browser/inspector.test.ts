/**
 * The browser inspector in real headless Chromium against a real gateway
 * (`wrangler dev`, toolsets default and conformance): connecting over both
 * transports, generated forms, progress and cancellation, server->client
 * requests, log levels, the JSON-RPC log, re-attaching after a dropped socket,
 * resuming after a reload, hibernation, keyboard use and a narrow window.
 *
 * Each test opens its own browser context, so each has its own session and
 * its own sessionStorage.
 */
import { request } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
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
import { type Chromium, launchChromium } from "./chromium";
import { checkedPages } from "./pages";

/** Local workerd evicts an idle object after 10 s (docs/platform.md); leave margin. */
const IDLE_FOR_EVICTION_MS = 12_500;
const MAX_IDLE_PERIODS = 3;

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

async function open(path = "/", viewport?: { width: number; height: number }): Promise<Page> {
  return pages.open(browser, `${gateway.url}${path}`, viewport);
}

describe("serving the page", () => {
  it("serves the same page at / and /inspector with a hash-based CSP and no caching surprises", async () => {
    const [root, inspector] = await Promise.all([
      fetch(`${gateway.url}/`),
      fetch(`${gateway.url}/inspector`),
    ]);
    expect(root.status).toBe(200);
    expect(root.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    const csp = root.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("connect-src 'self'");
    const html = await root.text();
    expect(html).toContain("<title>Dormouse inspector</title>");
    expect(await inspector.text()).toBe(html);
    const etag = root.headers.get("ETag") ?? "";
    const again = await fetch(`${gateway.url}/`, { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
  });

  it("refuses the page to a foreign Host (DNS rebinding) like every other endpoint", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: gateway.port,
          path: "/inspector",
          headers: { Host: "evil.example" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});

describe("connecting", () => {
  it("connects over WebSocket and shows the session id, era, version, server and wake count", async () => {
    const page = await open();
    await connect(page, "websocket");
    await expectText(page.locator("#summary-session"), /^[0-9a-f]{64}$/);
    await expectText(page.locator("#summary-transport"), "WebSocket");
    await expectText(page.locator("#summary-era"), "session era · 2025-11-25");
    await expectText(page.locator("#summary-server"), "dormouse");
    await expectText(page.locator("#summary-wakes"), /^\d+$/);
    await page.getByRole("tab", { name: "Session" }).click();
    await expectText(page.locator("#panel-session"), '"listChanged"');
  });

  it("connects over Streamable HTTP, carries Mcp-Session-Id, and streams progress", async () => {
    const page = await open();
    await connect(page, "http");
    await expectText(page.locator("#summary-transport"), "Streamable HTTP");
    const sessionId = (await page.locator("#summary-session").textContent()) ?? "";
    expect(sessionId).toMatch(/^[0-9a-f]{64}$/);
    await selectTool(page, "sleep");
    await page.getByRole("spinbutton", { name: "ms" }).fill("1000");
    expect(await call(page, "sleep")).toContain("slept 1000 ms");
    const progress = newestCall(page, "sleep").locator("progress");
    expect(Number(await progress.getAttribute("value"))).toBe(1000);
    expect(await progress.getAttribute("max")).toBe("1000");
  });
});

describe("tools", () => {
  it("lists the tools and calls add through a form generated from its schema", async () => {
    const page = await open();
    await connect(page);
    const names = await page.locator("#tool-list button").allTextContents();
    expect(names).toEqual(expect.arrayContaining(["echo", "add", "counter", "sleep", "log"]));
    await selectTool(page, "add");
    await page.getByRole("spinbutton", { name: "a" }).fill("2");
    await page.getByRole("spinbutton", { name: "b" }).fill("40.5");
    expect(await call(page, "add")).toContain("42.5");
    await expectText(page.locator("#traffic-list"), "tools/call");
  });

  it("does not send a call whose required fields are empty", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "add");
    await page.getByRole("spinbutton", { name: "a" }).fill("2");
    await submitCall(page, "add");
    await sleep(300);
    expect(await page.locator('.call[data-tool="add"]').count()).toBe(0);
    expect(
      await page
        .getByRole("spinbutton", { name: "b" })
        .evaluate((el) => !(el as HTMLInputElement).validity.valid),
    ).toBe(true);
  });

  it("shows sleep's progress in a progress bar and cancels it with notifications/cancelled", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "sleep");
    await page.getByRole("spinbutton", { name: "ms" }).fill("20000");
    await submitCall(page, "sleep");
    const card = newestCall(page, "sleep");
    const bar = card.getByRole("progressbar", { name: "Progress of sleep" });
    await expect
      .poll(async () => Number(await bar.getAttribute("value")), poll())
      .toBeGreaterThanOrEqual(500);
    await expectText(card.locator(".progress-text"), /slept \d+ of 20000 ms/);
    await card.getByRole("button", { name: "Cancel sleep" }).click();
    await expect.poll(() => card.getAttribute("data-status"), poll()).toBe("cancelled");
    await expectText(page.locator("#traffic-list"), "notifications/cancelled");
    // The cancelled call never gets a reply; the session goes on working.
    await selectTool(page, "echo");
    await page.getByRole("textbox", { name: "text" }).fill("still here");
    expect(await call(page, "echo")).toContain("still here");
  });

  it("renders image, audio, embedded resource and JSON results by content type", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_image_content");
    await call(page, "test_image_content");
    const image = newestCall(page, "test_image_content").locator("img");
    expect(await image.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    expect(await image.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(1);
    await selectTool(page, "test_audio_content");
    await call(page, "test_audio_content");
    expect(
      await newestCall(page, "test_audio_content").locator("audio").getAttribute("src"),
    ).toMatch(/^data:audio\/wav;base64,/);
    await selectTool(page, "test_embedded_resource");
    expect(await call(page, "test_embedded_resource")).toContain(
      "resource test://embedded-resource",
    );
    await selectTool(page, "session_info");
    await call(page, "session_info");
    const json = await newestCall(page, "session_info").locator("pre.json").textContent();
    expect(json).toMatch(/\n {2}"sessionId": "[0-9a-f]{64}"/);
  });

  it("builds nested objects and enums from a JSON Schema with $ref", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "json_schema_2020_12_tool");
    await page.getByRole("textbox", { name: "name" }).fill("Ada");
    await page
      .getByRole("group", { name: "address" })
      .getByRole("textbox", { name: "city" })
      .fill("London");
    await page.getByRole("combobox", { name: "contactMethod" }).selectOption({ label: "email" });
    await page.getByRole("textbox", { name: "email" }).fill("ada@example.com");
    await call(page, "json_schema_2020_12_tool");
    const args = await newestCall(page, "json_schema_2020_12_tool").locator(".args").textContent();
    expect(JSON.parse(args ?? "")).toEqual({
      name: "Ada",
      address: { city: "London" },
      contactMethod: "email",
      email: "ada@example.com",
    });
  });

  it("turns arrays, integers, booleans, defaults and nullable fields into inputs and reads them back", async () => {
    const page = await open();
    const value = await page.evaluate(() => {
      const schema = {
        type: "object",
        required: ["tags", "count"],
        properties: {
          tags: { type: "array", items: { type: "string" }, default: ["a"] },
          count: { type: "integer", default: 3 },
          flag: { type: "boolean", default: false },
          note: { anyOf: [{ type: "string" }, { type: "null" }] },
          points: {
            type: "array",
            items: { type: "object", properties: { x: { type: "number" } } },
          },
        },
      };
      const form = window.dormouseInspector.schemaForm(schema, "t");
      const host = document.createElement("form");
      host.id = "schema-test";
      host.append(form.element);
      document.body.append(host);
      (window as unknown as { readSchemaTest: () => unknown }).readSchemaTest = form.read;
      return form.read();
    });
    expect(value).toEqual({ tags: ["a"], count: 3, flag: false });
    const form = page.locator("#schema-test");
    await form.getByRole("button", { name: "Add tags item" }).click();
    await form.getByRole("textbox", { name: "tags item" }).nth(1).fill("b");
    await form.getByRole("button", { name: "Add points item" }).click();
    await form.getByRole("spinbutton", { name: "x" }).fill("1.5");
    await form.getByRole("textbox", { name: "note" }).fill("hi");
    await form.getByRole("checkbox", { name: "flag" }).check();
    expect(
      await page.evaluate(() =>
        (window as unknown as { readSchemaTest: () => unknown }).readSchemaTest(),
      ),
    ).toEqual({ tags: ["a", "b"], count: 3, flag: true, note: "hi", points: [{ x: 1.5 }] });
    expect(await form.getByRole("spinbutton", { name: "count" }).getAttribute("step")).toBe("1");
  });
});

describe("server->client requests", () => {
  it("answers an elicitation from a form generated from requestedSchema", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_elicitation");
    await page.getByRole("textbox", { name: "message" }).fill("Who are you?");
    await submitCall(page, "test_elicitation");
    const dialog = page.getByRole("dialog", { name: "The server asks for input" });
    await dialog.waitFor();
    await expectText(dialog, "Who are you?");
    await dialog.getByRole("textbox", { name: "username" }).fill("alice");
    await dialog.getByRole("textbox", { name: "email" }).fill("alice@example.com");
    await dialog.getByRole("button", { name: "Accept" }).click();
    const card = newestCall(page, "test_elicitation");
    await expect.poll(() => card.getAttribute("data-status"), poll()).toBe("done");
    expect(await card.locator(".result").textContent()).toContain(
      'action=accept, content={"username":"alice","email":"alice@example.com"}',
    );
  });

  it("prefills an elicitation's defaults and offers every enum shape (SEP-1034, SEP-1330)", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_elicitation_sep1034_defaults");
    await submitCall(page, "test_elicitation_sep1034_defaults");
    let dialog = page.getByRole("dialog");
    expect(await dialog.getByRole("textbox", { name: "name" }).inputValue()).toBe("John Doe");
    expect(await dialog.getByRole("spinbutton", { name: "age" }).inputValue()).toBe("30");
    expect(await dialog.getByRole("checkbox", { name: "verified" }).isChecked()).toBe(true);
    await dialog.getByRole("button", { name: "Accept" }).click();
    expect(await resultOf(page, "test_elicitation_sep1034_defaults")).toContain(
      '"name":"John Doe","age":30,"score":95.5,"status":"active","verified":true',
    );

    await selectTool(page, "test_elicitation_sep1330_enums");
    await submitCall(page, "test_elicitation_sep1330_enums");
    dialog = page.getByRole("dialog");
    await dialog
      .getByRole("combobox", { name: "titledSingle", exact: true })
      .selectOption({ label: "Second Option" });
    await dialog
      .getByRole("combobox", { name: "legacyEnum" })
      .selectOption({ label: "Option Three" });
    await dialog
      .getByRole("group", { name: "titledMulti" })
      .getByRole("checkbox", { name: "First Choice" })
      .check();
    await dialog
      .getByRole("group", { name: "titledMulti" })
      .getByRole("checkbox", { name: "Third Choice" })
      .check();
    await dialog.getByRole("button", { name: "Accept" }).click();
    const text = await resultOf(page, "test_elicitation_sep1330_enums");
    expect(text).toContain('"titledSingle":"value2"');
    expect(text).toContain('"legacyEnum":"opt3"');
    expect(text).toContain('"titledMulti":["value1","value3"]');
  });

  it("answers cancel when the person presses Escape on an elicitation", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_elicitation");
    await page.getByRole("textbox", { name: "message" }).fill("Escape me");
    await submitCall(page, "test_elicitation");
    await page.getByRole("dialog").waitFor();
    await page.keyboard.press("Escape");
    expect(await resultOf(page, "test_elicitation")).toContain("action=cancel");
  });

  it("shows a sampling request's messages and sends the reply the person types", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "test_sampling");
    await page.getByRole("textbox", { name: "prompt" }).fill("What is 2+2?");
    await submitCall(page, "test_sampling");
    const dialog = page.getByRole("dialog", { name: "The server asks for a model reply" });
    await expectText(dialog, "What is 2+2?");
    await dialog.getByRole("textbox", { name: "Your reply (as the assistant)" }).fill("Four.");
    await dialog.getByRole("button", { name: "Send reply" }).click();
    expect(await resultOf(page, "test_sampling")).toContain("LLM response: Four.");
  });
});

describe("logging", () => {
  it("changes the log level with logging/setLevel and shows only messages at or above it", async () => {
    const page = await open();
    await connect(page);
    await page.getByRole("combobox", { name: "Level", exact: true }).selectOption("warning");
    await expectText(page.locator("#log-level-status"), "server sends warning and above");
    await selectTool(page, "log");
    const level = page.getByRole("combobox", { name: "level", exact: true });
    const message = page.getByRole("textbox", { name: "message" });
    await level.selectOption({ label: "info" });
    await message.fill("quiet info");
    expect(await call(page, "log")).toContain("filtered: info is below the session's level");
    await level.selectOption({ label: "error" });
    await message.fill("loud error");
    expect(await call(page, "log")).toContain("sent at error");
    const logs = page.getByRole("list", { name: "Log messages" });
    await expectText(logs, "loud error");
    expect(await logs.textContent()).not.toContain("quiet info");

    await page.getByRole("combobox", { name: "Level", exact: true }).selectOption("debug");
    await expectText(page.locator("#log-level-status"), "server sends debug and above");
    await level.selectOption({ label: "info" });
    await message.fill("now heard");
    expect(await call(page, "log")).toContain("sent at info");
    await expectText(logs, "now heard");
    await expect.poll(() => logs.locator('[data-level="info"]').count(), poll()).toBe(1);
  });
});

describe("the JSON-RPC log", () => {
  it("filters messages by text and kind and copies the filtered ones as JSON", async () => {
    const page = await open();
    await page
      .context()
      .grantPermissions(["clipboard-read", "clipboard-write"], { origin: gateway.url });
    await connect(page);
    await page.getByRole("searchbox", { name: "Filter messages" }).fill("tools/list");
    const visible = page.locator("#traffic-list > li:not([hidden])");
    await expect.poll(() => visible.count(), poll()).toBe(2);
    expect(
      await visible.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-method"))),
    ).toEqual(["tools/list", "tools/list"]);
    expect(await visible.first().locator(".ms").textContent()).toMatch(/\d ms$/);
    await page
      .getByRole("combobox", { name: "Kind of message" })
      .selectOption({ label: "requests" });
    await expect.poll(() => visible.count(), poll()).toBe(1);
    await page.getByRole("button", { name: "Copy" }).click();
    const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
    expect(copied).toHaveLength(1);
    expect(copied[0]).toMatchObject({
      dir: "out",
      kind: "request",
      message: { method: "tools/list" },
    });
  });
});

describe("resources and prompts", () => {
  it("lists and reads resources, and gets a prompt with completion suggestions", async () => {
    const page = await open();
    await connect(page);
    await page.getByRole("tab", { name: "Resources" }).click();
    const about = page.locator("#resource-list li", { hasText: "dormouse://about" });
    await about.getByRole("button", { name: "Read" }).click();
    await expectText(page.locator("#resource-output"), "an MCP gateway whose sessions sleep");
    await page.getByRole("tab", { name: "Prompts" }).click();
    const greet = page.getByRole("form", { name: "Prompt greet" });
    await greet.getByRole("combobox", { name: "name" }).fill("Ada");
    await greet.getByRole("combobox", { name: "style" }).fill("pi");
    await expect
      .poll(
        () =>
          greet
            .locator("datalist option")
            .evaluateAll((o) => o.map((x) => x.getAttribute("value"))),
        poll(),
      )
      .toContain("pirate");
    await greet.getByRole("combobox", { name: "style" }).fill("pirate");
    await greet.getByRole("button", { name: "Get prompt" }).click();
    await expectText(page.locator("#prompt-output"), "Greet Ada in a pirate style.");
  });
});

describe("reconnecting", () => {
  it("re-attaches with ?session= when the socket drops, says so, and keeps the counter", async () => {
    const page = await open();
    await connect(page);
    const sessionId = await page.locator("#summary-session").textContent();
    await selectTool(page, "counter");
    expect(await call(page, "counter")).toContain("1");
    expect(await call(page, "counter")).toContain("2");
    expect(await page.evaluate(() => window.dormouseInspector.dropSocket())).toBe(true);
    await expectText(
      page.locator("#notice"),
      /The socket dropped \(close \d+\); re-attached to session/,
    );
    await expectText(page.locator("#status"), "Connected");
    await expectText(page.locator("#summary-reattached"), "1");
    expect(await page.locator("#summary-session").textContent()).toBe(sessionId);
    expect(await call(page, "counter")).toContain("3");
  });

  it("finishes a call that was running when the socket dropped: re-attached with received=<n>, the session names it still running", async () => {
    const page = await open();
    await connect(page);
    await selectTool(page, "sleep");
    await page.getByRole("spinbutton", { name: "ms" }).fill("1500");
    await submitCall(page, "sleep");
    const card = newestCall(page, "sleep");
    await sleep(300);
    expect(await page.evaluate(() => window.dormouseInspector.dropSocket())).toBe(true);
    await expectText(page.locator("#notice"), /re-attached to session .*1 call still running/);
    await expect.poll(() => card.getAttribute("data-status"), poll()).toBe("done");
    await expectText(card, "slept 1500 ms");
    await expectText(page.locator("#traffic-list"), "notifications/dormouse/resumed");
  });

  it("resumes the last session after a reload, without a new initialize", async () => {
    const page = await open();
    await connect(page);
    const sessionId = await page.locator("#summary-session").textContent();
    await selectTool(page, "counter");
    expect(await call(page, "counter")).toContain("1");
    await page.reload();
    await expectText(page.locator("#notice"), "Resumed session");
    await expectText(page.locator("#status"), "Connected");
    expect(await page.locator("#summary-session").textContent()).toBe(sessionId);
    expect(await page.locator('#traffic-list [data-method="initialize"]').count()).toBe(0);
    await page.locator("#tool-list button").first().waitFor();
    await selectTool(page, "counter");
    expect(await call(page, "counter")).toContain("2");
  });

  it("resumes a Streamable HTTP session after a reload with its Mcp-Session-Id", async () => {
    const page = await open();
    await connect(page, "http");
    await selectTool(page, "counter");
    expect(await call(page, "counter")).toContain("1");
    await page.reload();
    await expectText(page.locator("#notice"), "Resumed session");
    await page.locator("#tool-list button").first().waitFor();
    await selectTool(page, "counter");
    expect(await call(page, "counter")).toContain("2");
  });

  it("says so when the session is ended elsewhere (close 4004) and does not re-attach", async () => {
    const page = await open();
    await connect(page);
    const sessionId = (await page.locator("#summary-session").textContent()) ?? "";
    const response = await fetch(`${gateway.url}/mcp`, {
      method: "DELETE",
      headers: { "Mcp-Session-Id": sessionId },
    });
    expect(response.status).toBe(204);
    await expectText(page.locator("#status"), "Session ended");
    await expectText(page.locator("#notice"), "no longer exists on the gateway");
  });

  it("lets go when another page takes the session over (close 4001) and takes it back on Resume", async () => {
    const first = await open();
    await connect(first);
    const saved = await first.evaluate(() => window.dormouseInspector.connection.saved());
    const second = await open();
    await second.evaluate((s) => window.dormouseInspector.connection.resume(s, "button"), saved);
    await expectText(second.locator("#status"), "Connected");
    await expectText(first.locator("#status"), "Taken over");
    await expectText(first.locator("#notice"), "close 4001");
    await first.getByRole("button", { name: /^Resume / }).click();
    await expectText(first.locator("#status"), "Connected");
    await expectText(second.locator("#status"), "Taken over");
  });

  it("says the session ended after End session, and forgets it", async () => {
    const page = await open();
    await connect(page);
    await page.getByRole("button", { name: "End session" }).click();
    await expectText(page.locator("#status"), "Session ended");
    await expectText(page.locator("#notice"), "DELETE answered 204");
    await page.reload();
    await expectText(page.locator("#status"), "Disconnected");
  });
});

describe("hibernation", () => {
  it("shows the session as probably hibernated when idle, and the wake count rising after", async () => {
    const page = await open();
    await connect(page);
    await expectText(page.locator("#summary-wakes"), /^\d+$/);
    const before = Number(await page.locator("#summary-wakes").textContent());
    let after = before;
    await page.getByRole("tab", { name: "Session" }).click();
    const updated = page.locator("#session-info-updated");
    for (let period = 0; period < MAX_IDLE_PERIODS && after <= before; period += 1) {
      await sleep(IDLE_FOR_EVICTION_MS);
      await expectText(page.locator("#summary-idle"), "probably hibernated");
      const previous = await updated.textContent();
      await page.getByRole("button", { name: "Refresh session_info" }).click();
      await expect.poll(() => updated.textContent(), poll()).not.toBe(previous);
      after = Number(await page.locator("#summary-wakes").textContent());
    }
    expect(after).toBeGreaterThan(before);
  }, 90_000);
});

describe("accessibility", () => {
  it("is usable from the keyboard: tabs follow arrow keys, tools are called with Enter", async () => {
    const page = await open();
    await connect(page);
    await page.getByRole("tab", { name: "Tools" }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Resources");
    expect(await page.getByRole("tab", { name: "Resources" }).getAttribute("aria-selected")).toBe(
      "true",
    );
    await page.keyboard.press("End");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Session");
    await page.keyboard.press("Home");
    await page
      .getByRole("list", { name: "Tools" })
      .getByRole("button", { name: "echo", exact: true })
      .focus();
    await page.keyboard.press("Enter");
    // Choosing a tool moves focus to its first field; Enter there submits the call.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("name")), poll())
      .toBe("text");
    await page.keyboard.type("typed");
    await page.keyboard.press("Enter");
    await expect
      .poll(() => newestCall(page, "echo").getAttribute("data-status"), poll())
      .toBe("done");
    expect(await newestCall(page, "echo").locator(".result").textContent()).toContain("typed");
  });

  it("fits a narrow window without horizontal scrolling and still calls tools", async () => {
    const page = await open("/", { width: 400, height: 860 });
    await connect(page);
    await selectTool(page, "add");
    await page.getByRole("spinbutton", { name: "a" }).fill("1");
    await page.getByRole("spinbutton", { name: "b" }).fill("2");
    expect(await call(page, "add")).toContain("3");
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

async function resultOf(page: Page, tool: string): Promise<string> {
  const card = newestCall(page, tool);
  await expect.poll(() => card.getAttribute("data-status"), poll()).toBe("done");
  return (await card.locator(".result").textContent()) ?? "";
}
