import { describe, expect, it } from "vitest";
import type { RiskReport } from "../api/types";
import fixture from "./fixtures/report-historical.json";
import { histogramBins, histogramTotal, measureAt, tailMarkers } from "./histogram";

const report = fixture as unknown as RiskReport;

describe("loss distribution", () => {
  it("turns edges and counts into bins, the tail beyond VaR marked", () => {
    const bins = histogramBins({ edges: [-30, -20, -10, 0, 10], counts: [1, 2, 5, 2] }, 15);
    expect(bins.map((b) => [b.lo, b.hi, b.mid, b.count])).toEqual([
      [-30, -20, -25, 1],
      [-20, -10, -15, 2],
      [-10, 0, -5, 5],
      [0, 10, 5, 2],
    ]);
    expect(bins.map((b) => b.tail)).toEqual([true, false, false, false]);
    expect(histogramBins({ edges: [0, 1], counts: [3] }).map((b) => b.tail)).toEqual([false]);
  });

  it("places VaR and ES as losses on the P&L axis, ES beyond VaR", () => {
    const m = measureAt(report.results, 0.99)!;
    const [v, es] = tailMarkers(m);
    expect(v).toEqual({ label: "VaR", pnl: -m.value_at_risk!, value: m.value_at_risk });
    expect(es.pnl).toBeLessThanOrEqual(v.pnl);
    expect(tailMarkers(null)).toEqual([]);
  });

  it("counts every scenario of the server's histogram, and the tail share is about 1 - c", () => {
    const m = measureAt(report.results, 0.95)!;
    const bins = histogramBins(report.pnl_histogram!, m.value_at_risk);
    expect(histogramTotal(bins)).toBe(report.n_scenarios);
    const tail = bins.filter((b) => b.tail).reduce((s, b) => s + b.count, 0);
    const width = bins[0].hi - bins[0].lo;
    // bins are whole: the marked tail is 5% up to the scenarios of the bin holding VaR
    const binAtVaR = bins.find((b) => b.lo <= -m.value_at_risk! && -m.value_at_risk! < b.hi)!;
    expect(tail).toBeLessThanOrEqual(0.05 * report.n_scenarios! + binAtVaR.count);
    expect(tail).toBeGreaterThanOrEqual(0.05 * report.n_scenarios! - binAtVaR.count);
    expect(width).toBeGreaterThan(0);
  });

  it("finds the measure at a confidence, else the last one", () => {
    expect(measureAt(report.results, 0.95)?.confidence).toBe(0.95);
    expect(measureAt(report.results, 0.5)?.confidence).toBe(0.99);
    expect(measureAt([], 0.99)).toBeUndefined();
  });
});
