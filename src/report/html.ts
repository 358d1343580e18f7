/**
 * The report as ONE self-contained HTML file for an operator to hand on: inline CSS, the timeline as inline SVG,
 * no script and no external reference of any kind (fonts are the system's). Every string from the journal goes
 * through esc().
 */
import { esc } from "./escape.js";
import { formatBytes, formatClock, formatDuration, formatRate, formatTime } from "./format.js";
import { ganttSvg } from "./gantt-svg.js";
import type { ReportModel, RollbackItem, UpgradeCheck, Warning } from "./model.js";
import { countsText, outcomeOf, summaryItems } from "./summary.js";

export interface HtmlOptions {
  /** Where the journal was read, shown under the title. */
  readonly journalPath?: string;
}

const CSS = `
:root{--fg:#1d2733;--muted:#5f6b7a;--line:#e3e8ef;--soft:#f6f8fb;--accent:#2457a6;--good:#17794a;--bad:#b42318;--warn:#a15c07}
*{box-sizing:border-box}
html{background:#eef1f5}
body{margin:0;color:var(--fg);font:14px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
main{max-width:1120px;margin:24px auto;padding:36px 40px 56px;background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(16,24,40,.08)}
h1{font-size:26px;line-height:1.25;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:18px;margin:40px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 8px}
p{margin:8px 0}
.sub,.muted{color:var(--muted)}
.sub{font-size:13px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
code{font-size:12.5px;background:var(--soft);padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
.live{margin:14px 0 0;padding:10px 14px;border-radius:8px;background:#eef4ff;color:#1d3f7a;border:1px solid #c9d9f7}
.summary{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:0;margin:26px 0 8px;border:1px solid var(--line);border-radius:10px;overflow:hidden}
.summary .item{padding:14px 18px;border-right:1px solid var(--line);background:linear-gradient(#fff,#fbfcfe)}
.summary .item:last-child{border-right:0}
.summary .label{font-size:11.5px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:600}
.summary .value{font-size:22px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.summary .note{font-size:12.5px;color:var(--muted)}
.tone-good .value{color:var(--good)}.tone-bad .value{color:var(--bad)}.tone-warn .value{color:var(--warn)}
.scroll{max-width:100%;overflow-x:auto}
table{width:100%;border-collapse:collapse;font-size:13px;margin:6px 0 10px}
th,td{text-align:left;padding:6px 9px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{background:var(--soft);font-weight:600;font-size:12px;color:#3a4655;white-space:nowrap}
td.nowrap{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:170px;background:none;color:var(--muted);font-weight:600}
tr.differs td{background:#fff4f2}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:11.5px;font-weight:600;white-space:nowrap;background:#eef1f5;color:#3a4655}
.b-good{background:#e3f4ea;color:var(--good)}.b-bad{background:#fde7e5;color:var(--bad)}.b-warn{background:#fdf0dc;color:var(--warn)}.b-info{background:#e8effc;color:var(--accent)}
pre{margin:6px 0 12px;padding:10px 12px;background:var(--soft);border:1px solid var(--line);border-radius:6px;font-size:12px;line-height:1.5;overflow-x:auto;max-width:100%}
pre.diff span{display:block}
pre.diff .add{background:#e6f6ea;color:#14532d}pre.diff .del{background:#fdebea;color:#7f1d1d}pre.diff .hunk{color:#2457a6}pre.diff .file{color:var(--muted)}
td pre{margin:4px 0 0;white-space:pre-wrap;overflow-wrap:anywhere}
details summary{cursor:pointer;overflow-wrap:anywhere}
details pre{margin-top:4px}
.chart{border:1px solid var(--line);border-radius:8px;padding:6px 4px 2px;background:#fff}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin:8px 2px}
.legend i{display:inline-block;width:14px;height:9px;border-radius:2px;margin-right:5px;vertical-align:middle}
svg.gantt{display:block;width:100%;height:auto;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
svg .tick{font-size:10px;fill:#6b7685}
svg .grid{stroke:#edf0f4;stroke-width:1}
svg .axis-gap{fill:#f1f3f6;stroke:#c9d1db;stroke-dasharray:2 2}
svg .gap-label{font-size:9.5px;fill:#6b7685;font-style:italic}
svg .phase-band{fill:#f3f6fa}
svg .phase-label{font-size:11px;font-weight:700;fill:#334155;text-transform:uppercase;letter-spacing:.06em}
svg .row-band{fill:#fafbfd}
svg .step-label{font-size:10.5px;fill:#334155;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
svg .bar-done,.legend .bar-done{fill:#2e9b62;background:#2e9b62}
svg .bar-failed,.legend .bar-failed{fill:#d64545;background:#d64545}
svg .bar-interrupted,.legend .bar-interrupted{fill:#e0a030;background:#e0a030}
svg .bar-running,.legend .bar-running{fill:#3b7dd8;background:#3b7dd8}
svg .undo-bar,.legend .undo-bar{fill:#8b5cf6;background:#8b5cf6}
svg .undo-failed{fill:#d64545}
svg .freeze-window,.legend .freeze-window{fill:rgba(59,125,216,.11);background:rgba(59,125,216,.18);stroke:rgba(59,125,216,.45);stroke-dasharray:4 3}
svg .blackout,.legend .blackout{fill:rgba(214,69,69,.16);background:rgba(214,69,69,.3)}
svg .measured-blackout,.legend .measured-blackout{fill:rgba(180,35,24,.30);background:rgba(180,35,24,.30);stroke:rgba(180,35,24,.85);stroke-width:1}
svg .band-label{font-size:10px;font-weight:700}
svg .freeze-label{fill:#2457a6}svg .blackout-label{fill:#b42318}
svg .now{stroke:#3b7dd8;stroke-dasharray:3 3;stroke-width:1.5}
footer{margin-top:44px;font-size:12px;color:var(--muted);border-top:1px solid var(--line);padding-top:10px}
@media (max-width:720px){main{padding:20px 16px;margin:0;border-radius:0}.summary .item{border-right:0;border-bottom:1px solid var(--line)}}
@media print{html{background:#fff}main{box-shadow:none;margin:0;max-width:none}h2{break-after:avoid}.chart{break-inside:avoid}}
`;

