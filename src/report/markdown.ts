/**
 * The report as GitHub-flavoured Markdown: plain tables (cells through mdCell), diffs in ```diff fences, the
 * timeline as a table per phase with a text bar placing each attempt on the run's time axis.
 */
import { mdCell, mdCode, mdFence } from "./escape.js";
import { formatBytes, formatDuration, formatOffset, formatRate, formatTime } from "./format.js";
import type { Bar, ReportModel, UpgradeCheck } from "./model.js";
import { countsText, outcomeOf, summaryItems } from "./summary.js";

export interface MarkdownOptions {
  readonly journalPath?: string;
}

const BAR_COLS = 30;

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function mdTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly number[] = [],
): string {
  const sep = head.map((_, i) => (right.includes(i) ? "---:" : "---"));
  return [row(head.map(mdCell)), row(sep), ...rows.map(row)].join("\n");
}

/** `····███···` : where the attempt sits on the chart's time axis (at least one block, so short steps show). */
function textBar(b: Bar, start: number, span: number): string {
  const a = Math.min(BAR_COLS - 1, Math.floor(((b.startMs - start) / span) * BAR_COLS));
  const e = Math.max(a + 1, Math.min(BAR_COLS, Math.ceil(((b.endMs - start) / span) * BAR_COLS)));
  const ch = b.type === "undo" ? "▒" : b.result === "done" ? "█" : b.result === "running" ? "▶" : "✗";
  return `\`${"·".repeat(a)}${ch.repeat(e - a)}${"·".repeat(BAR_COLS - e)}\``;
}

function firstLine(text: string | undefined): string {
  if (!text) return "—";
  const [first, ...rest] = text.split("\n");
  return mdCell(`${first ?? ""}${rest.length > 0 ? " …" : ""}`);
}

function header(m: ReportModel, o: MarkdownOptions): string[] {
  const out = outcomeOf(m.outcome);
  const lines = [
    `# Controller handover ${mdCell(m.sourceRelease)} → ${mdCell(m.targetRelease)}: ${out.label}`,
    "",
    `Report generated ${formatTime(m.generatedAtMs)}${o.journalPath ? ` from ${mdCode(o.journalPath)}` : ""}.${m.live ? " **A run is in progress: this is a snapshot.**" : ""}`,
    "",
    mdTable(
      summaryItems(m).map((i) => i.label),
      [summaryItems(m).map((i) => `**${mdCell(i.value)}**${i.note ? `<br>${mdCell(i.note)}` : ""}`)],
    ),
    "",
    "## Run",
    "",
    mdTable(
      ["", ""],
      [
        ["Releases", `${mdCell(m.sourceRelease)} → ${mdCell(m.targetRelease)}`],
        ["Hosts", m.hosts.map((h) => mdCode(h)).join(" ") || "—"],
        ["Started", m.startMs === undefined ? "not yet" : formatTime(m.startMs)],
        ["Ended", m.endMs === undefined ? (m.live ? "still running" : "—") : formatTime(m.endMs)],
        ["Steps", mdCell(countsText(m))],
        ...(m.finalizedAtMs === undefined ? [] : [["Finalized", formatTime(m.finalizedAtMs)]]),
      ],
    ),
  ];
  const runs = [
    ...m.runs.map((r, i) => [
      `run ${i + 1}`,
      formatTime(r.startMs),
      r.endMs === undefined ? "—" : formatDuration(r.endMs - r.startMs),
      r.outcome ?? (m.live && i === m.runs.length - 1 ? "running" : "no end recorded"),
      firstLine(r.message),
    ]),
    ...m.rollbacks.map((r, i) => [
      `rollback ${i + 1}`,
      formatTime(r.startMs),
      r.endMs === undefined ? "—" : formatDuration(r.endMs - r.startMs),
      r.complete === undefined ? "no end recorded" : r.complete ? "complete" : "incomplete",
      firstLine(r.message),
    ]),
  ];
  if (runs.length > 0) lines.push("", mdTable(["", "Started", "Took", "Outcome", "Message"], runs, [2]));
  if (m.failed.length > 0) {
    lines.push("", "### Failed steps", "");
    for (const f of m.failed)
      lines.push(`- ${mdCode(f.stepId)} ${mdCell(f.title)}:`, "", mdFence(f.message, "text"), "");
  }
  if (m.retired.length > 0) {
    lines.push(
      "",
      "### Steps no longer in the plan",
      "",
      "The plan was replaced between runs; these steps of an earlier plan are not counted above (rollback still undoes what they did).",
      "",
      mdTable(
        ["Step", "Status", "Message"],
        m.retired.map((r) => [mdCode(r.stepId), r.status, firstLine(r.message)]),
      ),
    );
  }
  return lines;
}

