/** Small formatters shared by the renderers: bytes, durations, rates, clock times. */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** `n` bytes in the largest binary unit that keeps the value at 1 or more (up to TiB). */
export function scaleBytes(n: number): { value: number; unit: (typeof UNITS)[number] } {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return { value: v, unit: UNITS[i] ?? "B" };
}

export function formatBytes(n: number): string {
  const { value, unit } = scaleBytes(n);
  return unit === "B" ? `${value} B` : `${value.toFixed(1)} ${unit}`;
}

/** 3.2s, 4m05s, 1h02m: short enough for a progress line, exact enough to compare runs. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(sec).padStart(2, "0")}s`;
}

/** HH:MM:SS of an ISO time, in UTC or the local zone. */
export function clockTime(iso: string, utc: boolean): string {
  const d = new Date(iso);
  const parts = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return parts.map((p) => String(p).padStart(2, "0")).join(":");
}

export interface ByteProgress {
  readonly bytes: number;
  readonly totalBytes?: number;
  /** Milliseconds since the step started (or since its first progress report). */
  readonly elapsedMs: number;
}

/** "1.2 GiB / 4.0 GiB (30%), 45.0 MiB/s, ETA 1m03s"; rate and ETA only once time has passed. */
export function describeBytes(p: ByteProgress): string {
  const parts: string[] = [];
  const known = p.totalBytes !== undefined && p.totalBytes > 0;
  parts.push(
    known
      ? `${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)} (${Math.floor((100 * p.bytes) / p.totalBytes)}%)`
      : formatBytes(p.bytes),
  );
  if (p.elapsedMs > 0 && p.bytes > 0) {
    const rate = p.bytes / (p.elapsedMs / 1000);
    parts.push(`${formatBytes(Math.round(rate))}/s`);
    if (known && p.totalBytes > p.bytes) {
      parts.push(`ETA ${formatDuration(((p.totalBytes - p.bytes) / rate) * 1000)}`);
    }
  }
  return parts.join(", ");
}