function badge(text: string, tone: "good" | "bad" | "warn" | "info" | "neutral"): string {
  return `<span class="badge${tone === "neutral" ? "" : ` b-${tone}`}">${esc(text)}</span>`;
}

function statusBadge(status: string): string {
  const tone =
    status === "done" || status === "ok" || status === "completed"
      ? "good"
      : status === "failed" || status === "undo-failed" || status === "failure"
        ? "bad"
        : status === "warning" || status === "running" || status === "undone" || status === "undoing"
          ? "warn"
          : "neutral";
  return badge(status, tone);
}

function td(text: string, cls = ""): string {
  return `<td${cls ? ` class="${cls}"` : ""}>${text}</td>`;
}

function table(
  head: readonly (string | [string, string])[],
  rows: readonly string[][],
  rowClasses: readonly (string | undefined)[] = [],
): string {
  const th = head
    .map((h) => (Array.isArray(h) ? `<th class="${h[1]}">${esc(h[0])}</th>` : `<th>${esc(h)}</th>`))
    .join("");
  // Wrapped so a wide table scrolls on its own on a narrow screen instead of widening the page.
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>${rows.map((r, i) => `<tr${rowClasses[i] ? ` class="${rowClasses[i]}"` : ""}>${r.join("")}</tr>`).join("\n")}</tbody></table></div>`;
}

/**
 * Text that may span lines (tool output, tracebacks): inline when it is one line; else its first line, with the
 * rest in a <details> that opens without script (open from the start where the text is the point, e.g. failures).
 */
function block(text: string | undefined, open = false): string {
  if (text === undefined || text === "") return `<span class="muted">—</span>`;
  const nl = text.indexOf("\n");
  if (nl < 0) return esc(text);
  return `<details${open ? " open" : ""}><summary>${esc(text.slice(0, nl))}</summary><pre>${esc(text.slice(nl + 1))}</pre></details>`;
}

function diffHtml(unified: string): string {
  const lines = unified.replace(/\n$/, "").split("\n");
  const cls = (l: string): string =>
    l.startsWith("+++") || l.startsWith("---") || l.startsWith("Index:") || l.startsWith("===")
      ? "file"
      : l.startsWith("@@")
        ? "hunk"
        : l.startsWith("+")
          ? "add"
          : l.startsWith("-")
            ? "del"
            : "ctx";
  return `<pre class="diff">${lines.map((l) => `<span class="${cls(l)}">${esc(l) || " "}</span>`).join("")}</pre>`;
}

function header(m: ReportModel, o: HtmlOptions): string {
  const out = outcomeOf(m.outcome);
  const parts = [
    `<header>`,
    `<h1>Controller handover ${esc(m.sourceRelease)} → ${esc(m.targetRelease)}</h1>`,
    `<div class="sub">Report generated ${esc(formatTime(m.generatedAtMs))}${o.journalPath ? ` from <code>${esc(o.journalPath)}</code>` : ""} · ${badge(out.label, out.tone === "neutral" ? "info" : out.tone)}</div>`,
  ];
  if (m.live) {
    parts.push(
      `<div class="live">A run is in progress: this report is a snapshot taken at ${esc(formatTime(m.generatedAtMs))}.</div>`,
    );
  }
  parts.push(`</header>`);
  return parts.join("\n");
}

function summaryBox(m: ReportModel): string {
  const items = summaryItems(m).map(
    (i) =>
      `<div class="item${i.tone ? ` tone-${i.tone}` : ""}" data-key="${esc(i.key)}"><div class="label">${esc(i.label)}</div><div class="value">${esc(i.value)}</div>${i.note ? `<div class="note">${esc(i.note)}</div>` : ""}</div>`,
  );
  return `<section class="summary" id="summary" aria-label="Summary">\n${items.join("\n")}\n</section>`;
}

function details(m: ReportModel): string {
  const kv = (k: string, v: string): string => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`;
  const rows = [
    kv("Releases", `${esc(m.sourceRelease)} → ${esc(m.targetRelease)}`),
    kv("Hosts", m.hosts.map((h) => `<code>${esc(h)}</code>`).join(" ") || "—"),
    kv("Started", m.startMs === undefined ? "not yet" : esc(formatTime(m.startMs))),
    kv("Ended", m.endMs === undefined ? (m.live ? "still running" : "—") : esc(formatTime(m.endMs))),
    kv("Steps", esc(countsText(m))),
  ];
  if (m.finalizedAtMs !== undefined) rows.push(kv("Finalized", esc(formatTime(m.finalizedAtMs))));
  const runs = [
    ...m.runs.map((r, i) => [
      td(`run ${i + 1}`, "nowrap"),
      td(esc(formatTime(r.startMs))),
      td(r.endMs === undefined ? "—" : esc(formatDuration(r.endMs - r.startMs)), "num"),
      td(statusBadge(r.outcome ?? (m.live && i === m.runs.length - 1 ? "running" : "no end recorded"))),
      td(block(r.message)),
    ]),
    ...m.rollbacks.map((r, i) => [
      td(`rollback ${i + 1}`, "nowrap"),
      td(esc(formatTime(r.startMs))),
      td(r.endMs === undefined ? "—" : esc(formatDuration(r.endMs - r.startMs)), "num"),
      td(statusBadge(r.complete === undefined ? "no end recorded" : r.complete ? "done" : "failed")),
      td(block(r.message)),
    ]),
  ];
  const failed =
    m.failed.length === 0
      ? ""
      : `<h3>Failed steps</h3>${table(
          ["Step", "Message"],
          m.failed.map((f) => [
            td(`<code>${esc(f.stepId)}</code><br>${esc(f.title)}`),
            td(block(f.message, true)),
          ]),
        )}`;
  const retired =
    m.retired.length === 0
      ? ""
      : `<h3>Steps no longer in the plan</h3><p class="muted">The plan was replaced between runs; these steps of an earlier plan are not counted above (rollback still undoes what they did).</p>${table(
          ["Step", "Status", "Message"],
          m.retired.map((r) => [
            td(`<code>${esc(r.stepId)}</code><br>${esc(r.title)}`),
            td(statusBadge(r.status)),
            td(block(r.message)),
          ]),
        )}`;
  return `<section id="run"><h2>Run</h2><table class="kv"><tbody>${rows.join("")}</tbody></table>${
    runs.length > 0 ? table(["", "Started", ["Took", "num"], "Outcome", "Message"], runs) : ""
  }${failed}${retired}</section>`;
}

