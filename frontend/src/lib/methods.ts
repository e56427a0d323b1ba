// The same book by each method, side by side.
import type { Method, RiskReport } from "../api/types";
import { measureAt } from "./histogram";

export interface MethodRow {
  method: Method;
  valueAtRisk: number | null;
  expectedShortfall: number | null;
  varError: number | null;
  esError: number | null;
  /** VaR relative to the first method's (historical): 0.05 = 5% higher. */
  varVsFirst: number | null;
}

/** One row per method with a report, in ``order``, at ``confidence``. */
export function methodRows(
  reports: Partial<Record<Method, RiskReport>>,
  order: readonly Method[],
  confidence: number,
): MethodRow[] {
  const rows: MethodRow[] = [];
  let first: number | null = null;
  for (const method of order) {
    const report = reports[method];
    if (!report) continue;
    const m = measureAt(report.results, confidence);
    const v = m?.value_at_risk ?? null;
    if (first === null && v !== null) first = v;
    rows.push({
      method,
      valueAtRisk: v,
      expectedShortfall: m?.expected_shortfall ?? null,
      varError: m?.value_at_risk_standard_error ?? null,
      esError: m?.expected_shortfall_standard_error ?? null,
      varVsFirst: first && v !== null ? v / first - 1 : null,
    });
  }
  return rows;
}

export const METHOD_LABELS: Record<Method, string> = {
  historical: "Historical",
  parametric: "Parametric",
  montecarlo: "Monte Carlo",
};
