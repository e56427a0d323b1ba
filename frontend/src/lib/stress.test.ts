import { describe, expect, it } from "vitest";
import type { StressReport, StressResult } from "../api/types";
import { parseShocks, positionBars, scenarioBars, scenarioName } from "./stress";

function result(name: string, pnl: number, positions: [string, number][]): StressResult {
  return {
    scenario: name,
    type: name === "covid-2020" ? "historical" : "hypothetical",
    description: "",
    as_of: "2022-12-28",
    base_currency: "USD",
    pnl,
    portfolio: { name: "b", n_positions: 2, n_included: 2, market_value: 1000 },
    definition:
      name === "covid-2020"
        ? { start: "2020-02-19", end: "2020-03-23", base_date: "2020-02-18", end_date: "2020-03-23" }
        : { shocks: ["*=-10%", "vol:*=+5"] },
    factor_returns: {},
    positions: positions.map(([id, p]) => ({
      id,
      symbol: id.toUpperCase(),
      factor: id.toUpperCase(),
      pnl: p,
      shock: -0.1,
      fx_shock: 0,
      vol_shift: null,
    })),
    excluded_positions: [],
    notes: [],
  };
}

const report: StressReport = {
  schema_version: 1,
  as_of: "2022-12-28",
  base_currency: "USD",
  portfolio: { name: "b", n_positions: 2, n_included: 2, market_value: 1000 },
  scenarios: [
    result("mild", -10, [
      ["a", -4],
      ["b", -6],
    ]),
    result("covid-2020", -250, [
      ["a", -300],
      ["b", 50],
    ]),
    result("rally", 40, [
      ["a", 30],
      ["b", 10],
    ]),
  ],
  skipped: [],
  worst_window: null,
  reverse_stress: null,
};

describe("stress bars", () => {
  it("orders scenarios worst first, with P&L as a share of the book", () => {
    const bars = scenarioBars(report);
    expect(bars.map((b) => b.name)).toEqual(["covid-2020", "mild", "rally"]);
    expect(bars[0]).toMatchObject({ pnl: -250, share: -0.25, definition: "2020-02-18 → 2020-03-23" });
    expect(bars[1].definition).toBe("*=-10% vol:*=+5");
  });

  it("drills down to positions, worst first, adding up to the scenario", () => {
    const rows = positionBars(report.scenarios[1]);
    expect(rows.map((r) => r.id)).toEqual(["a", "b"]);
    expect(rows.reduce((s, r) => s + r.pnl, 0)).toBe(report.scenarios[1].pnl);
  });

  it("reads typed shocks and makes names the server accepts", () => {
    expect(parseShocks("AAPL=-20%, vol:*=+5;\n sector=tech:-0.1 ,")).toEqual([
      "AAPL=-20%",
      "vol:*=+5",
      "sector=tech:-0.1",
    ]);
    expect(scenarioName("Tech -20% crash!")).toBe("tech-20-crash");
    expect(scenarioName("  ")).toBe("custom");
  });
});