function timelineSection(m: ReportModel): string {
  const t = m.timeline;
  const attempts = t.phases.reduce(
    (n, p) => n + p.steps.reduce((k, s) => k + s.bars.filter((b) => b.type === "run").length, 0),
    0,
  );
  const legend = [
    `<span><i class="bar-done"></i>done</span>`,
    `<span><i class="bar-failed"></i>failed</span>`,
    `<span><i class="bar-interrupted"></i>interrupted</span>`,
    `<span><i class="bar-running"></i>running</span>`,
    `<span><i class="undo-bar"></i>undo (rollback)</span>`,
    `<span><i class="freeze-window"></i>freeze window</span>`,
    `<span><i class="blackout"></i>switch (address moves)</span>`,
    ...(m.blackout.measuredFromMs !== undefined
      ? [`<span><i class="measured-blackout"></i>blackout measured by the canary</span>`]
      : []),
  ].join("");
  const body =
    attempts === 0 && t.phases.length === 0
      ? `<p class="muted">No step has started yet.</p>`
      : `<div class="chart">${ganttSvg(m)}</div><div class="legend">${legend}</div>`;
  return `<section id="timeline-section"><h2>Timeline</h2><p class="muted">${esc(
    `${attempts} step attempt(s) from ${formatTime(t.startMs)} to ${formatTime(t.endMs)} (${formatDuration(t.endMs - t.startMs)}); the axis counts from the first run's start. Hover a bar for its times and message.${
      t.notStarted > 0 ? ` ${t.notStarted} planned step(s) not started are not drawn.` : ""
    }`,
  )}</p>${body}</section>`;
}

