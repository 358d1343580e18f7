/**
 * `handover report` in-process: finds the journal through the answer file's state_dir (or --state-dir), prints
 * Markdown or writes HTML with -o, and refuses clearly when nothing has run yet.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { reportCommand } from "../../../src/cli/commands/report.js";
import { runCli } from "../../../src/cli/run-cli.js";
import { answersDir, cleanupTemps, invoke, recordingIo, text } from "../cli/run-fakes.js";
import { completedRun } from "./fixtures.js";

afterEach(cleanupTemps);

function withCompletedJournal(): { dir: string; stateDir: string } {
  const d = answersDir();
  completedRun({ stateDir: d.stateDir }).close();
  return d;
}

describe("handover report", () => {
  it("prints Markdown by default, from the answer file's state dir", async () => {
    const { dir, stateDir } = withCompletedJournal();
    const io = recordingIo(dir);
    expect(await invoke(io, () => reportCommand({ file: "answers.yaml" }, io))).toBe(0);
    const out = text(io.out);
    expect(out).toContain("# Controller handover victoria → zed: Completed");
    expect(out).toContain(`from \`${join(stateDir, "journal.jsonl")}\``);
    expect(text(io.err)).toBe("");
  });

  it("-o report.html writes one HTML file (format from the extension), mode 0600", async () => {
    const { dir } = withCompletedJournal();
    const io = recordingIo(dir);
    expect(await invoke(io, () => reportCommand({ file: "answers.yaml", output: "report.html" }, io))).toBe(
      0,
    );
    const html = readFileSync(join(dir, "report.html"), "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(statSync(join(dir, "report.html")).mode & 0o777).toBe(0o600);
    expect(text(io.err)).toBe("Report (HTML) written to report.html.");
    expect(io.out).toEqual([]);
  });

  it("--format wins over the extension; --state-dir works without an answer file; a bad format is refused", async () => {
    const { dir } = withCompletedJournal();
    const io = recordingIo(dir);
    expect(
      await invoke(io, () => reportCommand({ stateDir: "state", format: "md", output: "r.html" }, io)),
    ).toBe(0);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/^# Controller handover/);
    const html = recordingIo(dir);
    expect(await invoke(html, () => reportCommand({ stateDir: "state", format: "html" }, html))).toBe(0);
    expect(text(html.out)).toMatch(/^<!DOCTYPE html>/);
    const bad = recordingIo(dir);
    expect(await invoke(bad, () => reportCommand({ stateDir: "state", format: "pdf" }, bad))).toBe(1);
    expect(text(bad.err)).toContain("[REPORT_FORMAT]");
  });

  it("no run yet (no journal, or an empty one): a clear error naming the next step", async () => {
    const { dir, stateDir } = answersDir();
    const io = recordingIo(dir);
    expect(await invoke(io, () => reportCommand({ file: "answers.yaml" }, io))).toBe(1);
    const err = text(io.err);
    expect(err).toContain("[JOURNAL_MISSING]");
    expect(err).toContain(`There is no journal in ${stateDir}: no run yet, so there is nothing to report.`);
    expect(err).toContain("`handover run -f answers.yaml`");
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, "journal.jsonl"), "");
    const again = recordingIo(dir);
    expect(await invoke(again, () => reportCommand({ file: "answers.yaml", output: "r.html" }, again))).toBe(
      1,
    );
    expect(text(again.err)).toContain("no run yet");
    // Nothing was written on the way.
    expect(() => statSync(join(dir, "r.html"))).toThrow();
  });

  it("needs -f or --state-dir", async () => {
    const { dir } = answersDir();
    const io = recordingIo(dir);
    expect(await invoke(io, () => reportCommand({}, io))).toBe(1);
    expect(text(io.err)).toContain("[REPORT_WHERE]");
  });

  it("is registered with the CLI: `handover report -f answers.yaml --format html -o r.html`", async () => {
    const { dir } = withCompletedJournal();
    const io = recordingIo(dir);
    expect(await runCli(["report", "-f", "answers.yaml", "--format", "html", "-o", "r.html"], io)).toBe(0);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/^<!DOCTYPE html>/);
  });
});
