/**
 * Plain-text formatting shared by the Markdown and HTML renderers: times, durations, sizes, rates. One place, so
 * both formats say the same numbers the same way.
 */
import { scaleBytes } from "../ui/format.js";

/** `2026-11-22 04:35:12 UTC` (the journal's times are UTC; operators compare them with logs). */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `04:35:12` (UTC), where the date is shown elsewhere. */
export function formatClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** Durations an operator reads at a glance: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h === 0) return `${m} min ${String(sec).padStart(2, "0")} s`;
  return `${h} h ${String(m).padStart(2, "0")} min`;
}

/** Offset from the start of the chart, as a clock: `0:00`, `4:05`, `1:02:30`. */
export function formatOffset(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Binary units, three significant digits: `512 B`, `1.50 GiB`. */
export function formatBytes(n: number): string {
  const { value: v, unit } = scaleBytes(n);
  if (unit === "B") return `${n} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${unit}`;
}

export function formatRate(bytes: number, seconds: number): string | undefined {
  if (!(seconds > 0)) return undefined;
  return `${formatBytes(bytes / seconds)}/s`;
}
