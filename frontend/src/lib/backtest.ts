// Backtest series for the chart: realised P&L against -VaR of each method, exceptions marked.
import type { BacktestReport, Method } from "../api/types";

export interface BacktestRow {
  date: string;
  /** The book's realised P&L from the date to the next (gains positive). */
  pnl: number | null;
  /** -VaR per method (a loss threshold on the P&L axis), keyed ``var:<method>``. */
  [series: string]: number | string | null;
}

export interface ExceptionMarker {
  date: string;
  method: Method;
  pnl: number;
  valueAtRisk: number;
}

const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

export const varKey = (m: string) => `var:${m}`;
export const exceptionKey = (m: string) => `exception:${m}`;

/** One row per day at ``confidence``: the P&L, each method's -VaR and, on the days a method's
 * VaR was exceeded, the P&L again under ``exception:<method>`` (null otherwise). */
export function backtestRows(report: BacktestReport, confidence: number): BacktestRow[] {
  const { date, realised_pnl } = report.series;
  const rows: BacktestRow[] = date.map((d, i) => ({ date: d, pnl: realised_pnl[i] ?? null }));
  for (const m of report.methods) {
    const s = m.series.find((x) => near(x.confidence, confidence));
    if (!s) continue;
    rows.forEach((row, i) => {
      const v = s.value_at_risk[i];
      row[varKey(m.method)] = v == null ? null : -v;
      row[exceptionKey(m.method)] = s.exception[i] ? (row.pnl as number | null) : null;
    });
  }
  return rows;
}

/** The exceptions of each method at ``confidence``: the days whose loss exceeded the VaR. */
export function exceptionMarkers(report: BacktestReport, confidence: number): ExceptionMarker[] {
  const out: ExceptionMarker[] = [];
  for (const m of report.methods) {
    const s = m.series.find((x) => near(x.confidence, confidence));
    if (!s) continue;
    s.exception.forEach((hit, i) => {
      const pnl = report.series.realised_pnl[i];
      const v = s.value_at_risk[i];
      if (hit && pnl != null && v != null)
        out.push({ date: report.series.date[i], method: m.method, pnl, valueAtRisk: v });
    });
  }
  return out;
}

export interface StatisticsRow {
  method: Method;
  nObs: number;
  exceptions: number;
  expected: number;
  kupiec: number | null;
  christoffersen: number | null;
  conditionalCoverage: number | null;
  zone: "green" | "yellow" | "red" | null;
  zoneExceptions: number | null;
  z2: number | null;
  z2PValue: number | null;
}

/** The tests of each method at ``confidence``: exception count against the expected one,
 * Kupiec and Christoffersen p-values, the traffic-light zone (null before 250 days). */
export function statisticsRows(report: BacktestReport, confidence: number): StatisticsRow[] {
  const out: StatisticsRow[] = [];
  for (const m of report.methods) {
    const s = m.statistics.find((x) => near(x.confidence, confidence));
    if (!s) continue;
    out.push({
      method: m.method,
      nObs: s.n_obs,
      exceptions: s.n_exceptions,
      expected: s.expected_exceptions,
      kupiec: s.kupiec_pof.p_value,
      christoffersen: s.christoffersen_independence.p_value,
      conditionalCoverage: s.conditional_coverage.p_value,
      zone: s.traffic_light?.zone ?? null,
      zoneExceptions: s.traffic_light?.n_exceptions ?? null,
      z2: s.z2.statistic,
      z2PValue: s.z2.p_value,
    });
  }
  return out;
}
