// The FRTB report (docs/frtb.md) as the rows the FRTB tab's charts and tables draw: pure
// functions of the API's answer, so that what the page shows is what the server computed.
import type { FrtbReport } from "../api/types";

/** The factor sets of the cascade, in the order the chart and the table show them. */
export const FRTB_SETS = [
  { key: "reduced_stressed", label: "ES R,S (reduced, stressed)" },
  { key: "full_current", label: "ES F,C (full, current)" },
  { key: "reduced_current", label: "ES R,C (reduced, current)" },
] as const;
export type FrtbSet = (typeof FRTB_SETS)[number]["key"];

export interface CascadeRow {
  bucket: string;
  reduced_stressed: number;
  full_current: number;
  reduced_current: number;
}

/** One row per liquidity bucket ("LH ≥ 10d" ...): ES_T(P, j) of each set for risk class
 * ``cls`` ("all": every factor), then the liquidity-adjusted total. */
export function cascadeRows(report: FrtbReport, cls = "all"): CascadeRow[] {
  const lh = report.parameters.liquidity_horizons;
  const es = report.expected_shortfall;
  const rows: CascadeRow[] = lh.map((h, j) => ({
    bucket: `LH ≥ ${h}d`,
    reduced_stressed: es.reduced_stressed[cls].by_bucket[j],
    full_current: es.full_current[cls].by_bucket[j],
    reduced_current: es.reduced_current[cls].by_bucket[j],
  }));
  rows.push({
    bucket: "liquidity-adjusted",
    reduced_stressed: es.reduced_stressed[cls].liquidity_adjusted,
    full_current: es.full_current[cls].liquidity_adjusted,
    reduced_current: es.reduced_current[cls].liquidity_adjusted,
  });
  return rows;
}

/** sqrt((LH_j - LH_{j-1}) / T) of each bucket (1 for the first): the weight of ES_T(P, j). */
export function bucketScales(report: FrtbReport): number[] {
  const lh = report.parameters.liquidity_horizons;
  const t = report.parameters.base_horizon_days;
  return lh.map((h, j) => (j === 0 ? 1 : Math.sqrt((h - lh[j - 1]) / t)));
}

export interface SearchPoint {
  date: string;
  es: number | null;
}

/** ES R,S of every 12-month window of the history, by the window's last date. */
export function searchPoints(report: FrtbReport): SearchPoint[] {
  const s = report.stressed_window.search;
  return s.end_dates.map((date, i) => ({ date, es: s.expected_shortfall[i] ?? null }));
}

/** The stressed window on the search's date axis: [first, last] end dates it spans (the start
 * clamped to the first window's end when it lies before it). */
export function stressedSpan(report: FrtbReport): [string, string] {
  const dates = report.stressed_window.search.end_dates;
  const { start, end } = report.stressed_window;
  const first = dates.find((d) => d >= start) ?? dates[0];
  return [first, end];
}

export interface AmountBar {
  key: string;
  label: string;
  value: number;
  /** the bar that is the result (the charge, IMCC) */
  total?: boolean;
}

/** IMCC = ρ IMCC(C) + (1 − ρ) Σ IMCC(C_i): the two weighted terms, each class, the total. */
export function imccBars(report: FrtbReport): AmountBar[] {
  const im = report.imcc;
  const classes = Object.entries(im.by_class);
  const sum = classes.reduce((a, [, v]) => a + v, 0);
  return [
    { key: "unconstrained", label: `ρ × IMCC(C)`, value: im.rho * im.unconstrained },
    { key: "classes", label: `(1 − ρ) × Σ IMCC(Cᵢ)`, value: (1 - im.rho) * sum },
    ...classes.map(([c, v]) => ({ key: `class-${c}`, label: `IMCC(${c})`, value: v })),
    { key: "imcc", label: "IMCC", value: im.value, total: true },
  ];
}

/** capital = max(IMCC today, m_c × average IMCC). */
export function capitalBars(report: FrtbReport): AmountBar[] {
  const c = report.capital;
  return [
    { key: "last", label: "IMCC today", value: c.imcc_last },
    { key: "average", label: `average IMCC (${report.imcc.days} d)`, value: c.average_imcc },
    { key: "scaled", label: `m_c × average (m_c ${c.multiplier.toFixed(2)})`, value: c.multiplier * c.average_imcc },
    { key: "charge", label: "capital charge", value: c.charge, total: true },
  ];
}

export interface PlaPoint {
  date: string;
  hypothetical: number;
  model: number;
}

export function plaPoints(report: FrtbReport): PlaPoint[] {
  const p = report.desk_tests.pla;
  return p.dates.map((date, i) => ({ date, hypothetical: p.hypothetical_pnl[i], model: p.risk_theoretical_pnl[i] }));
}

/** PLA thresholds of MAR32: green when Spearman > 0.80 and KS < 0.09, red when Spearman < 0.70
 * or KS > 0.12. */
export const PLA_THRESHOLDS = { spearman: { green: 0.8, red: 0.7 }, ks: { green: 0.09, red: 0.12 } } as const;

export interface DeskRow {
  confidence: string;
  exceptions: number;
  actual: number | null;
  limit: number;
  breached: boolean;
}

/** The desk backtest at 99% and 97.5%: exceptions (hypothetical, actual when supplied)
 * against the limit; breached when either count is above it. */
export function deskRows(report: FrtbReport): DeskRow[] {
  const bt = report.desk_tests.backtest;
  return Object.keys(bt.limits).map((c) => {
    const actual = bt.actual_exceptions ? bt.actual_exceptions[c] : null;
    const exceptions = bt.exceptions[c];
    const limit = bt.limits[c];
    return { confidence: c, exceptions, actual, limit, breached: Math.max(exceptions, actual ?? 0) > limit };
  });
}
