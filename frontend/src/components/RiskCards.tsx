// VaR and ES per confidence, with the method, horizon, as-of time and standard errors.
import type { RiskReport } from "../api/types";
import { clockTime, confidenceLabel, type Formatters } from "../lib/format";
import { METHOD_LABELS } from "../lib/methods";

export function RiskCards({
  report,
  fmt,
  pricesAsOf,
  receivedAt,
  pushes,
}: {
  report: RiskReport;
  fmt: Formatters;
  pricesAsOf: string | null;
  receivedAt: string;
  pushes: number;
}) {
  const horizon = (report.parameters as { horizon_days?: number }).horizon_days ?? 1;
  const paths =
    report.method === "montecarlo" && report.n_scenarios ? ` · ${fmt.number(report.n_scenarios)} paths` : "";
  const seed =
    report.provenance.seed != null && report.method === "montecarlo" ? ` · seed ${report.provenance.seed}` : "";
  // No standard error: exact for a closed form (parametric); otherwise the engine gave none
  // (overlapping h-day historical scenarios are not independent) and the notes say why.
  const noError = report.method === "parametric" ? "exact for the model" : "no standard error (see notes)";
  return (
    <section
      className="cards"
      aria-label="Value-at-Risk and Expected Shortfall"
      data-testid="risk-cards"
      data-method={report.method}
      data-pushes={pushes}
    >
      {report.results.map((m) => (
        <article className="card" key={m.confidence} data-testid={`card-${m.confidence}`}>
          <h2>
            {confidenceLabel(m.confidence)} · {horizon}-day
          </h2>
          <dl>
            <div>
              <dt>VaR</dt>
              <dd className="big" data-testid={`var-${m.confidence}`} data-value={m.value_at_risk ?? ""}>
                {fmt.money(m.value_at_risk)}
              </dd>
              <dd className="se">
                {m.value_at_risk_standard_error != null
                  ? `± ${fmt.money(m.value_at_risk_standard_error)} s.e.`
                  : noError}
              </dd>
            </div>
            <div>
              <dt>ES (CVaR)</dt>
              <dd className="big" data-testid={`es-${m.confidence}`} data-value={m.expected_shortfall ?? ""}>
                {fmt.money(m.expected_shortfall)}
              </dd>
              <dd className="se">
                {m.expected_shortfall_standard_error != null
                  ? `± ${fmt.money(m.expected_shortfall_standard_error)} s.e.`
                  : noError}
              </dd>
            </div>
          </dl>
        </article>
      ))}
      <article className="card meta" data-testid="report-meta">
        <h2>{METHOD_LABELS[report.method]}</h2>
        <p>
          {horizon}-day horizon{paths}
          {seed}
        </p>
        <p>
          Book value{" "}
          <strong data-testid="market-value" data-value={report.portfolio.market_value}>
            {fmt.money(report.portfolio.market_value)}
          </strong>
          {report.portfolio.n_included < report.portfolio.n_positions
            ? ` (${report.portfolio.n_included} of ${report.portfolio.n_positions} positions)`
            : ` (${report.portfolio.n_positions} positions)`}
        </p>
        <p className="as-of" data-testid="report-as-of">
          history to {report.as_of} · prices {pricesAsOf ? clockTime(pricesAsOf) : "at the close"} · computed{" "}
          {clockTime(receivedAt)}
        </p>
      </article>
    </section>
  );
}

/** What the answer says its numbers depend on: the engine's notes and data-quality flags. */
export function ReportNotes({ report }: { report: RiskReport }) {
  const items = [
    ...report.notes.map((n) => ({ kind: "note", text: n })),
    ...report.data_quality.map((f) => ({ kind: "data", text: `data quality (${f.code}): ${f.message}` })),
  ];
  if (!items.length) return null;
  return (
    <ul className="report-notes" data-testid="report-notes" aria-label="Notes on these numbers">
      {items.map((x) => (
        <li key={x.text} className={x.kind === "data" ? "warning-text" : undefined}>
          {x.text}
        </li>
      ))}
    </ul>
  );
}
