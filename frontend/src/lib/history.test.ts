import { describe, expect, it } from "vitest";
import { nextLink } from "../api/client";
import type { LimitUtilisation, StoredReport } from "../api/types";
import { toCsv } from "./export";
import { HISTORY_COLUMNS, historyConfidences, historyPath, historyRows } from "./history";

const measure = (confidence: number, v: number) => ({
  confidence,
  value_at_risk: v,
  expected_shortfall: v * 1.2,
  value_at_risk_standard_error: null,
  expected_shortfall_standard_error: null,
});

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

const report = (id: number, time: string, v: number, limits: LimitUtilisation[] = []): StoredReport => ({
  id,
  created_at: time,
  as_of: "2024-05-31",
  method: "historical",
  measures: [measure(0.95, v / 2), measure(0.99, v)],
  limits,
});

describe("risk history", () => {
  // the API lists newest first
  const reports = [
    report(3, "2024-06-01T10:00:02+00:00", 130, [limit({ limit: 120, value: 130, breached: true })]),
    report(2, "2024-06-01T10:00:01+00:00", 90, [limit({ limit: 120, value: 90 }), limit({ tag: "desk=a", limit: 1 })]),
    report(1, "2024-06-01T10:00:00+00:00", 80),
  ];

  it("orders the points oldest first with the book's own limits and its breaches", () => {
    const rows = historyRows(reports, 0.99);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(rows.map((r) => r.valueAtRisk)).toEqual([80, 90, 130]);
    expect(rows.map((r) => r.varLimit)).toEqual([null, 120, 120]); // a tag's limit is not the book's
    expect(rows.map((r) => r.varBreach)).toEqual([null, null, 130]);
    expect(rows.map((r) => r.expectedShortfall)).toEqual([96, 108, 156]);
    expect(historyRows(reports, 0.95).map((r) => r.varLimit)).toEqual([null, null, null]);
    expect(historyConfidences(reports)).toEqual([0.95, 0.99]);
  });

  it("asks for one method since the start of the range", () => {
    const now = Date.parse("2024-06-02T00:00:00Z");
    expect(historyPath(7, "montecarlo", "1d", now)).toBe(
      "/api/v1/portfolios/7/reports?limit=1000&method=montecarlo&since=2024-06-01T00%3A00%3A00.000Z",
    );
    expect(historyPath(7, "historical", "all", now)).toBe("/api/v1/portfolios/7/reports?limit=1000&method=historical");
  });

  it("exports the series as CSV, full precision, quoted where needed", () => {
    const csv = toCsv(historyRows(reports, 0.99), HISTORY_COLUMNS).split("\r\n");
    expect(csv[0]).toBe(
      "report_id,created_at,as_of,method,value_at_risk,expected_shortfall,var_limit,es_limit,var_breached,es_breached",
    );
    expect(csv[3]).toBe("3,2024-06-01T10:00:02+00:00,2024-05-31,historical,130,156,120,,true,false");
    expect(csv.at(-1)).toBe("");
    const quoted = toCsv(
      [{ a: 'x, "y"', b: 0.1 + 0.2 }],
      [
        { name: "a", value: (r) => r.a },
        { name: "b", value: (r) => r.b },
      ],
    );
    expect(quoted).toBe('a,b\r\n"x, ""y""",0.30000000000000004\r\n');
  });

  it("follows a Link header's next page", () => {
    expect(nextLink('</api/v1/portfolios/1/reports?limit=2&before=9>; rel="next"')).toBe(
      "/api/v1/portfolios/1/reports?limit=2&before=9",
    );
    expect(nextLink('<a>; rel="prev", <b>; rel="next"')).toBe("b");
    expect(nextLink(null)).toBeNull();
    expect(nextLink('<a>; rel="prev"')).toBeNull();
  });
});

describe("drill-down", () => {
  it("finds a tag group's positions as the server groups them", async () => {
    const { groupMembers, parseTags } = await import("./drill");
    expect([...parseTags(" sector = tech ; book=A;sector=energy;bad")]).toEqual([
      ["sector", "tech"],
      ["book", "A"],
    ]);
    const positions = [
      { id: "a", tags: "sector=tech;book=A" },
      { id: "b", tags: "sector=energy" },
      { id: "c", tags: "" },
      { id: "d", tags: { sector: "tech" } },
    ];
    expect([...groupMembers(positions, { key: "sector", value: "tech" })]).toEqual(["a", "d"]);
    expect([...groupMembers(positions, { key: "book", value: null })]).toEqual(["b", "c", "d"]);
  });
});
