// FRTB: the internal-model capital of the book (docs/frtb.md): the capital and its IMCC mix,
// the stressed window on the search's time line, the liquidity-horizon cascade, the desk tests.
import { useEffect, useState, type FormEvent } from "react";
import type { ApiClient } from "../api/client";
import type { FrtbReport, FrtbRequest } from "../api/types";
import { AmountBars, CascadeChart, PlaChart, SearchChart } from "../charts/FrtbCharts";
import { Export } from "../components/Export";
import { JobProgress } from "../components/JobProgress";
import { Failure, Loading, Panel } from "../components/Panel";
import { fieldColumns, fileName } from "../lib/export";
import { useSubmit } from "../hooks/useSubmit";
import { confidenceLabel, type Formatters } from "../lib/format";
import {
  bucketScales,
  capitalBars,
  cascadeRows,
  deskRows,
  FRTB_SETS,
  imccBars,
  PLA_THRESHOLDS,
  plaPoints,
  searchPoints,
  stressedSpan,
  type CascadeRow,
} from "../lib/frtb";

interface Form {
  reducedSet: string;
  stressedStart: string;
}

function request(bookId: number, form: Form): FrtbRequest {
  const body: FrtbRequest = { portfolio_id: bookId };
  const reduced = form.reducedSet.split(/[\s,]+/).filter(Boolean);
  if (reduced.length) body.reduced_set = reduced;
  if (form.stressedStart) body.stressed_window = form.stressedStart;
  return body;
}

