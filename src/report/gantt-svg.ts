/**
 * The timeline as inline SVG (no script, no external fetch): one row per step that ran, grouped under phase
 * headers; one bar per attempt (`rect.bar`), undos as thinner bars under them (`rect.undo-bar`); the freeze window
 * (`#freeze-window`) and the switch blackout (`#switch-blackout`) as bands across all rows. Hover titles give each
 * bar's times and message. Sized by viewBox with width 100%, so it never overflows the page.
 */
import { esc } from "./escape.js";
import { formatDuration, formatOffset, formatTime } from "./format.js";
import type { Bar, ReportModel } from "./model.js";
import { timeAxis } from "./time-axis.js";

const W = 1000;
const LABEL_W = 270;
const X0 = LABEL_W + 10;
const X1 = W - 14;
const AXIS_H = 40;
const PHASE_H = 22;
const ROW_H = 17;
const BAR_H = 10;
const MIN_BAR = 1.5;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function barTitle(b: Bar, title: string): string {
  const what = b.type === "undo" ? `undo ${b.attempt}` : `attempt ${b.attempt}`;
  const lines = [
    `${b.stepId} — ${title}`,
    `${what}: ${b.result}, ${formatDuration(b.endMs - b.startMs)}`,
    `${formatTime(b.startMs)} → ${formatTime(b.endMs)}`,
  ];
  if (b.message) lines.push(truncate(b.message, 600));
  return lines.join("\n");
}

