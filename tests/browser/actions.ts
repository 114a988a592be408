/**
 * The vocabulary of the inspector's browser tests: connect, pick a tool, call
 * it, read the newest call's result. Elements are found by role and
 * accessible name where people find them by label, so the tests also check
 * that the page is labelled.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Locator, Page } from "playwright-core";
import { expect } from "vitest";
import { ACTION_TIMEOUT_MS } from "./chromium";

declare global {
  /** The page's debug hook (inspector/src/main.ts), as far as tests use it. */
  interface Window {
    dormouseInspector: {
      connection: { saved(): unknown; resume(saved: unknown, why: "button"): Promise<void> };
      dropSocket(): boolean;
      schemaForm(
        schema: unknown,
        namePrefix: string,
      ): { element: HTMLElement; read(): Record<string, unknown> };
    };
  }
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILD_TIMEOUT_MS = 60_000;

/** Builds the page from the current source, so a test never runs against a stale bundle. */
export function buildInspector(): void {
  execFileSync(process.execPath, ["inspector/build.ts"], {
    cwd: REPO_ROOT,
    timeout: BUILD_TIMEOUT_MS,
    stdio: "pipe",
  });
}

export type TransportChoice = "websocket" | "http";

export async function connect(page: Page, transport: TransportChoice = "websocket") {
  const name = transport === "websocket" ? /WebSocket/ : /Streamable HTTP/;
  await page.getByRole("radio", { name }).check();
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await expectText(page.locator("#status"), "Connected");
  await page.locator("#tool-list button").first().waitFor();
}

export async function selectTool(page: Page, tool: string): Promise<void> {
  await page
    .getByRole("list", { name: "Tools" })
    .getByRole("button", { name: tool, exact: true })
    .click();
  await page.getByRole("button", { name: `Call ${tool}` }).waitFor();
}

/** The newest call of `tool` (calls are listed newest first). */
export function newestCall(page: Page, tool: string): Locator {
  return page.locator(`.call[data-tool="${tool}"]`).first();
}

export async function submitCall(page: Page, tool: string): Promise<void> {
  await page.getByRole("button", { name: `Call ${tool}` }).click();
}

/** Clicks Call, waits for the call to settle with `status`, returns its result text. */
export async function call(page: Page, tool: string, status = "done"): Promise<string> {
  const before = await page.locator(`.call[data-tool="${tool}"]`).count();
  await submitCall(page, tool);
  await expect
    .poll(() => page.locator(`.call[data-tool="${tool}"]`).count(), poll())
    .toBe(before + 1);
  const card = newestCall(page, tool);
  await expect.poll(() => card.getAttribute("data-status"), poll()).toBe(status);
  return (await card.locator(".result").textContent()) ?? "";
}

export async function expectText(locator: Locator, text: string | RegExp): Promise<void> {
  await expect
    .poll(async () => (await locator.textContent()) ?? "", poll())
    .toMatch(typeof text === "string" ? new RegExp(escapeRegExp(text)) : text);
}

export function poll(timeout = ACTION_TIMEOUT_MS) {
  return { timeout, interval: 50 };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