function timeline(m: ReportModel): string[] {
  const t = m.timeline;
  const span = Math.max(1000, t.endMs - t.startMs);
  const lines = [
    "## Timeline",
    "",
    `From ${formatTime(t.startMs)} to ${formatTime(t.endMs)} (${formatDuration(t.endMs - t.startMs)}); offsets count from the first run's start. Bar: █ done, ✗ failed or interrupted, ▶ running, ▒ undo.${t.notStarted > 0 ? ` ${t.notStarted} planned step(s) not started are not listed.` : ""}`,
  ];
  if (m.freeze) {
    lines.push(
      "",
      `Freeze window: ${formatOffset(m.freeze.startMs - t.startMs)} → ${m.freeze.endMs === undefined ? "still in effect" : formatOffset(m.freeze.endMs - t.startMs)}.`,
    );
  }
  for (const p of t.phases) {
    lines.push("", `### ${p.phase}`, "");
    const rows: string[][] = [];
    for (const s of p.steps) {
      for (const b of s.bars) {
        rows.push([
          mdCode(s.id),
          `${b.type === "undo" ? "undo" : "attempt"} ${b.attempt}`,
          formatOffset(b.startMs - t.startMs),
          formatDuration(b.endMs - b.startMs),
          b.result,
          textBar(b, t.startMs, span),
        ]);
      }
    }
    lines.push(mdTable(["Step", "Attempt", "Start", "Took", "Result", "Timeline"], rows, [2, 3]));
  }
  return lines;
}

function switchPart(m: ReportModel): string[] {
  const lines = ["## Freeze window and switch", ""];
  const f = m.freeze;
  if (!f) lines.push("The freeze has not started.");
  else if (f.endMs === undefined)
    lines.push(`Freeze (${mdCode(f.stepId)}): since ${formatTime(f.startMs)}, **still in effect**.`);
  else
    lines.push(
      `Freeze (${mdCode(f.stepId)}): ${formatTime(f.startMs)} to ${formatTime(f.endMs)}, **${formatDuration(f.endMs - f.startMs)}** (${f.endedBy === "rollback" ? "ended by a rollback" : "until the addresses moved to the new controller"}).`,
    );
  const b = m.blackout;
  lines.push("");
  if (b.moves.length === 0) lines.push("The plan moves no address.");
  else
    lines.push(
      mdTable(
        ["Step", "Network", "Address", "Status", "Del → add", "When"],
        b.moves.map((mv) => [
          mdCode(mv.stepId),
          mdCell(mv.network ?? "—"),
          mdCode(mv.address ?? "?"),
          mv.status,
          mv.moveMs === undefined ? "not measured" : formatDuration(mv.moveMs),
          mv.endMs === undefined ? "—" : formatTime(mv.endMs),
        ]),
        [4],
      ),
    );
  lines.push("");
  if (b.canaries.length === 0)
    lines.push("Blackout seen by clients: **not measured** (the plan has no canary step).");
  else
    lines.push(
      mdTable(
        ["Canary", "Address", "Status", "Blackout", "Replies", "Lost", "At the stop"],
        b.canaries.map((c) => [
          `${mdCode(c.stepId)}${c.compute ? ` from ${mdCell(c.compute)}` : ""}`,
          c.address ? mdCode(c.address) : "—",
          c.status,
          c.blackoutMs === undefined ? "not measured" : formatDuration(c.blackoutMs),
          c.replies === undefined ? "—" : `${c.replies}${c.sent === undefined ? "" : ` / ${c.sent}`}`,
          c.lost === undefined ? "—" : String(c.lost),
          c.answeringAtStop === undefined ? "—" : c.answeringAtStop ? "answering" : "**not answering**",
        ]),
        [3, 4, 5],
      ),
    );
  return lines;
}

function inventoryPart(m: ReportModel): string[] {
  const inv = m.inventory;
  const lines = ["## Inventory before and after", ""];
  const side = (label: string, s: typeof inv.before): string =>
    s ? `${label}: ${mdCode(s.stepId)} on ${mdCell(s.host)} (${s.status})` : `${label}: not captured`;
  lines.push(`${side("Before", inv.before)}; ${side("after", inv.after)}.`, "");
  if (inv.rows.length === 0) lines.push("No inventory was recorded yet.");
  else
    lines.push(
      mdTable(
        ["Object", "Before", "After", ""],
        inv.rows.map((r) => [
          mdCell(r.name),
          r.before === undefined ? "—" : String(r.before),
          r.after === undefined ? "—" : String(r.after),
          r.before === undefined || r.after === undefined
            ? ""
            : r.before === r.after
              ? "equal"
              : "**differs**",
        ]),
        [1, 2],
      ),
    );
  for (const s of [inv.before, inv.after]) {
    if (s?.note) lines.push("", `${mdCode(s.stepId)} (${s.status}):`, "", mdFence(s.note, "text"));
  }
  if (m.apiChecks.length > 0) {
    lines.push(
      "",
      "### API checks: old before the freeze, new before the switch",
      "",
      mdTable(
        ["Service", "Old", "New"],
        m.apiChecks.map((r) => [
          mdCell(r.service),
          r.old ? `${r.old.status}: ${mdCell(r.old.detail ?? "—")}` : "not checked",
          r.new ? `${r.new.status}: ${mdCell(r.new.detail ?? "—")}` : "not checked",
        ]),
      ),
    );
  }
  return lines;
}

