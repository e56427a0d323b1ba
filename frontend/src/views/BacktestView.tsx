// Backtest: the book's VaR against its hypothetical P&L over time, exceptions marked, and the tests.
import { useEffect, useState, type FormEvent } from "react";
import type { ApiClient } from "../api/client";
import { METHODS, type BacktestReport, type BacktestRequest, type Method, type Symbols } from "../api/types";
import { BacktestChart } from "../charts/BacktestChart";
import { Export } from "../components/Export";
import { JobProgress } from "../components/JobProgress";
import { Empty, Failure, Loading, Panel } from "../components/Panel";
import { useFetch } from "../hooks/useFetch";
import { useSubmit } from "../hooks/useSubmit";
import {
  backtestRows,
  exceptionKey,
  exceptionMarkers,
  statisticsRows,
  varKey,
  type BacktestRow,
  type StatisticsRow,
} from "../lib/backtest";
import { fieldColumns, fileName, type Column } from "../lib/export";
import { confidenceLabel, pValue, type Formatters } from "../lib/format";
import { METHOD_LABELS } from "../lib/methods";
import { CONFIDENCE_CHOICES, type Controls } from "../lib/request";

/** A year of days before ``last`` (ISO dates; the traffic light needs 250 days). */
export function yearBefore(last: string): string {
  const [y, m, d] = last.split("-").map(Number);
  const t = new Date(Date.UTC(y - 1, m - 1, d));
  return t.toISOString().slice(0, 10);
}

interface Form {
  methods: Method[];
  confidence: number;
  start: string;
}

const STAT_COLUMNS = fieldColumns<StatisticsRow>([
  "method", "nObs", "exceptions", "expected", "kupiec", "christoffersen", "conditionalCoverage",
  "zone", "zoneExceptions", "z2", "z2PValue",
]); // prettier-ignore

function seriesColumns(report: BacktestReport): Column<BacktestRow>[] {
  const cols: Column<BacktestRow>[] = [
    { name: "date", value: (r) => r.date },
    { name: "pnl", value: (r) => r.pnl },
  ];
  for (const m of report.methods) {
    cols.push({
      name: `value_at_risk_${m.method}`,
      value: (r) => (r[varKey(m.method)] == null ? null : -Number(r[varKey(m.method)])),
    });
    cols.push({ name: `exception_${m.method}`, value: (r) => r[exceptionKey(m.method)] != null });
  }
  return cols;
}