function switchSection(m: ReportModel): string {
  const f = m.freeze;
  const freeze = f
    ? `<p>Freeze (old's APIs stopped by <code>${esc(f.stepId)}</code>): from ${esc(formatTime(f.startMs))} ${
        f.endMs === undefined
          ? `— <strong>still in effect</strong>.`
          : `to ${esc(formatTime(f.endMs))}, <strong>${esc(formatDuration(f.endMs - f.startMs))}</strong> (${f.endedBy === "rollback" ? "ended by a rollback" : "until the addresses moved to the new controller"}).`
      }</p>`
    : `<p class="muted">The freeze has not started.</p>`;
  const b = m.blackout;
  const moves =
    b.moves.length === 0
      ? `<p class="muted">The plan moves no address.</p>`
      : table(
          ["Step", "Network", "Address", "Status", ["Del → add", "num"], "When"],
          b.moves.map((mv) => [
            td(`<code>${esc(mv.stepId)}</code>`),
            td(esc(mv.network ?? "—")),
            td(`<code>${esc(mv.address ?? "?")}</code>`),
            td(statusBadge(mv.status)),
            td(mv.moveMs === undefined ? "not measured" : esc(formatDuration(mv.moveMs)), "num"),
            td(mv.endMs === undefined ? "—" : esc(formatTime(mv.endMs))),
          ]),
        );
  const canary =
    b.canaries.length === 0
      ? `<p><strong>Client-side blackout: not measured</strong> <span class="muted">(the plan has no canary step).</span></p>`
      : table(
          [
            "Canary",
            "Address",
            "Status",
            ["Blackout", "num"],
            ["Replies", "num"],
            ["Lost", "num"],
            "At the stop",
          ],
          b.canaries.map((c) => [
            td(
              `<code>${esc(c.stepId)}</code>${c.compute ? `<br><span class="muted">from ${esc(c.compute)}</span>` : ""}`,
            ),
            td(c.address ? `<code>${esc(c.address)}</code>` : "—"),
            td(statusBadge(c.status)),
            td(c.blackoutMs === undefined ? "not measured" : esc(formatDuration(c.blackoutMs)), "num"),
            td(
              c.replies === undefined ? "—" : `${c.replies}${c.sent === undefined ? "" : ` / ${c.sent}`}`,
              "num",
            ),
            td(c.lost === undefined ? "—" : String(c.lost), "num"),
            td(
              c.answeringAtStop === undefined
                ? "—"
                : c.answeringAtStop
                  ? badge("answering", "good")
                  : badge("not answering", "bad"),
            ),
          ]),
        );
  return `<section id="switch"><h2>Freeze window and switch</h2>${freeze}<h3>Address moves</h3>${moves}<h3>Blackout seen by clients</h3>${canary}</section>`;
}

