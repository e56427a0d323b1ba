// The risk request the controls describe, its validation, and whether a report answers it.
import type { Method, RiskOptions, RiskReport, RiskRequest } from "../api/types";

export interface Controls {
  method: Method;
  confidence: number[];
  horizon_days: number;
  /** Monte Carlo paths. */
  n_scenarios: number;
  /** Monte Carlo seed; null: the server draws one (and reports it). */
  seed: number | null;
}

export const DEFAULT_CONTROLS: Controls = {
  method: "historical",
  confidence: [0.95, 0.99],
  horizon_days: 1,
  n_scenarios: 10_000,
  seed: 7,
};

export const CONFIDENCE_CHOICES = [0.95, 0.975, 0.99] as const;

export const LIMITS = {
  horizon_days: [1, 250],
  n_scenarios: [100, 10_000_000],
  seed: [0, Number.MAX_SAFE_INTEGER],
} as const;

/** What is wrong with the controls, by field (empty when they make a valid request). */
export function controlErrors(c: Controls): Partial<Record<keyof Controls, string>> {
  const out: Partial<Record<keyof Controls, string>> = {};
  const whole = (x: number, [lo, hi]: readonly [number, number]) => Number.isInteger(x) && x >= lo && x <= hi;
  if (c.confidence.length === 0) out.confidence = "choose at least one confidence";
  if (!whole(c.horizon_days, LIMITS.horizon_days)) out.horizon_days = "a whole number of days, 1 to 250";
  if (c.method === "montecarlo") {
    if (!whole(c.n_scenarios, LIMITS.n_scenarios)) out.n_scenarios = "100 to 10,000,000 paths";
    if (c.seed !== null && !whole(c.seed, LIMITS.seed)) out.seed = "a whole number ≥ 0, or empty";
  }
  return out;
}

/** The options of the request (what a live watch sends): contributions in full, so the
 * waterfall can show standalone VaRs and the diversification benefit. */
export function riskOptions(c: Controls, contributions: RiskRequest["contributions"] = "full"): RiskOptions {
  const out: RiskOptions = {
    method: c.method,
    confidence: [...c.confidence].sort((a, b) => a - b),
    horizon_days: c.horizon_days,
    contributions,
  };
  if (c.method === "montecarlo") {
    out.n_scenarios = c.n_scenarios;
    if (c.seed !== null) out.seed = c.seed;
  }
  return out;
}

export function riskRequest(portfolioId: number, c: Controls): RiskRequest {
  return { portfolio_id: portfolioId, ...riskOptions(c) };
}

const sameLevels = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-12);

/** Whether ``report`` answers the request of ``c`` (a pushed report of an earlier request
 * may still arrive after the controls changed). */
export function reportMatches(report: RiskReport, c: Controls): boolean {
  if (report.method !== c.method) return false;
  const p = report.parameters as Record<string, unknown>;
  const levels = report.results.map((r) => r.confidence);
  if (
    !sameLevels(
      levels,
      [...c.confidence].sort((a, b) => a - b),
    )
  )
    return false;
  if (p.horizon_days !== undefined && p.horizon_days !== c.horizon_days) return false;
  if (c.method === "montecarlo") {
    if (report.n_scenarios !== c.n_scenarios) return false;
    if (c.seed !== null && report.provenance.seed !== c.seed) return false;
  }
  return true;
}
