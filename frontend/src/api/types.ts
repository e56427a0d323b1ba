// The page's view of the API: names for the types generated from the server's OpenAPI schema
// (src/api/schema.d.ts, written by `make frontend` from the app; never edited by hand).
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Method = Schemas["RiskRequest"]["method"] & string;
export type RiskRequest = Schemas["RiskRequest"];
export type RiskReport = Schemas["RiskReportOut"];
export type Measure = Schemas["Measure"];
export type PnlHistogram = Schemas["PnlHistogram"];
export type PnlDensity = Schemas["PnlDensity"];
export type Contributions = Schemas["Contributions"];
export type ContributionSummary = Schemas["ContributionSummary"];
export type PositionContribution = Schemas["PositionContribution"];
export type TagContribution = Schemas["TagContribution"];
export type LimitUtilisation = Schemas["LimitUtilisation"];
export type StoredReport = Schemas["StoredReport"];
export type StressRequest = Schemas["StressRequest"];
export type StressReport = Schemas["StressReportOut"];
export type StressResult = Schemas["StressResultOut"];
export type StressScenario = Schemas["StressScenarioOut"];
export type BacktestRequest = Schemas["BacktestRequest"];
export type BacktestReport = Schemas["BacktestReportOut"];
export type BacktestStatistics = Schemas["BacktestStatisticsOut"];
export type FrtbRequest = Schemas["FrtbRequest"];
export type FrtbReport = Schemas["FrtbReportOut"];
export type FrtbCascade = Schemas["FrtbCascade"];
export type Job = Schemas["Job"];
export type Problem = Schemas["Problem"];
export type PortfolioItem = Schemas["PortfolioItem"];
export type PortfolioOut = Schemas["PortfolioOut"];
export type PortfolioDetail = Schemas["PortfolioDetail"];
export type Valuation = Schemas["ValuationOut"];
export type PositionValue = Schemas["PositionValue"];
export type Symbols = Schemas["SymbolsOut"];

/** Options of a risk request other than the book (what a live watch sends). */
export type RiskOptions = Omit<RiskRequest, "portfolio_id" | "portfolio">;

export const METHODS: readonly Method[] = ["historical", "parametric", "montecarlo"];

// The live WebSocket (/api/v1/live) is outside the OpenAPI schema; its messages carry the
// schema's types (docs/api.md#live-updates).
export type LiveMessage =
  | { type: "hello"; tenant: string; debounce: number; simulated_prices: boolean }
  | { type: "prices"; as_of: string; prices: Record<string, number>; simulated: boolean }
  | { type: "report"; portfolio_id: number; report: RiskReport; breaches: LimitUtilisation[] }
  | { type: "error"; problem: Problem; portfolio_id?: number }
  | { type: "pong" };

export type LiveCommand =
  | { action: "watch"; portfolio_id: number; request: RiskOptions }
  | { action: "unwatch"; portfolio_id: number }
  | { action: "ping" };
