/**
 * Markdown and HTML renderings of fixture journals: the sections and numbers they show, and that journal text with
 * markup in it (step messages, notes, plan warnings, diffs) is escaped, never interpreted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { buildReport } from "../../../src/report/build.js";
import { esc, mdCell, mdFence } from "../../../src/report/escape.js";
import { renderHtml } from "../../../src/report/html.js";
import { renderMarkdown } from "../../../src/report/markdown.js";
import { completedRun, failedRun, JournalScript, NASTY, reportPlan, rolledBack } from "./fixtures.js";

const scripts: JournalScript[] = [];
afterEach(() => {
  for (const s of scripts.splice(0)) s.remove();
});
function model(j: JournalScript) {
  scripts.push(j);
  return buildReport(j.records(), { now: new Date(j.nowMs) });
}

describe("markdown", () => {
  it("completed run: summary, timeline per phase, diff fence, side-by-side inventory, copies, rollback list", () => {
    const md = renderMarkdown(model(completedRun({ canary: true })), { journalPath: "/state/journal.jsonl" });
    expect(md).toContain("# Controller handover victoria → zed: Completed");
    expect(md).toContain("| Outcome | Total time | Freeze window | Switch blackout | Data copied |");
    expect(md).toContain("**1.8 s**<br>measured by canary, 182 lost; address move 412 ms");
    expect(md).toContain("### freeze");
    expect(md).toMatch(/\| `freeze\.apis` \| attempt 1 \| 0:18 \| 3\.0 s \| done \| `[·█]+` \|/);
    expect(md).toContain("```diff\n--- a/etc/nova/nova.conf\n");
    expect(md).toContain("+connection = mysql+pymysql://nova:****@127.0.0.1/nova\n");
    expect(md).toContain("| instances | 4 | 4 | equal |");
    expect(md).toContain(
      "| keystone | done: keystone on old: token issue ok, endpoint list 9 lines | done: keystone on new: token issue ok, endpoint list 9 lines |",
    );
    expect(md).toContain(
      "| `warm.glance.images` | /var/lib/glance/images | bulk | done | 3.00 GiB | 12 s | 256 MiB/s |",
    );
    expect(md).toContain(
      "| `switch.canary.stop` from compute1 | `198.51.100.4` | done | 1.8 s | 4038 / 4220 | 182 | answering |",
    );
    // Upgrade checks side by side per service; the multi-line detail in full below the table.
    expect(md).toContain(
      "| nova | **warning** (exit 1): nova: `nova-status upgrade check` on old passed with warnings: … | ok (exit 0): nova: `nova-status upgrade check` on new passed |",
    );
    expect(md).toContain(
      "`pre.upgrade-check.nova`:\n\n```text\nnova: `nova-status upgrade check` on old passed with warnings:\nCheck:",
    );
    expect(md).toMatch(/\| 1 \| `net\.switch\.mgmt` \|/);
    expect(md).toMatch(/\| 2 \| `switch\.canary\.start` \| compute1 \| undo \|/);
    expect(md).toContain("| `up.keystone.contract` | new | **irreversible** |");
    // Tables are well-formed: every row of a table has as many cells as its header.
    for (const table of md.split(/\n\n+/).filter((b) => b.startsWith("|"))) {
      const rows = table.trim().split("\n");
      const cells = (r: string) => r.replace(/\\\|/g, "").split("|").length;
      for (const r of rows) expect(cells(r), r).toBe(cells(rows[0]!));
    }
  });

  it("without a canary the blackout is 'not measured'; a failed run shows the failure in a fence", () => {
    const md = renderMarkdown(model(failedRun()));
    expect(md).toContain("Blackout seen by clients: **not measured**");
    expect(md).toContain("**Failed**");
    expect(md).toContain("Freeze window: 0:18 → still in effect.");
    expect(md).toContain("### Failed steps");
    // Inside a fence the text is shown as is; in table cells markup is turned into entities.
    expect(md).toContain(`\`\`\`text\nnova: upgrade check FAILED (exit 2):\n${NASTY}\n\`\`\``);
    const outsideFences = md.replace(/```[\s\S]*?```/g, "");
    expect(outsideFences).not.toContain("<script>");
    expect(outsideFences).toContain("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'quoted' \\| piped");
  });

  it("a diff containing a fence gets a longer fence", () => {
    expect(mdFence("a\n```\nb", "diff")).toBe("````diff\na\n```\nb\n````");
    expect(mdCell("a|b\nc<d>&")).toBe("a\\|b<br>c&lt;d&gt;&amp;");
  });
});

describe("html", () => {
  it("is one self-contained document: inline style and SVG, no script, no external reference", () => {
    const html = renderHtml(model(completedRun()));
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("<style>");
    expect(html).toContain('<svg id="timeline"');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)=/i);
    // The only URL-looking text is the SVG namespace, which is an identifier, not fetched.
    expect(html.match(/https?:\/\/[^\s"<]+/g)).toEqual(["http://www.w3.org/2000/svg"]);
  });

  it("one bar per step attempt, the freeze window and the switch band, sections in order", () => {
    const j = completedRun();
    const m = model(j);
    const html = renderHtml(m);
    const starts = j.records().filter((r) => r.type === "step-start").length;
    expect(html.match(/<rect class="bar bar-/g)).toHaveLength(starts);
    expect(html.match(/id="freeze-window"/g)).toHaveLength(1);
    expect(html.match(/id="switch-blackout"/g)).toHaveLength(1);
    const order = [
      "summary",
      "run",
      "timeline-section",
      "switch",
      "inventory",
      "upgrade-checks",
      "config-diffs",
      "copies",
      "warnings",
      "rollback",
    ].map((id) => html.indexOf(`id="${id}"`));
    expect(order.every((p) => p > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(html).toContain('<span class="add">+connection = mysql+pymysql://nova:****@127.0.0.1/nova</span>');
  });

  it("escapes markup from the journal everywhere: failure messages, notes, plan warnings, titles, diffs", () => {
    const plan = reportPlan();
    const evil = {
      ...plan,
      steps: plan.steps.map((s) =>
        s.id === "pre.health.old" ? { ...s, title: `health <b>"old"</b> & co` } : s,
      ),
    };
    const j = new JournalScript(evil);
    j.add({ type: "run-start", concurrency: 1, resume: false });
    j.ran("pre.health.old", 1_000);
    j.add({ type: "step-start", stepId: "pre.upgrade-check.nova", attempt: 1 });
    j.tick(1_000).add({ type: "step-failed", stepId: "pre.upgrade-check.nova", message: NASTY });
    j.add({ type: "note", level: "warn", message: `<img src=x onerror="alert(1)">` });
    j.add({ type: "run-end", outcome: "failed", message: NASTY });
    const html = renderHtml(model(j));
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(html).toContain(esc(NASTY));
    expect(html).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; | piped",
    );
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain("health &lt;b&gt;&quot;old&quot;&lt;/b&gt; &amp; co");
    // Attribute values too: a step id with a quote cannot break out of data-step="...".
    expect(esc(`a"b'c`)).toBe("a&quot;b&#39;c");
  });

  it("rolled back: undo bars and the rollback badge", () => {
    const j = rolledBack();
    const html = renderHtml(model(j));
    const undos = j.records().filter((r) => r.type === "undo-start").length;
    expect(html.match(/<rect class="undo-bar undo-done"/g)).toHaveLength(undos);
    expect(html).toContain('<div class="value">Rolled back</div>');
    expect(html).toContain("ended by a rollback");
    // The volume copy failed: its planned volumes are not counted as copied; the undone copies were.
    expect(html).toMatch(/data-key="copied">.*<div class="note">3 copy step\(s\)<\/div>/);
  });

  it("a journal with only its plan (a run that died before starting) renders as not started", () => {
    const j = new JournalScript(reportPlan());
    const m = model(j);
    expect(m.outcome).toBe("not-started");
    const html = renderHtml(m);
    expect(html).toContain('<div class="value">Not started</div>');
    expect(html).toContain("No step has started yet.");
    expect(html).not.toContain("<svg");
    expect(renderMarkdown(m)).toContain("# Controller handover victoria → zed: Not started");
  });

  it("a run resumed the next morning: the idle night is a break in the chart, with its length", () => {
    const j = new JournalScript(reportPlan());
    j.add({ type: "run-start", concurrency: 1, resume: false });
    j.ran("pre.health.old", 60_000);
    j.add({ type: "run-end", outcome: "interrupted", message: "stopped on request" });
    j.tick(10 * 3_600_000);
    j.add({ type: "run-start", concurrency: 1, resume: true });
    j.ran("pre.upgrade-check.nova", 60_000);
    j.add({ type: "run-end", outcome: "completed" });
    const html = renderHtml(model(j));
    expect(html.match(/<rect class="axis-gap"/g)).toHaveLength(1);
    expect(html).toContain(">⋯ 10 h 00 min</text>");
  });
});
