/**
 * A real journal from a lab run (fixtures/journal-sample.jsonl, checked for secrets before it was committed: the
 * journal is redacted when written, URLs in config diffs are masked) rendered as Markdown and HTML, the HTML opened
 * in headless Chromium like browser.test.ts. The expectations are derived from the journal's own records, so they
 * hold for whatever the lab run did.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJournal, type JournalRecord } from "../../../src/engine/journal.js";
import { readReport, renderReport, type ReportModel } from "../../../src/report/index.js";
import { chromiumSkipReason, horizontalOverflow, openReport, pngSize, screenshot } from "./browser.js";

const SAMPLE = fileURLToPath(new URL("./fixtures/journal-sample.jsonl", import.meta.url));
const skip = chromiumSkipReason();
if (skip) console.warn(`SKIPPED report sample browser test: ${skip}`);

describe("the report of a real lab journal", () => {
  let dir: string;
  let stateDir: string;
  let records: readonly JournalRecord[];
  let model: ReportModel;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "handover-report-sample-"));
    stateDir = join(dir, "state");
    mkdirSync(stateDir);
    copyFileSync(SAMPLE, join(stateDir, "journal.jsonl"));
    records = parseJournal(readFileSync(SAMPLE)).records;
    // The sample is not live (no lock in the copy); a fixed clock keeps "so far" numbers stable.
    model = readReport(stateDir, { now: new Date(Date.parse(records.at(-1)!.at) + 60_000) });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the model accounts for every attempt and every copy the journal records", () => {
    const starts = records.filter((r) => r.type === "step-start").length;
    const bars = model.timeline.phases.flatMap((p) =>
      p.steps.flatMap((s) => s.bars.filter((b) => b.type === "run")),
    );
    expect(bars).toHaveLength(starts);
    // Data copied: the bytes the last completion of each files.sync/db.copy step recorded.
    const plan = records.find((r) => r.type === "plan");
    const copyKinds = new Map(plan?.type === "plan" ? plan.plan.steps.map((st) => [st.id, st.kind]) : []);
    const lastBytes = new Map<string, number>();
    for (const r of records) {
      const kind = r.type === "step-done" ? copyKinds.get(r.stepId) : undefined;
      if (r.type === "step-done" && (kind === "files.sync" || kind === "db.copy")) {
        const n = r.undoData["bytes"];
        if (typeof n === "number") lastBytes.set(r.stepId, n);
      }
    }
    expect(model.totalBytes).toBe([...lastBytes.values()].reduce((x, y) => x + y, 0));
    const freezeStarted = records.some((r) => r.type === "step-start" && r.stepId.startsWith("freeze."));
    expect(model.freeze !== undefined).toBe(freezeStarted);
  });

  it("what this lab run was: completed over three runs (two plan changes), the freeze ended by the switch, the canary's blackout", () => {
    expect(model.outcome).toBe("completed");
    expect(model.runs.map((r) => r.outcome)).toEqual(["failed", "failed", "completed"]);
    expect(model.counts.done).toBe(model.totalSteps);
    expect(model.retired.map((r) => [r.stepId, r.status])).toEqual([["switch.verify", "failed"]]);
    expect(model.freeze?.endedBy).toBe("switch");
    expect(model.blackout.measuredMs).toBe(208.1);
    expect(model.blackout.moves.map((mv) => mv.moveMs)).toEqual([141, 94]);
    expect(model.inventory.rows.length).toBeGreaterThan(10);
    expect(model.inventory.rows.every((r) => r.before !== undefined && r.before === r.after)).toBe(true);
    expect(model.configDiffs.length).toBeGreaterThan(5);
  });

  it("renders well-formed Markdown", () => {
    const md = renderReport(model, "md", stateDir);
    for (const p of model.timeline.phases) expect(md).toContain(`\n### ${p.phase}\n`);
    for (const table of md.split(/\n\n+/).filter((b) => b.startsWith("|"))) {
      const rows = table.trim().split("\n");
      const cells = (r: string) => r.replace(/\\\|/g, "").split("|").length;
      for (const r of rows) expect(cells(r), r).toBe(cells(rows[0]!));
    }
    // Every fence is closed: an even number of fence lines.
    expect((md.match(/^`{3,}/gm) ?? []).length % 2).toBe(0);
  });

  it.skipIf(skip !== undefined)(
    "opens in headless Chromium with one bar per attempt, offline, no overflow",
    async () => {
      const file = join(dir, "sample.html");
      writeFileSync(file, renderReport(model, "html", stateDir));
      const { context, page, requests, fileUrl } = await openReport(file, dir, 1280);
      try {
        const starts = records.filter((r) => r.type === "step-start").length;
        expect(await page.locator("svg#timeline rect.bar").count()).toBe(starts);
        expect(await page.locator("#freeze-window").count()).toBe(model.freeze ? 1 : 0);
        expect(await page.locator("#inventory table").first().locator("tbody tr").count()).toBe(
          model.inventory.rows.length,
        );
        expect(await horizontalOverflow(page)).toEqual({ doc: 0, body: 0 });
        const png = await screenshot(page, "report-sample-1280");
        expect(pngSize(png).width).toBe(1280);
        expect(png.length).toBeGreaterThan(100_000);
        expect([...new Set(requests)]).toEqual([fileUrl]);
      } finally {
        await context.close();
      }
    },
  );
});
