/**
 * Opening a report in a real browser for the tests: Debian's /usr/bin/chromium driven by playwright-core (which
 * downloads no browser), a fresh profile per page, and every Chromium feature that could reach the network off.
 * Every request the page makes is recorded, so a test can assert the file was the only one.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined. */
export function chromiumSkipReason(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`;
}

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface OpenedReport {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request the context saw, in order. */
  readonly requests: string[];
  readonly fileUrl: string;
}

/** Opens an HTML file at `width` px in a fresh profile under `dir`; close `context` when done. */
export async function openReport(file: string, dir: string, width: number): Promise<OpenedReport> {
  const context = await chromium.launchPersistentContext(mkdtempSync(join(dir, "profile-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width, height: 900 },
  });
  const requests: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  const fileUrl = pathToFileURL(file).href;
  try {
    const page = await context.newPage();
    await page.goto(fileUrl, { waitUntil: "load" });
    return { context, page, requests, fileUrl };
  } catch (e) {
    await context.close();
    throw e;
  }
}

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
export function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** How far the page is wider than its viewport (0 when nothing overflows horizontally). */
export async function horizontalOverflow(page: Page): Promise<{ doc: number; body: number }> {
  // A string expression: the tests' TypeScript has no DOM library.
  return page.evaluate<{ doc: number; body: number }>(
    `({ doc: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        body: document.body.scrollWidth - document.body.clientWidth })`,
  );
}

/** Full-page screenshot; kept in $HANDOVER_REPORT_SCREENSHOTS when set, for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<Buffer> {
  const png = await page.screenshot({ fullPage: true });
  const keep = process.env["HANDOVER_REPORT_SCREENSHOTS"];
  if (keep) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(keep, `${name}.png`), png);
  }
  return png;
}
