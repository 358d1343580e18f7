/**
 * The image-copy bench's arithmetic: a seeded order of the variants per round, and ratios summarised so a reader
 * sees their spread. Pure, so the figures printed are the figures computed.
 */

/** Median (the mean of the two middle values for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** mulberry32: a small seeded PRNG in [0, 1), so a printed seed reproduces a run's orders and offsets. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates with the given PRNG; the input is left as it is. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface RatioSummary {
  /** One ratio per round where both figures exist, in round order. */
  readonly perRound: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** The ratio of the two medians (what the bench printed before per-round ratios). */
  readonly ofMedians: number;
  /** Rounds whose ratio reached the goal. */
  readonly atGoal: number;
}

/**
 * Throughput of `variant` relative to `base`, from costs (seconds of wall or CPU for the same bytes): base / variant
 * per round, so 1.1 means the variant moved the data 10 % faster (or with 10 % less CPU) than base in that round.
 */
export function costRatios(base: readonly number[], variant: readonly number[], goal: number): RatioSummary {
  const perRound: number[] = [];
  for (let r = 0; r < Math.min(base.length, variant.length); r++) {
    const b = base[r];
    const v = variant[r];
    if (b !== undefined && v !== undefined && b > 0 && v > 0) perRound.push(b / v);
  }
  return {
    perRound,
    median: median(perRound),
    min: perRound.length ? Math.min(...perRound) : Number.NaN,
    max: perRound.length ? Math.max(...perRound) : Number.NaN,
    ofMedians: median(base) / median(variant),
    atGoal: perRound.filter((x) => x >= goal).length,
  };
}

/**
 * met / not met by the median of the per-round ratios; "(every round)" when no round disagrees, and
 * "(k of n rounds)" when some do, so a verdict the spread does not support is visible as such.
 */
export function verdict(s: RatioSummary, goal: number): string {
  const n = s.perRound.length;
  if (n === 0) return "not measured";
  const met = s.median >= goal;
  const agreeing = met ? s.atGoal : n - s.atGoal;
  return `${met ? "met" : "not met"} (${agreeing === n ? "every round" : `${agreeing} of ${n} rounds`})`;
}
