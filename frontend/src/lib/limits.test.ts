import { describe, expect, it } from "vitest";
import type { LimitUtilisation } from "../api/types";
import { limitRows } from "./limits";

const limit = (over: Partial<LimitUtilisation>): LimitUtilisation => ({
  measure: "value_at_risk",
  confidence: 0.99,
  limit: 100,
  tag: null,
  value: 50,
  utilisation: 0.5,
  breached: false,
  ...over,
});

describe("limit utilisation", () => {
  it("states each limit: ok, warning from 80%, breached, unknown", () => {
    const rows = limitRows([
      limit({}),
      limit({ value: 85, utilisation: 0.85, tag: "sector=tech" }),
      limit({ value: 120, utilisation: 1.2, breached: true, measure: "expected_shortfall", confidence: 0.975 }),
      limit({ value: null, utilisation: null, reason: "the report has no confidence 0.95", confidence: 0.95 }),
    ]);
    expect(rows.map((r) => r.state)).toEqual(["ok", "warning", "breached", "unknown"]);
    expect(rows.map((r) => `${r.label} ${r.scope}`)).toEqual([
      "VaR 99% book",
      "VaR 99% sector=tech",
      "ES 97.5% book",
      "VaR 95% book",
    ]);
    expect(rows[3].reason).toMatch(/no confidence/);
    expect(new Set(rows.map((r) => r.key)).size).toBe(4);
  });
});
