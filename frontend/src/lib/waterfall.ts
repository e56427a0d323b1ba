// VaR waterfalls: component VaR adding up to VaR, and standalone VaRs down to VaR through the
// diversification benefit. Steps are pure data; charts draw them as floating bars.
import type { PositionContribution, TagContribution } from "../api/types";
import { topN, type Item } from "./topn";

export type StepKind = "up" | "down" | "total" | "subtotal";

export interface Step {
  key: string;
  label: string;
  kind: StepKind;
  /** The running total before and after the step (a total bar runs from 0). */
  start: number;
  end: number;
  /** end - start */
  value: number;
}

/** A bar for the chart: the floating range [low, high] of a step. */
export interface WaterfallBar {
  key: string;
  label: string;
  kind: StepKind;
  range: [number, number];
  value: number;
}

/** Running steps over ``parts`` from ``from``; each part moves the total by its value. */
export function runningSteps(parts: readonly Item[], from = 0): Step[] {
  let at = from;
  return parts.map((p) => {
    const start = at;
    at += p.value;
    return { key: p.key, label: p.label, kind: p.value < 0 ? "down" : "up", start, end: at, value: p.value };
  });
}

function totalStep(key: string, label: string, value: number, kind: StepKind = "total"): Step {
  return { key, label, kind, start: 0, end: value, value };
}

export interface ComponentWaterfall {
  steps: Step[];
  /** The sum of every component (the total bar): VaR, as the components add up to it. */
  total: number;
}

/** Component VaR steps, largest first: the top ``n`` units (by absolute component VaR), the
 * rest as "other", then the total bar. */
export function componentWaterfall(parts: readonly Item[], n: number, totalLabel = "VaR"): ComponentWaterfall {
  const { items, other } = topN(parts, n);
  const steps = runningSteps(other ? [...items, other] : items);
  const total = steps.length ? steps[steps.length - 1].end : 0;
  return { steps: [...steps, totalStep("__total__", totalLabel, total)], total };
}

/** From the sum of standalone VaRs down to VaR: the top ``n`` standalone VaRs (and "other"),
 * their sum as a subtotal, the diversification benefit (VaR - sum) as a step of its own, then
 * VaR. */
export function diversificationWaterfall(standalone: readonly Item[], n: number, valueAtRisk: number): Step[] {
  const { items, other } = topN(standalone, n);
  const steps = runningSteps(other ? [...items, other] : items);
  const sum = steps.length ? steps[steps.length - 1].end : 0;
  const benefit = valueAtRisk - sum;
  return [
    ...steps,
    totalStep("__sum__", "sum of standalone", sum, "subtotal"),
    {
      key: "__diversification__",
      label: "diversification",
      kind: benefit < 0 ? "down" : "up",
      start: sum,
      end: valueAtRisk,
      value: benefit,
    },
    totalStep("__total__", "VaR", valueAtRisk),
  ];
}

export function waterfallBars(steps: readonly Step[]): WaterfallBar[] {
  return steps.map((s) => ({
    key: s.key,
    label: s.label,
    kind: s.kind,
    range: [Math.min(s.start, s.end), Math.max(s.start, s.end)],
    value: s.value,
  }));
}

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Component VaR (or ``measure``) of each position at ``confidence``. */
export function positionItems(
  rows: readonly PositionContribution[],
  confidence: number,
  measure: "component_var" | "standalone_var" = "component_var",
): Item[] {
  const at = rows.filter((r) => near(r.confidence, confidence));
  const seen = new Map<string, number>();
  for (const r of at) seen.set(r.symbol, (seen.get(r.symbol) ?? 0) + 1);
  // a symbol held in several positions is labelled with each position's id
  return at.map((r) => ({
    key: r.id,
    label: (seen.get(r.symbol) ?? 0) > 1 || !r.symbol ? `${r.symbol} (${r.id})` : r.symbol,
    value: r[measure] ?? NaN,
  }));
}

/** The tag keys of a contributions table ("sector", "book"), in order of appearance. */
export function tagKeys(rows: readonly TagContribution[]): string[] {
  return [...new Set(rows.map((r) => r.key))];
}

/** Component VaR (or ``measure``) of each group of tag ``key`` at ``confidence`` (positions
 * without the key form their own group, so the groups add up to the book's). */
export function tagItems(
  rows: readonly TagContribution[],
  key: string,
  confidence: number,
  measure: "component_var" | "standalone_var" = "component_var",
): Item[] {
  return rows
    .filter((r) => r.key === key && near(r.confidence, confidence))
    .map((r) => ({
      key: `${r.key}=${r.value ?? ""}`,
      label: r.value ?? `(no ${r.key})`,
      value: r[measure] ?? NaN,
    }));
}
