import { describe, expect, it } from "vitest";
import type { RiskReport } from "../api/types";
import fixture from "./fixtures/report-historical.json";
import { topN } from "./topn";
import {
  componentWaterfall,
  diversificationWaterfall,
  positionItems,
  runningSteps,
  tagItems,
  tagKeys,
  waterfallBars,
} from "./waterfall";

const report = fixture as unknown as RiskReport;
const item = (key: string, value: number) => ({ key, label: key, value });

describe("top-N grouping", () => {
  const items = [item("a", 10), item("b", -30), item("c", 5), item("d", 20), item("e", 1)];

  it("keeps the largest absolute values, ordered by value, and sums the rest", () => {
    const { items: top, other } = topN(items, 3);
    expect(top.map((i) => i.key)).toEqual(["d", "a", "b"]);
    expect(other).toMatchObject({ value: 6, count: 2, label: "other (2)" });
  });

  it("has no other when N covers everything, and none kept for N = 0", () => {
    expect(topN(items, 5).other).toBeNull();
    expect(topN(items, 10).items).toHaveLength(5);
    const none = topN(items, 0);
    expect(none.items).toHaveLength(0);
    expect(none.other?.value).toBe(6);
  });

  it("preserves the sum and drops missing values", () => {
    const withNaN = [...items, item("z", Number.NaN)];
    const { items: top, other } = topN(withNaN, 2);
    const sum = top.reduce((s, i) => s + i.value, 0) + (other?.value ?? 0);
    expect(sum).toBe(6);
    expect(other?.count).toBe(3);
  });

  it("breaks ties by label so the order is stable", () => {
    const tied = [item("y", 5), item("x", -5), item("w", 5)];
    expect(topN(tied, 2).items.map((i) => i.key)).toEqual(["w", "x"]);
  });
});

describe("waterfall steps", () => {
  it("runs from zero, each step starting where the last ended", () => {
    const steps = runningSteps([item("a", 10), item("b", -4), item("c", 3)]);
    expect(steps.map((s) => [s.start, s.end, s.kind])).toEqual([
      [0, 10, "up"],
      [10, 6, "down"],
      [6, 9, "up"],
    ]);
  });

  it("ends the component waterfall on the total, with the rest as other", () => {
    const { steps, total } = componentWaterfall([item("a", 10), item("b", -4), item("c", 3), item("d", 1)], 2);
    expect(steps.map((s) => s.label)).toEqual(["a", "b", "other (2)", "VaR"]);
    expect(total).toBe(10);
    expect(steps.at(-1)).toMatchObject({ kind: "total", start: 0, end: 10 });
    expect(steps.at(-2)?.end).toBe(10);
  });

  it("floats bars between the running totals, across zero too", () => {
    const bars = waterfallBars(runningSteps([item("a", 5), item("b", -8)]));
    expect(bars.map((b) => b.range)).toEqual([
      [0, 5],
      [-3, 5],
    ]);
  });

  it("goes from the sum of standalone VaRs down to VaR through diversification", () => {
    const steps = diversificationWaterfall([item("a", 30), item("b", 20), item("c", 10)], 2, 40);
    expect(steps.map((s) => s.label)).toEqual(["a", "b", "other (1)", "sum of standalone", "diversification", "VaR"]);
    const sum = steps[3];
    expect(sum).toMatchObject({ kind: "subtotal", start: 0, end: 60 });
    expect(steps[4]).toMatchObject({ kind: "down", start: 60, end: 40, value: -20 });
    expect(steps[5]).toMatchObject({ kind: "total", end: 40 });
  });
});

describe("the server's contributions as waterfalls", () => {
  const c = report.contributions!;

  for (const s of c.summary) {
    it(`component VaRs of positions add up to VaR at ${s.confidence}`, () => {
      for (const n of [3, 5, 100]) {
        const { steps, total } = componentWaterfall(positionItems(c.by_position, s.confidence), n);
        expect(total).toBeCloseTo(s.value_at_risk, 6);
        expect(steps.length).toBe(Math.min(n, 10) + (n < 10 ? 1 : 0) + 1);
      }
    });

    it(`component VaRs of each tag key add up to VaR at ${s.confidence}`, () => {
      expect(tagKeys(c.by_tag)).toEqual(["book", "sector"]);
      for (const key of tagKeys(c.by_tag)) {
        const { total } = componentWaterfall(tagItems(c.by_tag, key, s.confidence), 3);
        expect(total).toBeCloseTo(s.value_at_risk, 6);
      }
    });

    it(`standalone VaRs step down to VaR by the diversification benefit at ${s.confidence}`, () => {
      const steps = diversificationWaterfall(
        positionItems(c.by_position, s.confidence, "standalone_var"),
        5,
        s.value_at_risk,
      );
      const sum = steps.find((x) => x.key === "__sum__")!;
      const div = steps.find((x) => x.key === "__diversification__")!;
      expect(sum.end).toBeCloseTo(s.sum_standalone_var!, 6);
      expect(-div.value).toBeCloseTo(s.diversification_benefit!, 6);
      expect(steps.at(-1)!.end).toBe(s.value_at_risk);
    });
  }

  it("labels positions by symbol, and by id where a symbol repeats", () => {
    const rows = c.by_position.filter((r) => r.confidence === 0.99);
    const twice = [...rows, { ...rows[0], id: "eq-aapl-2" }];
    const labels = positionItems(twice, 0.99).map((i) => i.label);
    expect(labels).toContain("AAPL (eq-aapl)");
    expect(labels).toContain("AAPL (eq-aapl-2)");
    expect(labels).toContain("MSFT");
  });
});
