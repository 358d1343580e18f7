/**
 * The chart's time axis: linear without long idle gaps; a long gap is cut to a narrow break so the runs on either
 * side keep their width.
 */
import { describe, expect, it } from "vitest";
import { timeAxis } from "../../../src/report/time-axis.js";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("time axis", () => {
  it("is linear when activity fills the span", () => {
    const a = timeAxis(
      0,
      10 * MIN,
      [
        [0, 4 * MIN],
        [5 * MIN, 10 * MIN],
      ],
      100,
      1100,
    );
    expect(a.gaps).toEqual([]);
    expect(a.x(0)).toBe(100);
    expect(a.x(5 * MIN)).toBe(600);
    expect(a.x(10 * MIN)).toBe(1100);
    // Clamped outside the span.
    expect(a.x(-MIN)).toBe(100);
    expect(a.x(20 * MIN)).toBe(1100);
    expect(a.ticks).toEqual([0, 2, 4, 6, 8, 10].map((m) => m * MIN));
  });

  it("cuts a long idle gap between two runs to a narrow break", () => {
    // Run 1: 0-20 min; nothing for 10 h; run 2: 10h20-10h40.
    const busy = [
      [0, 20 * MIN],
      [10 * HOUR + 20 * MIN, 10 * HOUR + 40 * MIN],
    ] as const;
    const a = timeAxis(0, 10 * HOUR + 40 * MIN, busy, 0, 1000);
    expect(a.gaps).toHaveLength(1);
    const g = a.gaps[0]!;
    expect([g.fromMs, g.toMs]).toEqual([20 * MIN, 10 * HOUR + 20 * MIN]);
    expect(g.x1 - g.x0).toBeLessThan(30);
    // Each run gets about half the width, not a sliver.
    expect(a.x(20 * MIN) - a.x(0)).toBeGreaterThan(480);
    expect(a.x(10 * HOUR + 40 * MIN) - a.x(10 * HOUR + 20 * MIN)).toBeGreaterThan(480);
    expect(a.x(10 * HOUR + 40 * MIN)).toBeCloseTo(1000, 6);
    // Monotonic across the break, and no tick inside it.
    const xs = [0, 10 * MIN, 20 * MIN, 5 * HOUR, 10 * HOUR + 20 * MIN, 10 * HOUR + 40 * MIN].map(a.x);
    expect([...xs].sort((p, q) => p - q)).toEqual(xs);
    expect(a.ticks.some((o) => o > 20 * MIN && o < 10 * HOUR + 20 * MIN)).toBe(false);
    expect(a.ticks.length).toBeGreaterThan(3);
  });

  it("keeps a gap that is short against the whole span (a long copy with idle steps around it)", () => {
    const a = timeAxis(
      0,
      3 * HOUR,
      [
        [0, MIN],
        [20 * MIN, 3 * HOUR],
      ],
      0,
      1000,
    );
    expect(a.gaps).toEqual([]);
  });
});
