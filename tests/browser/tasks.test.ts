/**
 * The inspector's tasks in real headless Chromium against a real gateway:
 * starting a tool as a task, the Tasks tab following its status, progress and
 * status message, cancelling, answering an `input_required` task through the
 * elicitation dialog (pushed over WebSocket; fetched with Answer over HTTP),
 * showing a finished task's result, and the list surviving a page reload.
 */
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, startGateway } from "../helpers/process";
import { startAll } from "../helpers/start-all";
import { buildInspector, call, connect, expectText, poll, selectTool } from "./actions";
import { type Chromium, launchChromium } from "./chromium";
import { checkedPages } from "./pages";

let gateway: Gateway;
let chromium: Chromium;
let browser: Browser;
const pages = checkedPages();

beforeAll(async () => {
  buildInspector();
  [gateway, chromium] = await startAll([startGateway(), launchChromium()]);
  browser = chromium.browser;
});

afterAll(async () => {
  await Promise.allSettled([chromium?.stop(), gateway?.stop()]);
});

async function open(): Promise<Page> {
  return pages.open(browser, gateway.url);
}

/** Calls `tool` as a task with `args` (JSON); returns the new task id from the call card. */
async function startTask(page: Page, tool: string, args: string): Promise<string> {
  await selectTool(page, tool);
  const asTask = page.getByRole("checkbox", { name: /as a task/ });
  if (!(await asTask.isChecked())) await asTask.check();
  await page.getByRole("checkbox", { name: "Edit arguments as JSON" }).check();
  await page.getByRole("textbox", { name: "Arguments as JSON" }).fill(args);
  const text = await call(page, tool);
  const id = /Started as task ([0-9a-f]{64}\.[0-9a-f]{32})/.exec(text)?.[1];
  if (!id) throw new Error(`no task id in "${text}"`);
  return id;
}

async function taskRow(page: Page, taskId: string): Promise<Locator> {
  await page.getByRole("tab", { name: "Tasks" }).click();
  const row = page.locator(`.task[data-task="${taskId}"]`);
  await row.waitFor();
  return row;
}

async function expectStatus(row: Locator, status: string, timeout = 20_000): Promise<void> {
  await expect.poll(() => row.getAttribute("data-status"), poll(timeout)).toBe(status);
}

describe("tasks in the inspector", () => {
  it("starts sleep as a task and follows its progress and status message to the result", async () => {
    const page = await open();
    await connect(page, "websocket");
    const taskId = await startTask(page, "sleep", '{"ms": 3000}');
    const row = await taskRow(page, taskId);
    await expectText(row.locator(".status-message"), /slept \d+ of 3000 ms/);
    expect(await row.locator("progress").getAttribute("max")).toBe("3000");
    await expectStatus(row, "completed");
    await row.getByRole("button", { name: /^Result of task/ }).click();
    await expectText(row.locator(".result"), "slept 3000 ms");
  });

  it("cancels a running wait", async () => {
    const page = await open();
    await connect(page, "http");
    const taskId = await startTask(page, "wait", '{"seconds": 600, "stepSeconds": 60}');
    const row = await taskRow(page, taskId);
    await row.getByRole("button", { name: /^Cancel task/ }).click();
    await expectStatus(row, "cancelled");
    await expectText(row.locator(".status-message"), "Cancelled by the client");
  });

  it("answers approve's elicitation as soon as the task asks, over WebSocket", async () => {
    const page = await open();
    await connect(page, "websocket");
    const taskId = await startTask(page, "approve", '{"action": "ship it"}');
    const dialog = page.getByRole("dialog", { name: "The server asks for input" });
    await dialog.waitFor();
    await expectText(dialog, "Approve this action? ship it");
    await dialog.getByRole("checkbox", { name: /approved/ }).check();
    await dialog.getByRole("button", { name: "Accept" }).click();
    const row = await taskRow(page, taskId);
    await expectStatus(row, "completed");
    await row.getByRole("button", { name: /^Result of task/ }).click();
    await expectText(row.locator(".result"), "Approved: ship it");
  });

  it("answers an input_required task with Answer over Streamable HTTP, after a reload", async () => {
    const page = await open();
    await connect(page, "http");
    const taskId = await startTask(page, "approve", '{"action": "rotate the keys"}');
    let row = await taskRow(page, taskId);
    await expectStatus(row, "input_required");
    await page.reload();
    await expectText(page.locator("#status"), "Connected");
    row = await taskRow(page, taskId);
    await expectStatus(row, "input_required");
    await row.getByRole("button", { name: /^Answer task/ }).click();
    const dialog = page.getByRole("dialog", { name: "The server asks for input" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Decline" }).click();
    await expectText(row.locator(".result"), "Not approved: rotate the keys (decline)");
    await expectStatus(row, "completed");
  });
});
