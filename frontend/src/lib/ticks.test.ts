import { describe, expect, it } from "vitest";
import { niceTicks, shorten } from "./ticks";

describe("axis ticks", () => {
  it("covers the range with round steps, through zero", () => {
    expect(niceTicks(-52_700, 72_400, 6)).toEqual([-100_000, -50_000, 0, 50_000, 100_000]);
    expect(niceTicks(-52_700, 72_400, 8)).toEqual([-60_000, -40_000, -20_000, 0, 20_000, 40_000, 60_000, 80_000]);
    expect(niceTicks(0, 2.04, 5)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0, 2.04, 6)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(0.1, 0.9, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 9, 5)).toEqual([0, 2.5, 5, 7.5, 10]);
  });

  it("always brackets the data", () => {
    for (const [lo, hi] of [
      [-3, 7],
      [-1e6, -2e5],
      [13, 13],
      [0.001, 0.0042],
    ]) {
      const t = niceTicks(lo, hi);
      expect(t[0]).toBeLessThanOrEqual(lo);
      expect(t.at(-1)!).toBeGreaterThanOrEqual(hi);
      expect(t.length).toBeGreaterThanOrEqual(2);
      expect(t.length).toBeLessThanOrEqual(12);
    }
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });

  it("shortens long labels", () => {
    expect(shorten("MSFT 2023-06-16 C 250", 12)).toBe("MSFT 2023-0…");
    expect(shorten("AAPL", 12)).toBe("AAPL");
  });
});