export function FrtbView({ client, bookId, fmt }: { client: ApiClient; bookId: number; fmt: Formatters }) {
  const { state, run, cancel } = useSubmit<FrtbReport>(client);
  const [form, setForm] = useState<Form>({ reducedSet: "", stressedStart: "" });
  const [applied, setApplied] = useState<Form>(form);

  useEffect(() => {
    run("/api/v1/frtb", request(bookId, applied));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [applied, bookId]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied({ ...form });
  };
  const r = state.data && state.data.portfolio.id === bookId ? state.data : null;

  return (
    <>
      <Panel
        title="FRTB internal-model capital"
        testId="panel-frtb"
        wide
        actions={
          r ? (
            <Export
              name={fileName(r.portfolio.name, "frtb", r.as_of)}
              json={r}
              testId="export-frtb"
              what="whole FRTB report"
            />
          ) : null
        }
      >
        <form className="controls" onSubmit={submit} aria-label="FRTB request">
          <div className="field">
            <label htmlFor="frtb-reduced">Reduced set</label>
            <input
              id="frtb-reduced"
              type="text"
              placeholder="default: factors with the whole history"
              value={form.reducedSet}
              onChange={(e) => setForm({ ...form, reducedSet: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor="frtb-stressed">Stressed window from</label>
            <input
              id="frtb-stressed"
              type="date"
              value={form.stressedStart}
              onChange={(e) => setForm({ ...form, stressedStart: e.target.value })}
            />
          </div>
          <button type="submit" data-testid="frtb-run">
            Compute capital
          </button>
        </form>
        {state.job ? <JobProgress job={state.job} what="FRTB capital" onCancel={cancel} /> : null}
        {state.error ? <Failure message={state.error} onRetry={() => setApplied({ ...applied })} /> : null}
        {!r && state.status === "loading" && !state.job ? (
          <Loading>Searching the stressed window and computing the capital…</Loading>
        ) : null}
        {r ? <Capital report={r} fmt={fmt} /> : null}
      </Panel>
      {r ? (
        <>
          <Panel title="Stressed window" testId="panel-frtb-stressed" wide>
            <SearchChart points={searchPoints(r)} span={stressedSpan(r)} fmt={fmt} />
            <p className="caption" data-testid="frtb-stressed">
              Stressed window <strong>{r.stressed_window.start}</strong> to <strong>{r.stressed_window.end}</strong> (
              {r.stressed_window.searched ? "the largest reduced-set ES of every 12-month window" : "given"}): ES R,S{" "}
              {fmt.money(r.stressed_window.expected_shortfall)}. ES R,C / ES F,C today{" "}
              {fmt.percent(r.ratio.reduced_to_full, 1)}, average over {r.ratio.days} days{" "}
              {fmt.percent(r.ratio.average, 1)}
              {r.ratio.below_floor ? (
                <span className="zone red" data-testid="frtb-ratio-flag">
                  below 75%
                </span>
              ) : null}
              .
            </p>
          </Panel>
          <Panel
            title="Liquidity-horizon cascade"
            testId="panel-frtb-cascade"
            wide
            actions={
              <Export
                name={fileName(r.portfolio.name, "frtb-cascade", r.as_of)}
                rows={cascadeRows(r)}
                columns={fieldColumns<CascadeRow>(["bucket", "reduced_stressed", "full_current", "reduced_current"])}
                testId="export-frtb-cascade"
                what="cascade"
              />
            }
          >
            <CascadeChart rows={cascadeRows(r)} fmt={fmt} />
            <Cascade report={r} fmt={fmt} />
          </Panel>
          <Panel title="Desk tests (250 days)" testId="panel-frtb-desk" wide>
            <Desk report={r} fmt={fmt} />
          </Panel>
          <Panel title="Risk factors" testId="panel-frtb-factors" wide>
            <Factors report={r} />
          </Panel>
        </>
      ) : null}
    </>
  );
}

function Capital({ report: r, fmt }: { report: FrtbReport; fmt: Formatters }) {
  const c = r.capital;
  return (
    <>
      <dl className="frtb-capital" data-testid="frtb-capital" data-charge={c.charge} data-binding={c.binding}>
        <div>
          <dt>Capital charge</dt>
          <dd className="big">{fmt.money(c.charge)}</dd>
        </div>
        <div>
          <dt>IMCC today</dt>
          <dd>{fmt.money(c.imcc_last)}</dd>
        </div>
        <div>
          <dt>
            m<sub>c</sub> × average IMCC ({r.imcc.days} d)
          </dt>
          <dd>
            {c.multiplier.toFixed(2)} × {fmt.money(c.average_imcc)}
          </dd>
        </div>
        <div>
          <dt>99% VaR exceptions (250 d)</dt>
          <dd data-testid="frtb-exceptions">
            {c.exceptions_99} → add-on {c.addon.toFixed(2)}
          </dd>
        </div>
      </dl>
      <p className="caption">
        Capital = max(IMCC today, m<sub>c</sub> × the average IMCC): the {c.binding === "last" ? "first" : "second"}{" "}
        binds. IMCC = {r.imcc.rho} × IMCC(C) + {1 - r.imcc.rho} × Σ IMCC(Cᵢ).
      </p>
      <div className="grid">
        <AmountBars rows={capitalBars(r)} fmt={fmt} testId="chart-frtb-capital" />
        <AmountBars rows={imccBars(r)} fmt={fmt} testId="chart-frtb-imcc" />
      </div>
    </>
  );
}

function Cascade({ report: r, fmt }: { report: FrtbReport; fmt: Formatters }) {
  const rows = cascadeRows(r);
  const scales = bucketScales(r);
  return (
    <div className="table-wrap">
      <table className="table" data-testid="frtb-cascade-table">
        <thead>
          <tr>
            <th scope="col">Bucket</th>
            <th scope="col" className="num">
              weight
            </th>
            {FRTB_SETS.map((s) => (
              <th scope="col" className="num" key={s.key}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, j) => (
            <tr key={row.bucket} className={j === rows.length - 1 ? "total" : undefined}>
              <th scope="row">{row.bucket}</th>
              <td className="num">{j < scales.length ? scales[j].toFixed(3) : ""}</td>
              {FRTB_SETS.map((s) => (
                <td className="num" key={s.key}>
                  {fmt.money(row[s.key])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="caption">
        ES = √(ES<sub>T</sub>(P)² + Σ (ES<sub>T</sub>(P, j) × weight<sub>j</sub>)²): bucket j shocks the factors with a
        liquidity horizon of at least LH<sub>j</sub> and holds the others (MAR33.4).
      </p>
    </div>
  );
}

function Desk({ report: r, fmt }: { report: FrtbReport; fmt: Formatters }) {
  const rows = deskRows(r);
  const pla = r.desk_tests.pla;
  const bt = r.desk_tests.backtest;
  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="frtb-desk-table">
          <thead>
            <tr>
              <th scope="col">Test</th>
              <th scope="col" className="num">
                Value
              </th>
              <th scope="col">Zone</th>
              <th scope="col">Rule</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.confidence} data-testid={`frtb-backtest-${row.confidence}`} data-exceptions={row.exceptions}>
                <th scope="row">Backtest {confidenceLabel(Number(row.confidence))} VaR</th>
                <td className={`num ${row.breached ? "loss" : ""}`}>
                  {row.exceptions}
                  {row.actual !== null ? ` (actual ${row.actual})` : ""} exceptions
                </td>
                <td>
                  {row.breached ? <span className="zone red">breach</span> : <span className="zone green">ok</span>}
                </td>
                <td>at most {row.limit}</td>
              </tr>
            ))}
            <tr data-testid="frtb-pla-spearman" data-value={pla.spearman ?? ""}>
              <th scope="row">PLA Spearman</th>
              <td className="num">{pla.spearman == null ? "–" : pla.spearman.toFixed(4)}</td>
              <td rowSpan={2}>
                <span className={`zone ${pla.zone}`} data-testid="frtb-pla-zone">
                  {pla.zone}
                </span>
              </td>
              <td>
                green &gt; {PLA_THRESHOLDS.spearman.green}, red &lt; {PLA_THRESHOLDS.spearman.red}
              </td>
            </tr>
            <tr data-testid="frtb-pla-ks" data-value={pla.ks}>
              <th scope="row">PLA Kolmogorov–Smirnov</th>
              <td className="num">{pla.ks.toFixed(4)}</td>
              <td>
                green &lt; {PLA_THRESHOLDS.ks.green}, red &gt; {PLA_THRESHOLDS.ks.red}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
      <p className="caption">
        Desk backtest: {bt.zone === "pass" ? "passes" : "fails"}; exceptions counted on {r.desk_tests.pnl} P&amp;L.
        P&amp;L attribution: hypothetical P&amp;L against the risk model's ({pla.model}) on the same days.
      </p>
      <PlaChart points={plaPoints(r)} fmt={fmt} />
    </>
  );
}

function Factors({ report: r }: { report: FrtbReport }) {
  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="frtb-factors">
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Risk class</th>
              <th scope="col" className="num">
                Liquidity horizon
              </th>
              <th scope="col">Reduced set</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {r.factors.map((f) => (
              <tr key={f.factor}>
                <th scope="row">{f.factor}</th>
                <td>{f.risk_class}</td>
                <td className="num">{f.liquidity_horizon} d</td>
                <td>{f.reduced ? "yes" : "no"}</td>
                <td>{f.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details className="notes">
        <summary>Out of scope and notes</summary>
        <ul>
          {[...r.out_of_scope, ...r.notes].map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      </details>
    </>
  );
}
