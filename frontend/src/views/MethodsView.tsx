// The same book by each method, so the differences show.
import { useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { METHODS, type Method, type RiskReport } from "../api/types";
import { MethodBars } from "../charts/MethodBars";
import { ConfidenceSelect } from "../components/ConfidenceSelect";
import { Export } from "../components/Export";
import { JobProgress } from "../components/JobProgress";
import { Failure, Loading, Panel } from "../components/Panel";
import { useSubmit } from "../hooks/useSubmit";
import { confidenceLabel, type Formatters } from "../lib/format";
import { METHOD_LABELS, methodRows, type MethodRow } from "../lib/methods";
import { fieldColumns, fileName } from "../lib/export";
import { riskRequest, type Controls } from "../lib/request";

const METHOD_COLUMNS = fieldColumns<MethodRow>([
  "method", "valueAtRisk", "expectedShortfall", "varError", "esError", "varVsFirst",
]); // prettier-ignore

export function MethodsView({
  client,
  bookId,
  controls,
  fmt,
  live,
  pushes,
}: {
  client: ApiClient;
  bookId: number;
  controls: Controls;
  fmt: Formatters;
  /** The report on the cards (its method's row shows it, so both read the same numbers). */
  live: RiskReport | null;
  /** Live updates of that report so far: the other methods are recomputed at each one. */
  pushes: number;
}) {
  const historical = useSubmit<RiskReport>(client);
  const parametric = useSubmit<RiskReport>(client);
  const montecarlo = useSubmit<RiskReport>(client);
  const runs: Record<Method, ReturnType<typeof useSubmit<RiskReport>>> = { historical, parametric, montecarlo };
  const [confidence, setConfidence] = useState(Math.max(...controls.confidence));
  const key = JSON.stringify([bookId, controls]);

  useEffect(() => {
    for (const m of METHODS) {
      const body = { ...riskRequest(bookId, { ...controls, method: m }), contributions: "none" as const };
      runs[m].run("/api/v1/risk", body);
    }
    setConfidence((c) => (controls.confidence.includes(c) ? c : Math.max(...controls.confidence)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  // at each live update of the cards' report, the other methods on the new prices too (a run
  // still in flight is not restarted)
  useEffect(() => {
    if (pushes === 0 || !live) return;
    for (const m of METHODS) {
      if (m === live.method || runs[m].state.status === "loading") continue;
      const body = { ...riskRequest(bookId, { ...controls, method: m }), contributions: "none" as const };
      runs[m].run("/api/v1/risk", body);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pushes]);

  const reports: Partial<Record<Method, RiskReport>> = {};
  for (const m of METHODS) if (runs[m].state.data) reports[m] = runs[m].state.data!;
  const onCards = live && live.portfolio.id === bookId && live.method === controls.method ? live : null;
  if (onCards) reports[onCards.method] = onCards;
  const rows = methodRows(reports, METHODS, confidence);
  const levels = [...controls.confidence].sort((a, b) => a - b);
  const horizon = controls.horizon_days;

  return (
    <Panel
      title="Methods side by side"
      testId="panel-methods"
      wide
      actions={
        <>
          {rows.length ? (
            <Export
              name={fileName("methods", `book-${bookId}`, confidence, `${horizon}d`)}
              rows={rows}
              columns={METHOD_COLUMNS}
              json={reports}
              testId="export-methods"
              what="table (the JSON: each method's report)"
            />
          ) : null}
          <ConfidenceSelect id="methods-confidence" levels={levels} value={confidence} onChange={setConfidence} />
        </>
      }
    >
      {METHODS.map((m) =>
        runs[m].state.job ? (
          <JobProgress key={m} job={runs[m].state.job!} what={METHOD_LABELS[m]} onCancel={runs[m].cancel} />
        ) : null,
      )}
      {METHODS.map((m) =>
        runs[m].state.error ? <Failure key={m} message={`${METHOD_LABELS[m]}: ${runs[m].state.error}`} /> : null,
      )}
      {rows.length === 0 ? <Loading>Computing the book by each method…</Loading> : null}
      {rows.length ? (
        <div className="split">
          <MethodBars rows={rows} fmt={fmt} />
          <div className="table-wrap">
            <table className="table" data-testid="methods-table">
              <caption className="caption">
                {confidenceLabel(confidence)}, {horizon}-day; error bars ±2 standard errors where the method has them.
                {onCards
                  ? ` The ${METHOD_LABELS[onCards.method]} row is the report on the cards; the others are computed again at each live update.`
                  : ""}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col" className="num">
                    VaR
                  </th>
                  <th scope="col" className="num">
                    ES
                  </th>
                  <th scope="col" className="num">
                    VaR vs historical
                  </th>
                  <th scope="col">Model</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const p = reports[r.method]!.parameters as Record<string, unknown>;
                  const model =
                    r.method === "historical"
                      ? `${p.window}-day window${p.historical_weighting && p.historical_weighting !== "none" ? `, ${p.historical_weighting} weights` : ""}`
                      : r.method === "parametric"
                        ? `${p.distribution}, ${p.approximation}`
                        : `${p.distribution}, ${fmt.number(Number(p.n_scenarios))} paths`;
                  return (
                    <tr key={r.method} data-testid={`method-${r.method}`} data-var={r.valueAtRisk ?? ""}>
                      <th scope="row">{METHOD_LABELS[r.method]}</th>
                      <td className="num">
                        {fmt.money(r.valueAtRisk)}
                        {r.varError != null ? <span className="se block"> ± {fmt.money(r.varError)}</span> : null}
                      </td>
                      <td className="num">
                        {fmt.money(r.expectedShortfall)}
                        {r.esError != null ? <span className="se block"> ± {fmt.money(r.esError)}</span> : null}
                      </td>
                      <td className="num">{r.method === "historical" ? "" : fmt.move(r.varVsFirst, 1)}</td>
                      <td className="wrap">{model}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      ) : null}
    </Panel>
  );
}
