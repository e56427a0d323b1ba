import { describe, expect, it } from "vitest";
import type { BacktestReport } from "../api/types";
import { backtestRows, exceptionKey, exceptionMarkers, statisticsRows, varKey } from "./backtest";

const lr = (p: number) => ({ statistic: 1, df: 1, p_value: p });

function statistics(c: number, n: number, zone: "green" | "yellow" | "red" | null) {
  return {
    confidence: c,
    n_obs: 4,
    n_exceptions: n,
    expected_exceptions: 0.04,
    exception_rate: n / 4,
    kupiec_pof: lr(0.01),
    christoffersen_independence: lr(0.5),
    conditional_coverage: { ...lr(0.03), df: 2 },
    transitions: { n00: 1, n01: 1, n10: 1, n11: 0 },
    traffic_light: zone
      ? {
          n_obs: 250,
          n_exceptions: n,
          zone,
          cumulative_probability: 0.9,
          plus_factor: 0.5,
          green_max: 4,
          yellow_max: 9,
        }
      : null,
    z2: { statistic: -0.5, p_value: 0.2, n_simulations: 100 },
  };
}

// four days, two methods; historical misses days 2 and 4, parametric day 4
const report = {
  schema_version: 1,
  kind: "backtest",
  as_of: "2022-12-28",
  base_currency: "USD",
  horizon_days: 1,
  window: 500,
  confidence: [0.99],
  start: "2022-12-20",
  end: "2022-12-23",
  n_days: 4,
  portfolio: { name: "b", n_positions: 1, n_included: 1, market_value: 1 },
  excluded_positions: [],
  parameters: {},
  notes: [],
  provenance: { seed: 1, data_snapshot_id: "x", code_version: "0" },
  series: {
    date: ["2022-12-20", "2022-12-21", "2022-12-22", "2022-12-23"],
    pnl_date: ["2022-12-21", "2022-12-22", "2022-12-23", "2022-12-27"],
    realised_pnl: [5, -12, -3, -20],
  },
  methods: [
    {
      method: "historical",
      parameters: {},
      notes: [],
      data_quality: [],
      statistics: [statistics(0.99, 2, "yellow")],
      series: [
        {
          confidence: 0.99,
          value_at_risk: [10, 10, 10, 10],
          expected_shortfall: [12, 12, 12, 12],
          exception: [false, true, false, true],
          traffic_light_exceptions: [null, null, null, 2],
          traffic_light_zone: [null, null, null, "yellow"],
        },
      ],
    },
    {
      method: "parametric",
      parameters: {},
      notes: [],
      data_quality: [],
      statistics: [statistics(0.99, 1, null)],
      series: [
        {
          confidence: 0.99,
          value_at_risk: [15, null, 15, 15],
          expected_shortfall: [17, null, 17, 17],
          exception: [false, false, false, true],
          traffic_light_exceptions: [null, null, null, null],
          traffic_light_zone: [null, null, null, null],
        },
      ],
    },
  ],
} satisfies BacktestReport;

describe("backtest series", () => {
  it("puts -VaR of each method on the P&L axis, day by day", () => {
    const rows = backtestRows(report, 0.99);
    expect(rows.map((r) => r.pnl)).toEqual([5, -12, -3, -20]);
    expect(rows.map((r) => r[varKey("historical")])).toEqual([-10, -10, -10, -10]);
    expect(rows.map((r) => r[varKey("parametric")])).toEqual([-15, null, -15, -15]);
  });

  it("marks exceptions at the realised P&L, and only on exception days", () => {
    const rows = backtestRows(report, 0.99);
    expect(rows.map((r) => r[exceptionKey("historical")])).toEqual([null, -12, null, -20]);
    expect(rows.map((r) => r[exceptionKey("parametric")])).toEqual([null, null, null, -20]);
  });

  it("lists every exception with its loss beyond the VaR", () => {
    const markers = exceptionMarkers(report, 0.99);
    expect(markers).toEqual([
      { date: "2022-12-21", method: "historical", pnl: -12, valueAtRisk: 10 },
      { date: "2022-12-23", method: "historical", pnl: -20, valueAtRisk: 10 },
      { date: "2022-12-23", method: "parametric", pnl: -20, valueAtRisk: 15 },
    ]);
    for (const m of markers) expect(-m.pnl).toBeGreaterThan(m.valueAtRisk);
    const counted = statisticsRows(report, 0.99).map((s) => s.exceptions);
    expect(counted).toEqual([2, 1]);
  });

  it("has nothing at a confidence the backtest does not have", () => {
    expect(exceptionMarkers(report, 0.95)).toEqual([]);
    expect(statisticsRows(report, 0.95)).toEqual([]);
  });

  it("summarises the tests and the traffic light per method", () => {
    const [h, p] = statisticsRows(report, 0.99);
    expect(h).toMatchObject({ method: "historical", exceptions: 2, kupiec: 0.01, christoffersen: 0.5, zone: "yellow" });
    expect(p).toMatchObject({ method: "parametric", zone: null, zoneExceptions: null });
  });
});