function upgradePart(m: ReportModel): string[] {
  if (m.upgradeChecks.length === 0) return [];
  const rows = new Map<string, { old?: UpgradeCheck; new?: UpgradeCheck }>();
  for (const c of m.upgradeChecks) {
    const r = rows.get(c.service) ?? {};
    if (c.host === "old") r.old = c;
    else r.new = c;
    rows.set(c.service, r);
  }
  const cell = (c: UpgradeCheck | undefined): string =>
    c
      ? `${c.result === "ok" || c.result === "not run" ? c.result : `**${c.result}**`}${c.exitCode === undefined ? "" : ` (exit ${c.exitCode})`}: ${firstLine(c.detail)}`
      : "not planned";
  const lines = [
    "## Upgrade checks",
    "",
    "`<service>-status upgrade check` on old before anything changes (a baseline, recorded only) and on new against the upgraded databases (a failure stops the run).",
    "",
    mdTable(
      ["Service", "On old (baseline)", "On new"],
      [...rows].map(([service, r]) => [mdCell(service), cell(r.old), cell(r.new)]),
    ),
  ];
  for (const c of m.upgradeChecks) {
    if (c.detail?.includes("\n")) lines.push("", `${mdCode(c.stepId)}:`, "", mdFence(c.detail, "text"));
  }
  return lines;
}

function diffsPart(m: ReportModel): string[] {
  const lines = ["## Config changes", ""];
  if (m.configDiffs.length === 0) return [...lines, "No config file was changed yet."];
  lines.push("Secrets are masked in these diffs.");
  for (const d of m.configDiffs) {
    lines.push("", `### ${mdCode(d.stepId)} ${mdCell(d.title)}${d.undone ? " (undone since)" : ""}`);
    for (const f of d.files) {
      lines.push(
        "",
        `${mdCode(f.path)}: ${f.added ?? "?"} added, ${f.removed ?? "?"} removed`,
        "",
        mdFence(f.unified, "diff"),
      );
    }
  }
  return lines;
}

function transfersPart(m: ReportModel): string[] {
  if (m.transfers.length === 0) return [];
  return [
    "## Data copied",
    "",
    mdTable(
      ["Step", "What", "Pass", "Status", "Bytes", "Time", "Rate"],
      m.transfers.map((t) => [
        mdCode(t.stepId),
        t.volumes === undefined
          ? mdCell(t.what)
          : mdCell(
              `${t.volumes} volume(s) in ${t.what} (provisioned ${formatBytes(t.provisionedBytes ?? 0)}${t.bytes === undefined ? "; bytes moved not recorded" : ""})`,
            ),
        mdCell(t.pass ?? "—"),
        t.status,
        t.bytes === undefined ? "—" : formatBytes(t.bytes),
        t.seconds === undefined ? "—" : formatDuration(t.seconds * 1000),
        t.bytes === undefined || t.seconds === undefined ? "—" : (formatRate(t.bytes, t.seconds) ?? "—"),
      ]),
      [4, 5, 6],
    ),
    "",
    `Total: ${formatBytes(m.totalBytes)} recorded by the copy steps.`,
  ];
}

function warningsPart(m: ReportModel): string[] {
  const lines = ["## Warnings", ""];
  if (m.warnings.length === 0) return [...lines, "None."];
  lines.push(
    mdTable(
      ["When", "Kind", "Step", "Message"],
      m.warnings.map((w) => [
        w.atMs === undefined ? "planning" : formatTime(w.atMs),
        w.source,
        w.stepId ? mdCode(w.stepId) : "—",
        mdCell(w.message),
      ]),
    ),
  );
  return lines;
}

function rollbackPart(m: ReportModel): string[] {
  const r = m.rollback;
  const lines = ["## What rollback would do now", ""];
  if (r.refused) return [...lines, `**${mdCell(r.refused)}**`];
  const effective = r.items.filter((i) => i.action !== "no-op");
  const noop = r.items.length - effective.length;
  if (r.items.length === 0) return [...lines, "Nothing to roll back: no step has changed anything."];
  lines.push(
    `\`handover rollback\` would go through these steps newest first${noop > 0 ? `; ${noop} read-only or covered step(s) whose undo changes nothing are left out` : ""}.`,
    "",
    mdTable(
      ["#", "Step", "Hosts", "Action", "What it does"],
      effective.map((i, n) => [
        String(n + 1),
        mdCode(i.stepId),
        mdCell(i.hosts.join(", ") || "—"),
        i.action === "blocked"
          ? i.irreversible !== undefined
            ? "**irreversible**"
            : "**blocked**"
          : i.action,
        mdCell(i.description),
      ]),
      [0],
    ),
  );
  return lines;
}

export function renderMarkdown(m: ReportModel, o: MarkdownOptions = {}): string {
  const sections = [
    header(m, o),
    timeline(m),
    switchPart(m),
    inventoryPart(m),
    upgradePart(m),
    diffsPart(m),
    transfersPart(m),
    warningsPart(m),
    rollbackPart(m),
  ].filter((s) => s.length > 0);
  return `${sections.map((s) => s.join("\n")).join("\n\n")}\n`;
}
