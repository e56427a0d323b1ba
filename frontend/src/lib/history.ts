// The risk history of a book (``GET /portfolios/{id}/reports``) as a series over time at one
// confidence: VaR and ES, the book's VaR and ES limits as they stood, and the breaches.
import type { StoredReport } from "../api/types";
import type { Column } from "./export";

export interface HistoryRow {
  id: number;
  /** When the report was computed (ISO 8601, UTC) and as milliseconds for the time axis. */
  time: string;
  t: number;
  asOf: string;
  method: string;
  valueAtRisk: number | null;
  expectedShortfall: number | null;
  /** The book's own (untagged) limits at this confidence, as the report saw them. */
  varLimit: number | null;
  esLimit: number | null;
  /** The measure again where its limit was breached (to mark it), else null. */
  varBreach: number | null;
  esBreach: number | null;
}

export const RANGES = [
  { key: "1h", label: "1 hour", ms: 3_600_000 },
  { key: "1d", label: "1 day", ms: 86_400_000 },
  { key: "7d", label: "7 days", ms: 7 * 86_400_000 },
  { key: "30d", label: "30 days", ms: 30 * 86_400_000 },
  { key: "all", label: "all", ms: null },
] as const;
export type RangeKey = (typeof RANGES)[number]["key"];

/** Most points fetched for one chart (pages of 1,000 followed until then). */
export const MAX_POINTS = 5_000;

const near = (a: number, b: number) => Math.abs(a - b) < 1e-9;

/** The API path of the history: ``method``'s reports since ``now`` less the range. */
export function historyPath(bookId: number, method: string, range: RangeKey, now: number = Date.now()): string {
  const q = new URLSearchParams({ limit: "1000", method });
  const r = RANGES.find((x) => x.key === range);
  if (r && r.ms !== null) q.set("since", new Date(now - r.ms).toISOString());
  return `/api/v1/portfolios/${bookId}/reports?${q.toString()}`;
}

/** The confidence levels the reports hold, ascending. */
export function historyConfidences(reports: readonly StoredReport[]): number[] {
  const seen: number[] = [];
  for (const r of reports)
    for (const m of r.measures) if (!seen.some((c) => near(c, m.confidence))) seen.push(m.confidence);
  return seen.sort((a, b) => a - b);
}

/** One row per report at ``confidence``, oldest first (the API lists newest first). */
export function historyRows(reports: readonly StoredReport[], confidence: number): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const r of reports) {
    const m = r.measures.find((x) => near(x.confidence, confidence));
    if (!m) continue;
    const limit = (measure: string) =>
      r.limits.find((l) => l.measure === measure && !l.tag && near(l.confidence, confidence)) ?? null;
    const vl = limit("value_at_risk");
    const el = limit("expected_shortfall");
    rows.push({
      id: r.id,
      time: r.created_at,
      t: Date.parse(r.created_at),
      asOf: r.as_of,
      method: r.method,
      valueAtRisk: m.value_at_risk,
      expectedShortfall: m.expected_shortfall,
      varLimit: vl?.limit ?? null,
      esLimit: el?.limit ?? null,
      varBreach: vl?.breached ? m.value_at_risk : null,
      esBreach: el?.breached ? m.expected_shortfall : null,
    });
  }
  return rows.sort((a, b) => a.t - b.t || a.id - b.id);
}

/** A time on the history's axis (UTC): to the millisecond over two minutes or less, to the
 * second over two days or less, else the date. */
export function timeLabel(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  if (span <= 120_000) return iso.slice(11, 23);
  if (span <= 2 * 86_400_000) return iso.slice(11, 19);
  return iso.slice(0, 10);
}

export const HISTORY_COLUMNS: Column<HistoryRow>[] = [
  { name: "report_id", value: (r) => r.id },
  { name: "created_at", value: (r) => r.time },
  { name: "as_of", value: (r) => r.asOf },
  { name: "method", value: (r) => r.method },
  { name: "value_at_risk", value: (r) => r.valueAtRisk },
  { name: "expected_shortfall", value: (r) => r.expectedShortfall },
  { name: "var_limit", value: (r) => r.varLimit },
  { name: "es_limit", value: (r) => r.esLimit },
  { name: "var_breached", value: (r) => r.varBreach !== null },
  { name: "es_breached", value: (r) => r.esBreach !== null },
];
