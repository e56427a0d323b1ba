// The server's histogram of scenario P&L as chart bins, with VaR and ES placed on the P&L axis.
import type { Measure, PnlHistogram } from "../api/types";

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
