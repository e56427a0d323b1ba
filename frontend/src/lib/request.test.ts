import { describe, expect, it } from "vitest";
import type { RiskReport } from "../api/types";
import fixture from "./fixtures/report-historical.json";
import { controlErrors, DEFAULT_CONTROLS, reportMatches, riskOptions, riskRequest } from "./request";

const report = fixture as unknown as RiskReport;

describe("the risk request of the controls", () => {
  it("sends Monte Carlo options only for Monte Carlo, levels sorted, contributions in full", () => {
    expect(riskRequest(3, { ...DEFAULT_CONTROLS, confidence: [0.99, 0.95] })).toEqual({
      portfolio_id: 3,
      method: "historical",
      confidence: [0.95, 0.99],
      horizon_days: 1,
      contributions: "full",
    });
    const mc = riskOptions({ ...DEFAULT_CONTROLS, method: "montecarlo", seed: null, n_scenarios: 5000 });
    expect(mc).toMatchObject({ method: "montecarlo", n_scenarios: 5000 });
    expect("seed" in mc).toBe(false);
  });

  it("refuses what the server would refuse", () => {
    expect(controlErrors(DEFAULT_CONTROLS)).toEqual({});
    const bad = controlErrors({
      ...DEFAULT_CONTROLS,
      method: "montecarlo",
      confidence: [],
      horizon_days: 0,
      n_scenarios: 10.5,
      seed: -1,
    });
    expect(Object.keys(bad).sort()).toEqual(["confidence", "horizon_days", "n_scenarios", "seed"]);
    // paths and seed do not matter to other methods
    expect(controlErrors({ ...DEFAULT_CONTROLS, n_scenarios: 1 })).toEqual({});
  });

  it("recognises the report of the current request, not an earlier one", () => {
    expect(reportMatches(report, DEFAULT_CONTROLS)).toBe(true);
    expect(reportMatches(report, { ...DEFAULT_CONTROLS, method: "parametric" })).toBe(false);
    expect(reportMatches(report, { ...DEFAULT_CONTROLS, confidence: [0.99] })).toBe(false);
    expect(reportMatches(report, { ...DEFAULT_CONTROLS, horizon_days: 10 })).toBe(false);
    const mc = {
      ...report,
      method: "montecarlo",
      n_scenarios: 10_000,
      provenance: { ...report.provenance, seed: 7 },
    } as RiskReport;
    const controls = { ...DEFAULT_CONTROLS, method: "montecarlo" as const };
    expect(reportMatches(mc, controls)).toBe(true);
    expect(reportMatches(mc, { ...controls, seed: 8 })).toBe(false);
    expect(reportMatches(mc, { ...controls, n_scenarios: 20_000 })).toBe(false);
  });
});
