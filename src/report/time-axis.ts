/**
 * The chart's time axis, with long idle gaps cut out: a run that failed in the evening and was resumed the next
 * morning would otherwise squeeze both runs into slivers at the edges. A gap between bars longer than
 * max(10 min, 25% of the span) is drawn as a fixed narrow break (its length written on it); the rest of the
 * width is shared linearly by the time that has activity. Without such gaps the axis is plain linear.
 */

export interface AxisGap {
  readonly fromMs: number;
  readonly toMs: number;
  readonly x0: number;
  readonly x1: number;
}

export interface TimeAxis {
  /** Time -> x, clamped to the axis. */
  readonly x: (ms: number) => number;
  /** Tick positions as offsets from the start, only where time is drawn (not inside a break). */
  readonly ticks: readonly number[];
  readonly gaps: readonly AxisGap[];
}

const GAP_PX = 22;
const TICK_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

export function tickStepMs(spanMs: number): number {
  for (const s of TICK_STEPS_S) if (spanMs / (s * 1000) <= 8) return s * 1000;
  return Math.ceil(spanMs / 8 / 86_400_000) * 86_400_000;
}

interface Segment {
  readonly t0: number;
  readonly t1: number;
  readonly gap: boolean;
}

/** Gaps between the merged busy intervals that are long enough to cut. */
function idleGaps(
  startMs: number,
  endMs: number,
  busy: readonly (readonly [number, number])[],
): [number, number][] {
  const span = endMs - startMs;
  const min = Math.max(10 * 60_000, 0.25 * span);
  const sorted = [...busy].sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let reach = startMs;
  for (const [a, b] of sorted) {
    if (a - reach > min) gaps.push([reach, a]);
    reach = Math.max(reach, b);
  }
  return gaps;
}

export function timeAxis(
  startMs: number,
  endMs: number,
  busy: readonly (readonly [number, number])[],
  x0: number,
  x1: number,
): TimeAxis {
  const end = Math.max(endMs, startMs + 1000);
  const cut = idleGaps(startMs, end, busy);
  const segments: Segment[] = [];
  let t = startMs;
  for (const [a, b] of cut) {
    segments.push({ t0: t, t1: a, gap: false }, { t0: a, t1: b, gap: true });
    t = b;
  }
  segments.push({ t0: t, t1: end, gap: false });
  const drawn = segments.filter((s) => !s.gap).reduce((n, s) => n + (s.t1 - s.t0), 0);
  const pxPerMs = (x1 - x0 - cut.length * GAP_PX) / Math.max(1, drawn);
  const placed: (Segment & { x0: number; x1: number })[] = [];
  let x = x0;
  for (const s of segments) {
    const w = s.gap ? GAP_PX : (s.t1 - s.t0) * pxPerMs;
    placed.push({ ...s, x0: x, x1: x + w });
    x += w;
  }
  const at = (ms: number): number => {
    const c = Math.min(Math.max(ms, startMs), end);
    const s = placed.find((p) => c <= p.t1) ?? placed[placed.length - 1]!;
    const frac = s.t1 === s.t0 ? 0 : (c - s.t0) / (s.t1 - s.t0);
    return s.x0 + frac * (s.x1 - s.x0);
  };
  const step = tickStepMs(drawn);
  const ticks: number[] = [];
  for (const s of placed) {
    if (s.gap) continue;
    const first = Math.ceil((s.t0 - startMs) / step) * step;
    for (let o = first; startMs + o <= s.t1; o += step) ticks.push(o);
  }
  return {
    x: at,
    ticks,
    gaps: placed.filter((p) => p.gap).map((p) => ({ fromMs: p.t0, toMs: p.t1, x0: p.x0, x1: p.x1 })),
  };
}
