/**
 * `handover report`'s core: read a state directory's journal (read-only, no lock taken, no host contacted) and
 * render it as Markdown or as one self-contained HTML file.
 */
import { join } from "node:path";
import { JOURNAL_FILE, readJournal } from "../engine/journal.js";
import { readStatus, type ReadStatusOptions } from "../engine/state-dir.js";
import { UserError } from "../lib/errors.js";
import { buildReport } from "./build.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";
import type { ReportModel } from "./model.js";

export type ReportFormat = "md" | "html";

export { buildReport } from "./build.js";
export { renderHtml } from "./html.js";
export { renderMarkdown } from "./markdown.js";
export type { ReportModel } from "./model.js";

export interface ReadReportOptions extends ReadStatusOptions {
  readonly now?: Date;
  /** How to name the run command in the error's next step (e.g. `-f answers.yaml`). */
  readonly runHint?: string;
}

/** The report model of a state directory; a UserError when nothing has run there. */
export function readReport(stateDir: string, o: ReadReportOptions = {}): ReportModel {
  const read = readJournal(stateDir);
  if (!read) {
    throw new UserError(
      "JOURNAL_MISSING",
      `There is no journal in ${stateDir}: no run yet, so there is nothing to report.`,
      {
        nextSteps: [
          `Start the migration with \`handover run${o.runHint ? ` ${o.runHint}` : ""}\`, then run the report again.`,
          "If a run did happen, check the answer file's state_dir (or --state-dir): the report reads the journal there.",
        ],
      },
    );
  }
  // readStatus decides whether the lock's holder is alive (the same rule `handover status` uses).
  const status = readStatus(stateDir, o);
  return buildReport(read.records, {
    now: o.now ?? new Date(),
    ...(status?.lockedBy ? { lockedBy: status.lockedBy } : {}),
    ...(read.torn ? { torn: read.torn } : {}),
  });
}

export function renderReport(model: ReportModel, format: ReportFormat, stateDir?: string): string {
  const journalPath = stateDir === undefined ? undefined : join(stateDir, JOURNAL_FILE);
  const o = journalPath === undefined ? {} : { journalPath };
  return format === "html" ? renderHtml(model, o) : renderMarkdown(model, o);
}