function inventorySection(m: ReportModel): string {
  const inv = m.inventory;
  const sideHead = (label: string, s: typeof inv.before): string =>
    s ? `${label} (${s.host}, ${s.stepId})` : `${label} (not captured)`;
  const notes = [inv.before, inv.after]
    .filter((s) => s?.note !== undefined)
    .map(
      (s) => `<div class="muted"><code>${esc(s!.stepId)}</code> (${esc(s!.status)}): ${block(s!.note)}</div>`,
    )
    .join("");
  const counts =
    inv.rows.length === 0
      ? `<p class="muted">No inventory was recorded yet.</p>`
      : table(
          ["Object", ["Before", "num"], ["After", "num"], ""],
          inv.rows.map((r) => [
            td(esc(r.name)),
            td(r.before === undefined ? "—" : String(r.before), "num"),
            td(r.after === undefined ? "—" : String(r.after), "num"),
            td(
              r.before === undefined || r.after === undefined
                ? ""
                : r.before !== r.after
                  ? badge("differs", "bad")
                  : badge("equal", "good"),
            ),
          ]),
          inv.rows.map((r) =>
            r.before !== undefined && r.after !== undefined && r.before !== r.after ? "differs" : undefined,
          ),
        );
  const api =
    m.apiChecks.length === 0
      ? ""
      : `<h3>API checks: old before the freeze, new before the switch</h3>${table(
          ["Service", "Old", "New"],
          m.apiChecks.map((r) => [
            td(esc(r.service)),
            td(
              r.old
                ? `${statusBadge(r.old.status)} ${block(r.old.detail)}`
                : `<span class="muted">not checked</span>`,
            ),
            td(
              r.new
                ? `${statusBadge(r.new.status)} ${block(r.new.detail)}`
                : `<span class="muted">not checked</span>`,
            ),
          ]),
        )}`;
  return `<section id="inventory"><h2>Inventory before and after</h2><p class="muted">${esc(
    `${sideHead("Before", inv.before)} · ${sideHead("After", inv.after)}`,
  )}</p>${counts}${notes}${api}</section>`;
}

function upgradeSection(m: ReportModel): string {
  if (m.upgradeChecks.length === 0) return "";
  // Side by side per service: the baseline on old (recorded only) and the real check on new.
  const rows = new Map<string, { old?: UpgradeCheck; new?: UpgradeCheck }>();
  for (const c of m.upgradeChecks) {
    const r = rows.get(c.service) ?? {};
    if (c.host === "old") r.old = c;
    else r.new = c;
    rows.set(c.service, r);
  }
  const cell = (c: UpgradeCheck | undefined): string =>
    c
      ? `${statusBadge(c.result)}${c.exitCode === undefined ? "" : ` <span class="muted">exit ${c.exitCode}</span>`} <code>${esc(c.stepId)}</code><div>${c.detail === undefined ? "" : block(c.detail)}</div>`
      : `<span class="muted">not planned</span>`;
  return `<section id="upgrade-checks"><h2>Upgrade checks</h2><p class="muted">${esc(
    "`<service>-status upgrade check` on old before anything changes (a baseline, recorded only) and on new against the upgraded databases (a failure stops the run).",
  )}</p>${table(
    ["Service", "On old (baseline)", "On new"],
    [...rows].map(([service, r]) => [td(esc(service)), td(cell(r.old)), td(cell(r.new))]),
  )}</section>`;
}

function diffsSection(m: ReportModel): string {
  if (m.configDiffs.length === 0)
    return `<section id="config-diffs"><h2>Config changes</h2><p class="muted">No config file was changed yet.</p></section>`;
  const parts = m.configDiffs.map(
    (d) =>
      `<h3><code>${esc(d.stepId)}</code> ${esc(d.title)}${d.undone ? ` ${badge("undone since", "warn")}` : ""}</h3>${d.files
        .map(
          (f) =>
            `<p class="mono">${esc(f.path)} <span class="muted">(${f.added ?? "?"} added, ${f.removed ?? "?"} removed)</span></p>${diffHtml(f.unified)}`,
        )
        .join("")}`,
  );
  return `<section id="config-diffs"><h2>Config changes</h2><p class="muted">Secrets are masked in these diffs.</p>${parts.join("")}</section>`;
}

