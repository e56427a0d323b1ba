// Limit utilisation rows: the measure, the scope (book or tag), how much is used, the state.
import type { LimitUtilisation } from "../api/types";
import { confidenceLabel } from "./format";

export type LimitState = "ok" | "warning" | "breached" | "unknown";

export interface LimitRow {
  key: string;
  label: string;
  scope: string;
  value: number | null;
  limit: number;
  utilisation: number | null;
  state: LimitState;
  reason: string | null;
}

/** At or above this share of a limit, a limit is shown as a warning. */
export const WARNING_AT = 0.8;

export function limitKey(l: Pick<LimitUtilisation, "measure" | "confidence" | "tag">): string {
  return `${l.measure}@${l.confidence}@${l.tag ?? ""}`;
}

export function limitRows(limits: readonly LimitUtilisation[]): LimitRow[] {
  return limits.map((l) => {
    const state: LimitState =
      l.utilisation == null ? "unknown" : l.breached ? "breached" : l.utilisation >= WARNING_AT ? "warning" : "ok";
    const measure = l.measure === "value_at_risk" ? "VaR" : "ES";
    return {
      key: limitKey(l),
      label: `${measure} ${confidenceLabel(l.confidence)}`,
      scope: l.tag ?? "book",
      value: l.value,
      limit: l.limit,
      utilisation: l.utilisation,
      state,
      reason: l.reason ?? null,
    };
  });
}
