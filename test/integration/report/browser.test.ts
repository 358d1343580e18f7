/**
 * The HTML report of a fixture journal in a real browser (see browser.ts): checked for structure, not pixels. One
 * timeline bar per step attempt, the freeze window, the inventory rows, no horizontal overflow at a desktop and a
 * phone width, a full-page screenshot of plausible size, and no request but the file itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReport, renderReport } from "../../../src/report/index.js";
import { completedRun, type JournalScript } from "../../unit/report/fixtures.js";
import { chromiumSkipReason, horizontalOverflow, openReport, pngSize, screenshot } from "./browser.js";

const skip = chromiumSkipReason();
if (skip) console.warn(`SKIPPED report browser tests: ${skip}`);

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
      const { context, page, requests, fileUrl } = await openReport(file, dir, width);
      try {
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
        // The canary's measured gap is its own band, inside the chart.
        const measured = (await page.locator("#measured-blackout").boundingBox())!;
        expect(measured.width).toBeGreaterThan(0);
        expect(measured.x + measured.width).toBeLessThanOrEqual(svgBox.x + svgBox.width + 0.5);
        const inventory = page.locator("#inventory table").first().locator("tbody tr");
        expect(await inventory.count()).toBe(3);
        expect(await inventory.first().innerText()).toMatch(/projects\s+3\s+3\s+equal/);
        expect(await page.locator('#summary [data-key="outcome"] .value').innerText()).toBe("Completed");
        expect(await page.locator('#summary [data-key="blackout"] .value').innerText()).toBe("1.8 s");

        expect(await horizontalOverflow(page)).toEqual({ doc: 0, body: 0 });

        const png = await screenshot(page, `report-${width}`);
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