export function ganttSvg(m: ReportModel): string {
  const t = m.timeline;
  const start = t.startMs;
  const span = Math.max(1000, t.endMs - start);
  const busy = t.phases.flatMap((p) =>
    p.steps.flatMap((st) => st.bars.map((b) => [b.startMs, b.endMs] as const)),
  );
  const axis = timeAxis(start, start + span, busy, X0, X1);
  const x = axis.x;
  const rows = t.phases.reduce((n, p) => n + p.steps.length, 0);
  const H = AXIS_H + t.phases.length * PHASE_H + rows * ROW_H + 8;
  const f = (n: number): string => n.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg id="timeline" class="gantt" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(`Timeline of ${rows} steps over ${formatDuration(span)}`)}">`,
  );

  // Axis: ticks as offsets from the first run's start; long idle gaps drawn as breaks with their length.
  out.push(`<g class="axis">`);
  for (const o of axis.ticks) {
    const tx = x(start + o);
    // A break's label sits on the tick row: ticks next to it would overprint it.
    if (axis.gaps.some((g) => tx > g.x0 - 40 && tx < g.x1 + 40)) continue;
    out.push(
      `<line class="grid" x1="${f(tx)}" y1="${AXIS_H - 6}" x2="${f(tx)}" y2="${H}"/>`,
      `<text class="tick" x="${f(tx)}" y="${AXIS_H - 10}" text-anchor="middle">${esc(formatOffset(o))}</text>`,
    );
  }
  out.push(`</g>`);

  // A band's label starts at the band, or ends there when the band is near the right edge (it would be cut off).
  const label = (cls: string, at: number, y: number, text: string): string =>
    at > X1 - 7 * text.length
      ? `<text class="${cls}" x="${f(at - 3)}" y="${y}" text-anchor="end">${esc(text)}</text>`
      : `<text class="${cls}" x="${f(at + 3)}" y="${y}">${esc(text)}</text>`;

  // Layout first: row backgrounds, then the freeze/blackout bands over them, then labels and bars on top.
  const layout: {
    phase?: string;
    step?: (typeof t.phases)[number]["steps"][number];
    y: number;
    odd: boolean;
  }[] = [];
  let y = AXIS_H;
  let row = 0;
  for (const p of t.phases) {
    layout.push({ phase: p.phase, y, odd: false });
    y += PHASE_H;
    for (const st of p.steps) {
      layout.push({ step: st, y, odd: row % 2 === 1 });
      y += ROW_H;
      row++;
    }
  }
  for (const l of layout) {
    if (l.phase !== undefined)
      out.push(`<rect class="phase-band" x="0" y="${l.y}" width="${W}" height="${PHASE_H}"/>`);
    else if (l.odd) out.push(`<rect class="row-band" x="0" y="${l.y}" width="${W}" height="${ROW_H}"/>`);
  }

  for (const g of axis.gaps) {
    out.push(
      `<rect class="axis-gap" x="${f(g.x0)}" y="${AXIS_H - 6}" width="${f(g.x1 - g.x0)}" height="${H - AXIS_H + 6}"><title>${esc(`No activity for ${formatDuration(g.toMs - g.fromMs)} (${formatTime(g.fromMs)} → ${formatTime(g.toMs)}): not drawn to scale`)}</title></rect>`,
      `<text class="gap-label" x="${f((g.x0 + g.x1) / 2)}" y="${AXIS_H - 10}" text-anchor="middle">${esc(`⋯ ${formatDuration(g.toMs - g.fromMs)}`)}</text>`,
    );
  }
  if (m.freeze) {
    const fx = x(m.freeze.startMs);
    const end = m.freeze.endMs ?? t.endMs;
    const title = `Freeze window: ${formatTime(m.freeze.startMs)} → ${m.freeze.endMs === undefined ? "still in effect" : formatTime(m.freeze.endMs)} (${formatDuration(end - m.freeze.startMs)})`;
    out.push(
      `<rect id="freeze-window" class="freeze-window${m.freeze.endMs === undefined ? " open" : ""}" x="${f(fx)}" y="${AXIS_H - 4}" width="${f(Math.max(MIN_BAR, x(end) - fx))}" height="${H - AXIS_H + 4}"><title>${esc(title)}</title></rect>`,
      label(
        "band-label freeze-label",
        fx,
        12,
        `freeze${m.freeze.endMs === undefined ? " (still in effect)" : ""}`,
      ),
    );
  }
  const moves = m.blackout.moves.filter((mv) => mv.startMs !== undefined && mv.endMs !== undefined);
  if (moves.length > 0) {
    const bs = Math.min(...moves.map((mv) => mv.startMs!));
    const be = Math.max(...moves.map((mv) => mv.endMs!));
    const bx = x(bs);
    const measured =
      m.blackout.measuredMs === undefined
        ? "not measured"
        : `measured ${formatDuration(m.blackout.measuredMs)}`;
    out.push(
      `<rect id="switch-blackout" class="blackout" x="${f(bx - 1)}" y="${AXIS_H - 4}" width="${f(Math.max(3, x(be) - bx + 2))}" height="${H - AXIS_H + 4}"><title>${esc(`Switch (address moves): ${formatTime(bs)} → ${formatTime(be)}; blackout ${measured}`)}</title></rect>`,
      label("band-label blackout-label", bx, 24, "switch"),
    );
  }

  const b = m.blackout;
  if (b.measuredFromMs !== undefined && b.measuredToMs !== undefined && b.measuredMs !== undefined) {
    const mx = x(b.measuredFromMs);
    out.push(
      `<rect id="measured-blackout" class="measured-blackout" x="${f(mx - 1)}" y="${AXIS_H - 4}" width="${f(Math.max(3, x(b.measuredToMs) - mx + 2))}" height="${H - AXIS_H + 4}"><title>${esc(`Blackout measured by the canary: ${formatDuration(b.measuredMs)}, ${formatTime(b.measuredFromMs)} → ${formatTime(b.measuredToMs)} (the compute's clock)`)}</title></rect>`,
    );
  }

  for (const l of layout) {
    if (l.phase !== undefined) {
      out.push(
        `<text class="phase-label" data-phase="${esc(l.phase)}" x="8" y="${l.y + 15}">${esc(l.phase)}</text>`,
      );
      continue;
    }
    const st = l.step!;
    out.push(
      `<g class="step-row" data-step="${esc(st.id)}" data-phase="${esc(st.phase)}">`,
      `<text class="step-label" x="16" y="${l.y + 12.5}"><title>${esc(`${st.id} — ${st.title} (${st.status})`)}</title>${esc(truncate(st.id, 40))}</text>`,
    );
    for (const b of st.bars) {
      const bx = x(b.startMs);
      const bw = Math.max(MIN_BAR, x(b.endMs) - bx);
      const undo = b.type === "undo";
      const by = undo ? l.y + ROW_H - 5 : l.y + (ROW_H - BAR_H) / 2 - 1;
      out.push(
        `<rect class="${undo ? "undo-bar" : "bar"} ${undo ? "undo" : "bar"}-${b.result}" data-step="${esc(st.id)}" data-attempt="${b.attempt}" x="${f(bx)}" y="${f(by)}" width="${f(bw)}" height="${undo ? 4 : BAR_H}" rx="${undo ? 1 : 2}"><title>${esc(barTitle(b, st.title))}</title></rect>`,
      );
    }
    out.push(`</g>`);
  }
  if (m.live) {
    const nx = x(m.generatedAtMs);
    out.push(
      `<line class="now" x1="${f(nx)}" y1="${AXIS_H - 6}" x2="${f(nx)}" y2="${H}"><title>now</title></line>`,
    );
  }
  out.push(`</svg>`);
  return out.filter((l) => l !== "").join("\n");
}
