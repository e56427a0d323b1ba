import { describe, expect, it } from "vitest";
import type { FrtbReport } from "../api/types";
import report from "./fixtures/frtb.json";
import {
  bucketScales,
  capitalBars,
  cascadeRows,
  deskRows,
  imccBars,
  plaPoints,
  searchPoints,
  stressedSpan,
} from "./frtb";

// A real answer of compute_frtb on the bundled data (docs/frtb.md's run), written by the engine.
const r = report as unknown as FrtbReport;

describe("the FRTB tab's rows", () => {
  it("cascade: the total row is sqrt(sum (ES_j scale_j)^2) of the bucket rows (MAR33.4)", () => {
    const rows = cascadeRows(r);
    expect(rows).toHaveLength(6);
    const scales = bucketScales(r);
    expect(scales[0]).toBe(1);
    expect(scales[4]).toBeCloseTo(Math.sqrt(6), 12);
    for (const set of ["reduced_stressed", "full_current", "reduced_current"] as const) {
      const total = Math.sqrt(rows.slice(0, 5).reduce((a, row, j) => a + (row[set] * scales[j]) ** 2, 0));
      expect(rows[5][set]).toBeCloseTo(total, 6);
    }
  });

  it("IMCC bars: rho IMCC(C) + (1 - rho) sum IMCC(C_i) is IMCC", () => {
    const bars = imccBars(r);
    expect(bars[0].value + bars[1].value).toBeCloseTo(r.imcc.value, 6);
    expect(bars.at(-1)?.total).toBe(true);
  });

  it("capital bars: the charge is the larger of IMCC today and m_c x the average", () => {
    const [last, , scaled, charge] = capitalBars(r);
    expect(charge.value).toBeCloseTo(Math.max(last.value, scaled.value), 6);
  });

  it("search: one point per window, the stressed window's end at the maximum", () => {
    const points = searchPoints(r);
    expect(points).toHaveLength(r.stressed_window.search.end_dates.length);
    const best = points.reduce((a, p) => ((p.es ?? -Infinity) > (a.es ?? -Infinity) ? p : a));
    expect(best.date).toBe(r.stressed_window.end);
    const [from, to] = stressedSpan(r);
    expect(from >= r.stressed_window.start && from <= to).toBe(true);
    expect(to).toBe(r.stressed_window.end);
  });

  it("desk rows: breached when a count is above its limit", () => {
    const rows = deskRows(r);
    expect(rows.map((x) => x.limit)).toEqual([12, 30]);
    for (const row of rows) expect(row.breached).toBe(row.exceptions > row.limit);
    const supplied = {
      ...r,
      desk_tests: {
        ...r.desk_tests,
        backtest: { ...r.desk_tests.backtest, actual_exceptions: { "0.99": 13, "0.975": 2 } },
      },
    } as FrtbReport;
    expect(deskRows(supplied).map((x) => x.breached)).toEqual([true, false]);
    expect(plaPoints(r)).toHaveLength(250);
  });
});
