/**
 * The HTML report in a real browser: Debian's /usr/bin/chromium driven by playwright-core (which downloads no
 * browser), with a fresh profile and everything that could reach the network switched off. The page is checked
 * for structure, not pixels: one timeline bar per step attempt, the freeze window, the inventory rows, no
 * horizontal overflow at a desktop and a phone width, a full-page screenshot of plausible size, and no request
 * but the file itself.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReport, renderReport } from "../../../src/report/index.js";
import { completedRun, type JournalScript } from "../../unit/report/fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (scripts/setup.sh installs chromium)`;
if (skip) console.warn(`SKIPPED report browser tests: ${skip}`);

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

/** Width and height from a PNG's IHDR chunk (bytes 16-23), after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export interface OpenedReport {
  readonly context: BrowserContext;
  readonly requests: string[];
  readonly fileUrl: string;
}

/** Opens an HTML file in a fresh headless Chromium profile, recording every request the page makes. */
export async function openReport(file: string, profile: string, width: number): Promise<OpenedReport> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width, height: 900 },
  });
  const requests: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  return { context, requests, fileUrl: pathToFileURL(file).href };
}

describe.skipIf(skip !== undefined)("HTML report in headless Chromium", () => {
  let dir: string;
  let journal: JournalScript;
  let file: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "handover-report-browser-"));
    journal = completedRun({ canary: true });
    journal.close();
    file = join(dir, "report.html");
    writeFileSync(file, renderReport(readReport(journal.stateDir), "html", journal.stateDir));
  });

  afterAll(() => {
    journal.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const width of [1280, 390]) {
    it(`renders the timeline, freeze window and inventory without overflow at ${width} px, offline`, async () => {
      const { context, requests, fileUrl } = await openReport(
        file,
        mkdtempSync(join(dir, "profile-")),
        width,
      );
      try {
        const page = await context.newPage();
        page.on("request", (r) => requests.push(r.url()));
        await page.goto(fileUrl, { waitUntil: "load" });

        const attempts = journal.records().filter((r) => r.type === "step-start").length;
        const svg = page.locator("svg#timeline");
        expect(await svg.count()).toBe(1);
        expect(await page.locator("svg#timeline rect.bar").count()).toBe(attempts);
        // Every bar is drawn inside the chart with a visible width.
        const svgBox = (await svg.boundingBox())!;
        for (const bar of await page.locator("svg#timeline rect.bar").all()) {
          const b = (await bar.boundingBox())!;
          expect(b.width).toBeGreaterThan(0);
          expect(b.x).toBeGreaterThanOrEqual(svgBox.x - 0.5);
          expect(b.x + b.width).toBeLessThanOrEqual(svgBox.x + svgBox.width + 0.5);
        }
        const freeze = (await page.locator("#freeze-window").boundingBox())!;
        expect(freeze.width).toBeGreaterThan(0);
        expect(await page.locator("#switch-blackout").count()).toBe(1);
        expect(await page.locator("#inventory table").first().locator("tbody tr").count()).toBe(3);
        expect(
          await page.locator("#inventory table").first().locator("tbody tr").first().innerText(),
        ).toMatch(/projects\s+3\s+3\s+equal/);
        expect(await page.locator('#summary [data-key="outcome"] .value').innerText()).toBe("Completed");
        expect(await page.locator('#summary [data-key="blackout"] .value').innerText()).toBe("1.8 s");

        // A string expression: the test's TypeScript has no DOM library.
        const overflow = await page.evaluate<{ doc: number; body: number }>(
          `({ doc: document.documentElement.scrollWidth - document.documentElement.clientWidth,
              body: document.body.scrollWidth - document.body.clientWidth })`,
        );
        expect(overflow).toEqual({ doc: 0, body: 0 });

        const png = await page.screenshot({ fullPage: true });
        // HANDOVER_REPORT_SCREENSHOTS=<dir> keeps the screenshots for a person to look at.
        const keep = process.env["HANDOVER_REPORT_SCREENSHOTS"];
        if (keep) writeFileSync(join(keep, `report-${width}.png`), png);
        const size = pngSize(png);
        expect(size.width).toBe(width);
        expect(size.height).toBeGreaterThan(2000);
        // A page of text, tables and a chart: tens of kilobytes at least; a blank page is a few hundred bytes.
        expect(png.length).toBeGreaterThan(40_000);
        console.info(`report screenshot at ${width} px: ${size.width}x${size.height}, ${png.length} bytes`);

        expect([...new Set(requests)]).toEqual([fileUrl]);
      } finally {
        await context.close();
      }
    });
  }
});
