// Stress: the library's named scenarios and the user's own, as bars; one scenario's positions.
import { useEffect, useRef, useState, type FormEvent } from "react";
import type { ApiClient } from "../api/client";
import type { StressReport, StressScenario } from "../api/types";
import { HorizontalBars } from "../charts/HorizontalBars";
import { JobProgress } from "../components/JobProgress";
import { Export } from "../components/Export";
import { Empty, Failure, Loading, Panel } from "../components/Panel";
import { fileName, type Column } from "../lib/export";
import { useFetch } from "../hooks/useFetch";
import { useSubmit } from "../hooks/useSubmit";
import type { Formatters } from "../lib/format";
import { parseShocks, positionBars, scenarioBars, scenarioName, type ScenarioBar } from "../lib/stress";
import { tone } from "./BookView";

interface Custom {
  name: string;
  type: "hypothetical";
  shocks: string[];
  /** run it although a shock reaches no position of the book (the server warns) */
  keep: boolean;
}

const STRESS_COLUMNS: Column<ScenarioBar>[] = [
  { name: "scenario", value: (b) => b.name },
  { name: "type", value: (b) => b.type },
  { name: "definition", value: (b) => b.definition },
  { name: "pnl", value: (b) => b.pnl },
  { name: "share_of_value", value: (b) => b.share },
];

