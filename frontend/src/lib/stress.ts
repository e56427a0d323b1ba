// Stress results as bars (worst first) and a scenario's per-position drill-down.
import type { StressReport, StressResult } from "../api/types";

export interface ScenarioBar {
  name: string;
  type: "historical" | "hypothetical";
  description: string;
  pnl: number;
  /** P&L as a share of the book's market value (null for a book worth 0). */
  share: number | null;
  /** What the scenario is: "2020-02-18 -> 2020-03-23" or the shocks as written. */
  definition: string;
}

export interface PositionBar {
  id: string;
  symbol: string;
  pnl: number;
  shock: number;
  volShift: number | null;
}

function describe(r: StressResult): string {
  const d = r.definition as Record<string, unknown>;
  if (r.type === "historical") return `${d.base_date ?? d.start} → ${d.end_date ?? d.end}`;
  return Array.isArray(d.shocks) ? d.shocks.join(" ") : "";
}

/** Every scenario's P&L, the worst (largest loss) first. */
export function scenarioBars(report: StressReport): ScenarioBar[] {
  return report.scenarios
    .map((r) => {
      const mv = r.portfolio.market_value;
      return {
        name: r.scenario,
        type: r.type,
        description: r.description,
        pnl: r.pnl,
        share: mv ? r.pnl / Math.abs(mv) : null,
        definition: describe(r),
      };
    })
    .sort((a, b) => a.pnl - b.pnl || a.name.localeCompare(b.name));
}

/** The positions of one scenario, the worst first. */
export function positionBars(result: StressResult): PositionBar[] {
  return result.positions
    .map((p) => ({ id: p.id, symbol: p.symbol, pnl: p.pnl, shock: p.shock, volShift: p.vol_shift }))
    .sort((a, b) => a.pnl - b.pnl || a.id.localeCompare(b.id));
}

/** Shocks typed by a user, one per comma, semicolon or line: "AAPL=-20%, vol:*=+5". */
export function parseShocks(text: string): string[] {
  return text
    .split(/[,;\n]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A scenario name the server accepts (letters, digits, '-', '_', '.'), made from free text. */
export function scenarioName(text: string): string {
  const name = text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "");
  return name || "custom";
}