function transfersSection(m: ReportModel): string {
  if (m.transfers.length === 0) return "";
  return `<section id="copies"><h2>Data copied</h2>${table(
    ["Step", "What", "Pass", "Status", ["Bytes", "num"], ["Time", "num"], ["Rate", "num"]],
    m.transfers.map((t) => [
      td(`<code>${esc(t.stepId)}</code>`),
      td(
        t.volumes === undefined
          ? esc(t.what)
          : `${esc(`${t.volumes} volume(s) in ${t.what}`)}<br><span class="muted">${esc(`provisioned ${formatBytes(t.provisionedBytes ?? 0)}${t.bytes === undefined ? "; bytes moved are not recorded" : ""}`)}</span>`,
      ),
      td(esc(t.pass ?? "—")),
      td(statusBadge(t.status)),
      td(t.bytes === undefined ? "—" : esc(formatBytes(t.bytes)), "num"),
      td(t.seconds === undefined ? "—" : esc(formatDuration(t.seconds * 1000)), "num"),
      td(
        t.bytes === undefined || t.seconds === undefined ? "—" : esc(formatRate(t.bytes, t.seconds) ?? "—"),
        "num",
      ),
    ]),
  )}<p class="muted">${esc(`Total: ${formatBytes(m.totalBytes)} recorded by the copy steps.`)}</p></section>`;
}

const SOURCE: Record<Warning["source"], string> = {
  plan: "plan",
  note: "warning",
  failed: "step failed",
  "undo-failed": "undo failed",
  run: "run stopped",
};

function warningsSection(m: ReportModel): string {
  const body =
    m.warnings.length === 0
      ? `<p class="muted">None.</p>`
      : table(
          ["When (UTC)", "Kind", "Message"],
          m.warnings.map((w) => [
            td(
              w.atMs === undefined
                ? "planning"
                : `<span title="${esc(formatTime(w.atMs))}">${esc(formatClock(w.atMs))}</span>`,
              "nowrap",
            ),
            td(badge(SOURCE[w.source], w.source === "plan" || w.source === "note" ? "warn" : "bad")),
            td(`${w.stepId ? `<code>${esc(w.stepId)}</code> ` : ""}${block(w.message)}`),
          ]),
        );
  return `<section id="warnings"><h2>Warnings</h2>${body}</section>`;
}

function actionBadge(i: RollbackItem): string {
  if (i.action === "blocked") return badge(i.irreversible !== undefined ? "irreversible" : "blocked", "bad");
  if (i.action === "no-op") return badge("nothing to undo", "neutral");
  if (i.action === "already-undone") return badge("already undone", "neutral");
  return badge("undo", "info");
}

function rollbackSection(m: ReportModel): string {
  const r = m.rollback;
  const effective = r.items.filter((i) => i.action !== "no-op");
  const noop = r.items.length - effective.length;
  const intro = r.refused
    ? `<p><strong>${esc(r.refused)}</strong></p>`
    : r.items.length === 0
      ? `<p class="muted">Nothing to roll back: no step has changed anything.</p>`
      : `<p class="muted">${esc(
          `\`handover rollback\` would go through these steps newest first${noop > 0 ? `; ${noop} read-only or covered step(s) whose undo changes nothing are left out` : ""}.`,
        )}</p>`;
  const rows = effective.map((i, n) => [
    td(String(n + 1), "num"),
    td(`<code>${esc(i.stepId)}</code><br><span class="muted">${esc(i.title)}</span>`),
    td(esc(i.hosts.join(", ") || "—"), "nowrap"),
    td(actionBadge(i)),
    td(esc(i.description)),
  ]);
  return `<section id="rollback"><h2>What rollback would do now</h2>${intro}${
    rows.length > 0 ? table([["#", "num"], "Step", "Hosts", "Action", "What it does"], rows) : ""
  }</section>`;
}

export function renderHtml(m: ReportModel, o: HtmlOptions = {}): string {
  const title = `Handover ${m.sourceRelease} → ${m.targetRelease}: ${outcomeOf(m.outcome).label}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="handover report">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${header(m, o)}
${summaryBox(m)}
${details(m)}
${timelineSection(m)}
${switchSection(m)}
${inventorySection(m)}
${upgradeSection(m)}
${diffsSection(m)}
${transfersSection(m)}
${warningsSection(m)}
${rollbackSection(m)}
<footer>Rendered by <code>handover report</code> from the journal alone (no host was contacted). Times are UTC.</footer>
</main>
</body>
</html>
`;
}