export function StressView({
  client,
  bookId,
  fmt,
  prices = 0,
}: {
  client: ApiClient;
  bookId: number;
  fmt: Formatters;
  /** Changes at each price push: the scenarios run again at the new prices (the server
   * values the book at the latest prices, as the cards). */
  prices?: number;
}) {
  const library = useFetch<StressScenario[]>(client, "/api/v1/stress/scenarios");
  const { state, run, cancel } = useSubmit<StressReport>(client);
  const [custom, setCustom] = useState<Custom[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [shocks, setShocks] = useState("");
  const [formError, setFormError] = useState<string | null>(null);
  const [keepIdle, setKeepIdle] = useState(false);
  const added = useRef<string | null>(null);

  const names = library.data?.map((s) => s.name) ?? null;
  const keep = custom.some((c) => c.keep);
  const key = JSON.stringify([bookId, names, custom, prices]);
  useEffect(() => {
    if (names === null) return;
    const adding = added.current;
    const body = {
      portfolio_id: bookId,
      scenarios: names,
      custom: custom.map(({ name, type, shocks }) => ({ name, type, shocks })),
      keep_idle_shocks: keep,
    };
    run("/api/v1/stress", body).then((outcome) => {
      // a scenario the server refuses is taken out again, its error shown by the form
      if (outcome && "error" in outcome && adding !== null) {
        setFormError(`${adding}: ${outcome.error}`);
        setCustom((c) => c.filter((x) => x.name !== adding));
        setSelected(null);
      }
      if (added.current === adding) added.current = null;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const report = state.data;
  const bars = report ? scenarioBars(report) : [];
  const chosen =
    report?.scenarios.find((s) => s.scenario === selected) ??
    report?.scenarios.find((s) => s.scenario === bars[0]?.name);

  const add = (e: FormEvent) => {
    e.preventDefault();
    const list = parseShocks(shocks);
    if (list.length === 0) {
      setFormError("type at least one shock, e.g. *=-10% or sector=tech:-20%");
      return;
    }
    const n = scenarioName(name || list.join(" "));
    if (names?.includes(n)) {
      setFormError(`${n}: the library has a scenario of that name; give yours another name.`);
      return;
    }
    if (custom.some((x) => x.name === n)) {
      setFormError(`${n}: you already ran a scenario of that name; give this one another name.`);
      return;
    }
    setFormError(null);
    setCustom((c) => [...c, { name: n, type: "hypothetical", shocks: list, keep: keepIdle }]);
    added.current = n;
    setSelected(n);
  };

  return (
    <div className="grid">
      <Panel
        title="Stress scenarios"
        testId="panel-stress"
        actions={
          report ? (
            <Export
              name={fileName(report.portfolio.name, "stress", report.as_of)}
              rows={bars}
              columns={STRESS_COLUMNS}
              json={report}
              testId="export-stress"
              what="scenarios"
            />
          ) : null
        }
      >
        {library.error ? <Failure message={library.error} /> : null}
        {state.job ? <JobProgress job={state.job} what="Stress" onCancel={cancel} /> : null}
        {state.error && !formError ? <Failure message={state.error} onRetry={() => setCustom((c) => [...c])} /> : null}
        {!report && state.status === "loading" ? <Loading>Revaluing the book under every scenario…</Loading> : null}
        {report ? (
          <>
            <HorizontalBars
              rows={bars.map((b) => ({ key: b.name, label: b.name, value: b.pnl }))}
              fmt={fmt}
              testId="chart-stress"
              selectedKey={chosen?.scenario}
              onSelect={setSelected}
            />
            <p className="caption" data-testid="stress-book-value" data-value={report.portfolio.market_value}>
              Shares of the book&rsquo;s value {fmt.money(report.portfolio.market_value)}, at the latest prices (as the
              cards); run again at every price update.
            </p>
            <div className="table-wrap">
              <table className="table" data-testid="stress-table">
                <caption className="sr-only">Scenario P&amp;L; choose one to see its positions</caption>
                <thead>
                  <tr>
                    <th scope="col">Scenario</th>
                    <th scope="col">What</th>
                    <th scope="col" className="num">
                      P&amp;L
                    </th>
                    <th scope="col" className="num">
                      of value
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {bars.map((b) => (
                    <tr key={b.name} className={b.name === chosen?.scenario ? "selected" : undefined}>
                      <th scope="row">
                        <button
                          type="button"
                          className="link"
                          aria-pressed={b.name === chosen?.scenario}
                          onClick={() => setSelected(b.name)}
                        >
                          {b.name}
                        </button>
                      </th>
                      <td className="wrap" title={b.description}>
                        {b.definition}
                      </td>
                      <td className={`num ${tone(b.pnl)}`}>{fmt.signed(b.pnl)}</td>
                      <td className={`num ${tone(b.share)}`}>{fmt.move(b.share, 1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {report.skipped.length ? (
              <p className="caption">Skipped: {report.skipped.map((s) => `${s.scenario} (${s.reason})`).join("; ")}</p>
            ) : null}
          </>
        ) : null}
        <form className="custom-scenario" onSubmit={add} aria-label="Custom scenario">
          <h3>Your scenario</h3>
          <div className="field">
            <label htmlFor="custom-name">Name</label>
            <input
              id="custom-name"
              data-testid="custom-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="tech-crash"
            />
          </div>
          <div className="field grow">
            <label htmlFor="custom-shocks">Shocks</label>
            <input
              id="custom-shocks"
              data-testid="custom-shocks"
              value={shocks}
              onChange={(e) => setShocks(e.target.value)}
              placeholder="sector=tech:-30%, *=-10%, vol:*=+12"
              aria-describedby="shocks-help"
            />
          </div>
          <span className="check">
            <input
              id="custom-keep"
              type="checkbox"
              data-testid="custom-keep"
              checked={keepIdle}
              onChange={(e) => setKeepIdle(e.target.checked)}
            />
            <label htmlFor="custom-keep">keep shocks that reach no position</label>
          </span>
          <button type="submit" data-testid="custom-add">
            Run
          </button>
          <p id="shocks-help" className="caption">
            Relative moves by symbol, tag or <code>*</code>, volatility in points (<code>vol:AAPL=+5</code>);
            docs/stress.md.
          </p>
          {formError ? (
            <p className="field-error" role="alert" data-testid="custom-error">
              {formError}
            </p>
          ) : null}
        </form>
      </Panel>
      <Panel title={chosen ? `Positions under ${chosen.scenario}` : "Positions"} testId="panel-stress-positions">
        {chosen ? (
          <>
            {chosen.warnings?.length ? (
              <p className="warning" role="alert" data-testid="stress-warnings">
                {chosen.warnings.join(" ")}
              </p>
            ) : null}
            <HorizontalBars
              rows={positionBars(chosen).map((p) => ({ key: p.id, label: p.id, value: p.pnl }))}
              fmt={fmt}
              testId="chart-stress-positions"
              labelWidth={110}
            />
            <div className="table-wrap">
              <table className="table" data-testid="stress-positions-table">
                <thead>
                  <tr>
                    <th scope="col">Position</th>
                    <th scope="col">Symbol</th>
                    <th scope="col" className="num">
                      Shock
                    </th>
                    <th scope="col" className="num">
                      Vol
                    </th>
                    <th scope="col" className="num">
                      P&amp;L
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {positionBars(chosen).map((p) => (
                    <tr key={p.id}>
                      <th scope="row">{p.id}</th>
                      <td>{p.symbol}</td>
                      <td className="num">{fmt.move(p.shock, 1)}</td>
                      <td className="num">{p.volShift ? `${p.volShift > 0 ? "+" : ""}${p.volShift} pts` : ""}</td>
                      <td className={`num ${tone(p.pnl)}`}>{fmt.signed(p.pnl)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <ul className="report-notes" data-testid="stress-notes">
              {chosen.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          </>
        ) : (
          <Empty>{report ? "Choose a scenario to see its positions." : "Waiting for the scenarios."}</Empty>
        )}
      </Panel>
    </div>
  );
}