export function BacktestView({
  client,
  bookId,
  controls,
  fmt,
}: {
  client: ApiClient;
  bookId: number;
  controls: Controls;
  fmt: Formatters;
}) {
  const symbols = useFetch<Symbols>(client, "/api/v1/market/symbols");
  const { state, run, cancel } = useSubmit<BacktestReport>(client);
  const [form, setForm] = useState<Form | null>(null);
  const [applied, setApplied] = useState<Form | null>(null);

  useEffect(() => {
    if (!symbols.data || form) return;
    const first: Form = {
      methods: controls.method === "historical" ? ["historical", "parametric"] : ["historical", controls.method],
      confidence: Math.max(...controls.confidence),
      start: yearBefore(symbols.data.last_closed_date),
    };
    setForm(first);
    setApplied(first);
  }, [symbols.data, form, controls]);

  useEffect(() => {
    if (!applied) return;
    const body: BacktestRequest = {
      portfolio_id: bookId,
      methods: applied.methods,
      confidence: [applied.confidence],
      start: applied.start,
    };
    if (applied.methods.includes("montecarlo")) {
      body.n_scenarios = Math.min(controls.n_scenarios, 5000);
      if (controls.seed !== null) body.seed = controls.seed;
    }
    run("/api/v1/backtest", body);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [applied, bookId]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (form && form.methods.length) setApplied({ ...form });
  };
  const report = state.data;
  const at = applied?.confidence ?? 0.99;
  const stats = report ? statisticsRows(report, at) : [];
  const markers = report ? exceptionMarkers(report, at) : [];

  return (
    <Panel
      title="Backtest"
      testId="panel-backtest"
      wide
      actions={
        report ? (
          <>
            <Export
              name={fileName("backtest", report.start, report.end, at, "series")}
              rows={backtestRows(report, at)}
              columns={seriesColumns(report)}
              testId="export-backtest-series"
              what="daily series"
            />
            <Export
              name={fileName("backtest", report.start, report.end, at, "tests")}
              rows={stats}
              columns={STAT_COLUMNS}
              json={report}
              testId="export-backtest"
              what="tests (the JSON: the whole backtest)"
            />
          </>
        ) : null
      }
    >
      {symbols.error ? <Failure message={symbols.error} /> : null}
      {form ? (
        <form className="controls" onSubmit={submit} aria-label="Backtest request">
          <fieldset className="field confidences">
            <legend>Methods</legend>
            {METHODS.map((m) => (
              <span className="check" key={m}>
                <input
                  id={`bt-${m}`}
                  type="checkbox"
                  checked={form.methods.includes(m)}
                  onChange={() =>
                    setForm({
                      ...form,
                      methods: form.methods.includes(m)
                        ? form.methods.filter((x) => x !== m)
                        : METHODS.filter((x) => x === m || form.methods.includes(x)),
                    })
                  }
                />
                <label htmlFor={`bt-${m}`}>{METHOD_LABELS[m]}</label>
              </span>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor="bt-confidence">Confidence</label>
            <select
              id="bt-confidence"
              value={form.confidence}
              onChange={(e) => setForm({ ...form, confidence: Number(e.target.value) })}
            >
              {CONFIDENCE_CHOICES.map((c) => (
                <option key={c} value={c}>
                  {confidenceLabel(c)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="bt-start">From</label>
            <input
              id="bt-start"
              type="date"
              value={form.start}
              max={symbols.data?.last_closed_date}
              onChange={(e) => setForm({ ...form, start: e.target.value })}
            />
          </div>
          <button type="submit" data-testid="backtest-run" disabled={form.methods.length === 0}>
            Run backtest
          </button>
        </form>
      ) : null}
      {state.job ? <JobProgress job={state.job} what="Backtest" onCancel={cancel} /> : null}
      {state.error ? <Failure message={state.error} onRetry={() => applied && setApplied({ ...applied })} /> : null}
      {!report && state.status === "loading" && !state.job ? (
        <Loading>Rolling the book's VaR through history…</Loading>
      ) : null}
      {!report && !form && !symbols.error ? <Loading>Reading the history's dates…</Loading> : null}
      {report ? (
        <>
          <BacktestChart rows={backtestRows(report, at)} methods={report.methods.map((m) => m.method)} fmt={fmt} />
          <p className="caption">
            {report.n_days} days, {report.start} to {report.end}: today's book held constant: its hypothetical P&L (not
            the P&L of the book held then) against the {confidenceLabel(at)} VaR forecast the day before. Markers are
            exceptions (loss beyond VaR): ◆ historical, △ parametric, □ Monte Carlo.
          </p>
          <div className="table-wrap">
            <table className="table" data-testid="backtest-table">
              <thead>
                <tr>
                  <th scope="col">Method</th>
                  <th scope="col" className="num">
                    Exceptions
                  </th>
                  <th scope="col" className="num">
                    Expected
                  </th>
                  <th scope="col" className="num">
                    Kupiec p
                  </th>
                  <th scope="col" className="num">
                    Christoffersen p
                  </th>
                  <th scope="col" className="num">
                    Cond. coverage p
                  </th>
                  <th scope="col">Traffic light (250 d)</th>
                </tr>
              </thead>
              <tbody>
                {stats.map((s) => (
                  <tr key={s.method} data-testid={`backtest-${s.method}`} data-exceptions={s.exceptions}>
                    <th scope="row">{METHOD_LABELS[s.method]}</th>
                    <td className="num">
                      {s.exceptions} / {s.nObs}
                    </td>
                    <td className="num">{fmt.number(s.expected, 1)}</td>
                    <td className={`num ${s.kupiec != null && s.kupiec < 0.05 ? "loss" : ""}`}>{pValue(s.kupiec)}</td>
                    <td className={`num ${s.christoffersen != null && s.christoffersen < 0.05 ? "loss" : ""}`}>
                      {pValue(s.christoffersen)}
                    </td>
                    <td
                      className={`num ${s.conditionalCoverage != null && s.conditionalCoverage < 0.05 ? "loss" : ""}`}
                    >
                      {pValue(s.conditionalCoverage)}
                    </td>
                    <td>
                      {s.zone ? (
                        <span className={`zone ${s.zone}`} data-testid={`zone-${s.method}`}>
                          {s.zone} ({s.zoneExceptions})
                        </span>
                      ) : (
                        "needs 250 days"
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {markers.length ? (
            <details className="exceptions">
              <summary data-testid="exceptions-summary">
                Exceptions by method:{" "}
                {report.methods
                  .map((m) => `${METHOD_LABELS[m.method]} ${markers.filter((x) => x.method === m.method).length}`)
                  .join(", ")}{" "}
                (a day counts once per method)
              </summary>
              <ul>
                {markers.map((x) => (
                  <li key={`${x.method}-${x.date}`}>
                    {x.date} {METHOD_LABELS[x.method]}: P&amp;L {fmt.signed(x.pnl)} against VaR{" "}
                    {fmt.money(x.valueAtRisk)}
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
        </>
      ) : null}
      {report === null && state.status === "done" ? <Empty>No days to backtest: choose an earlier start.</Empty> : null}
    </Panel>
  );
}
