import { describe, expect, it } from "vitest";
import type { RiskReport } from "../api/types";
import fixture from "./fixtures/report-historical.json";
import { methodRows } from "./methods";

const historical = fixture as unknown as RiskReport;

describe("methods side by side", () => {
  it("compares each method's VaR at a confidence with the first one's", () => {
    const results = historical.results.map((m) => ({
      ...m,
      value_at_risk: m.value_at_risk! * 1.1,
      value_at_risk_standard_error: null,
    }));
    const parametric = { ...historical, method: "parametric", results } as RiskReport;
    const rows = methodRows({ parametric, historical }, ["historical", "parametric", "montecarlo"], 0.99);
    expect(rows.map((r) => r.method)).toEqual(["historical", "parametric"]);
    expect(rows[0].varVsFirst).toBe(0);
    expect(rows[1].varVsFirst).toBeCloseTo(0.1, 12);
    expect(rows[0].varError).toBeGreaterThan(0);
    expect(rows[1].varError).toBeNull();
  });
});
