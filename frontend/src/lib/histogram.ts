// The server's histogram of scenario P&L as chart bins, with VaR and ES placed on the P&L axis.
import type { Measure, PnlDensity, PnlHistogram } from "../api/types";

export interface Bin {
  /** The bin's middle, low and high edges of P&L (gains positive). */
  mid: number;
  lo: number;
  hi: number;
  count: number;
  /** The bin lies in the tail beyond VaR (its middle is a loss larger than VaR). */
  tail: boolean;
}

export interface Marker {
  label: string;
  /** Where the marker falls on the P&L axis: -VaR or -ES (losses are positive amounts). */
  pnl: number;
  value: number;
}

/** The bins of ``histogram``; with ``valueAtRisk``, those beyond it are marked as the tail. */
export function histogramBins(histogram: PnlHistogram, valueAtRisk?: number | null): Bin[] {
  const { edges, counts } = histogram;
  const n = Math.min(counts.length, Math.max(0, edges.length - 1));
  const cut = valueAtRisk == null || !Number.isFinite(valueAtRisk) ? null : -valueAtRisk;
  const out: Bin[] = [];
  for (let i = 0; i < n; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    const mid = (lo + hi) / 2;
    out.push({ mid, lo, hi, count: counts[i], tail: cut !== null && mid < cut });
  }
  return out;
}

/** VaR and ES of ``measure`` as markers on the P&L axis. */
export function tailMarkers(measure: Measure | undefined | null): Marker[] {
  if (!measure) return [];
  const out: Marker[] = [];
  if (measure.value_at_risk != null)
    out.push({ label: "VaR", pnl: -measure.value_at_risk, value: measure.value_at_risk });
  if (measure.expected_shortfall != null)
    out.push({ label: "ES", pnl: -measure.expected_shortfall, value: measure.expected_shortfall });
  return out;
}

/** The number of scenarios in the bins. */
export function histogramTotal(bins: readonly Bin[]): number {
  return bins.reduce((s, b) => s + b.count, 0);
}

/** The measure of ``results`` at ``confidence`` (or the last one). */
export function measureAt(results: readonly Measure[], confidence?: number | null): Measure | undefined {
  if (confidence != null) {
    const m = results.find((r) => Math.abs(r.confidence - confidence) < 1e-9);
    if (m) return m;
  }
  return results[results.length - 1];
}

/** A point of the fitted density: ``body`` where the P&L is above -VaR, ``tail`` at or below
 * it (the point at the cut is in both, so the two areas meet). */
export interface DensityPoint {
  pnl: number;
  density: number;
  body: number | null;
  tail: number | null;
}

/** The parametric report's density curve, split at -VaR into body and tail. */
export function densityPoints(d: PnlDensity, valueAtRisk?: number | null): DensityPoint[] {
  const cut = valueAtRisk == null || !Number.isFinite(valueAtRisk) ? null : -valueAtRisk;
  const n = Math.min(d.pnl.length, d.density.length);
  const out: DensityPoint[] = [];
  for (let i = 0; i < n; i++) {
    const pnl = d.pnl[i];
    const density = d.density[i];
    const inTail = cut !== null && pnl <= cut;
    const next = i + 1 < n ? d.pnl[i + 1] : null;
    const atCut = cut !== null && inTail && next !== null && next > cut;
    out.push({ pnl, density, body: !inTail || atCut ? density : null, tail: inTail ? density : null });
  }
  return out;
}

/** The share of the density's area at or below ``pnl`` (trapezoids over the curve). */
export function densityMass(points: readonly DensityPoint[], pnl: number): number {
  let below = 0;
  let total = 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const area = ((a.density + b.density) / 2) * (b.pnl - a.pnl);
    total += area;
    if (b.pnl <= pnl) below += area;
  }
  return total > 0 ? below / total : 0;
}
