// The dashboard: pick or upload a book, set the risk request, and read its VaR and ES, loss
// distribution, waterfall, limits, stress, backtest and methods side by side, live.
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiClient, messageOf, storedKey, storeKey } from "./api/client";
import type { PortfolioDetail, PortfolioItem, PortfolioOut, Valuation } from "./api/types";
import { BookBar } from "./components/BookBar";
import { Connection } from "./components/Connection";
import { Export } from "./components/Export";
import { Controls } from "./components/Controls";
import { JobProgress } from "./components/JobProgress";
import { KeyPrompt } from "./components/KeyPrompt";
import { Empty, Failure, Loading } from "./components/Panel";
import { ReportNotes, RiskCards } from "./components/RiskCards";
import { Tabs, type TabSpec } from "./components/Tabs";
import { useFetch } from "./hooks/useFetch";
import { useLive } from "./hooks/useLive";
import { useRisk } from "./hooks/useRisk";
import { confidenceLabel, makeFormatters } from "./lib/format";
import { DEFAULT_CONTROLS, type Controls as ControlValues } from "./lib/request";
import { BacktestView } from "./views/BacktestView";
import { BookView } from "./views/BookView";
import { FrtbView } from "./views/FrtbView";
import { HistoryView } from "./views/HistoryView";
import { MethodsView } from "./views/MethodsView";
import { DistributionPanel, exportName, LimitsPanel, WaterfallPanel } from "./views/RiskView";
import { StressView } from "./views/StressView";

type View = "risk" | "history" | "book" | "stress" | "backtest" | "methods" | "frtb";

function bookFromHash(): number | null {
  const m = /book=(\d+)/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

export function App() {
  const [key, setKey] = useState<string | null>(storedKey());
  const client = useMemo(() => new ApiClient(() => key), [key]);
  const { conn, status, prices, simulated } = useLive(client, key);

  const [booksVersion, setBooksVersion] = useState(0);
  const books = useFetch<PortfolioItem[]>(client, "/api/v1/portfolios", booksVersion);
  const [bookId, setBookId] = useState<number | null>(bookFromHash());
  const [notice, setNotice] = useState<string | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const list = books.data ?? [];
  // the chosen book, else the first (a book just uploaded is chosen before the list has it)
  const current = list.find((b) => b.id === bookId) ?? list[0] ?? null;
  useEffect(() => {
    if (current) history.replaceState(null, "", `#book=${current.id}`);
  }, [current]);

  const book = useFetch<PortfolioDetail>(client, current ? `/api/v1/portfolios/${current.id}` : null, booksVersion);
  const [controls, setControls] = useState<ControlValues>(DEFAULT_CONTROLS);
  const risk = useRisk(client, conn, current?.id ?? null, current ? controls : null);
  const valuation = useFetch<Valuation>(
    client,
    current ? `/api/v1/portfolios/${current.id}/valuation` : null,
    prices?.seq ?? 0,
  );
  const [view, setView] = useState<View>("risk");
  const [receivedAt, setReceivedAt] = useState<string>(new Date().toISOString());
  const report = risk.state.data && current && risk.state.data.portfolio.id === current.id ? risk.state.data : null;
  useEffect(() => {
    if (report) setReceivedAt(new Date().toISOString());
  }, [report]);

  // a new request in flight while the previous answer is still shown: marked stale
  const recomputing = risk.state.status === "loading" && report !== null;
  const currency = report?.base_currency ?? book.data?.base_currency ?? "USD";
  const fmt = useMemo(() => makeFormatters(currency), [currency]);

  const upload = useCallback(
    async (file: File) => {
      setUploadError(null);
      const form = new FormData();
      form.append("file", file);
      try {
        const created = await client.post<PortfolioOut>("/api/v1/portfolios/upload", form);
        setNotice(`Uploaded ${file.name} as “${created.name}” (${created.n_positions} positions).`);
        setBookId(created.id);
        setBooksVersion((v) => v + 1);
      } catch (e) {
        setUploadError(`${file.name}: ${messageOf(e)}`);
      }
    },
    [client],
  );

  const unauthorized = books.unauthorized || risk.state.unauthorized || status.reason === "the API key was refused";
  if (unauthorized) {
    return (
      <main className="page narrow">
        <KeyPrompt
          refused={key !== null}
          onKey={(k) => {
            storeKey(k);
            setKey(k);
          }}
        />
      </main>
    );
  }

  const breaches = risk.push.breaches;
  const tabs: TabSpec<View>[] = [
    { key: "risk", label: "Risk", badge: report && report.limits.some((l) => l.breached) ? "!" : null },
    { key: "history", label: "History" },
    { key: "book", label: "Book" },
    { key: "stress", label: "Stress" },
    { key: "backtest", label: "Backtest" },
    { key: "methods", label: "Methods" },
    { key: "frtb", label: "FRTB" },
  ];

  return (
    <div className="app">
      <header className="topbar">
        <h1>
          riskengine <span className="sub">market risk</span>
        </h1>
        <BookBar books={list} selected={current?.id ?? null} onSelect={setBookId} onUpload={upload} />
        <Connection status={status} pricesAsOf={prices?.as_of ?? null} simulated={simulated} />
      </header>
      <main className="page">
        {notice ? (
          <p className="notice" role="status" data-testid="notice">
            {notice}{" "}
            <button type="button" className="link" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </p>
        ) : null}
        {uploadError ? <Failure message={uploadError} /> : null}
        {books.error ? (
          <Failure message={`Could not list the books: ${books.error}`} onRetry={() => setBooksVersion((v) => v + 1)} />
        ) : null}
        {books.loading && !books.data ? <Loading>Listing the books…</Loading> : null}
        {books.data && list.length === 0 ? (
          <Empty>
            No book is stored yet. Upload a book file (CSV or JSON, docs/formats.md) with <strong>Upload book…</strong>{" "}
            above, or POST one to <code>/api/v1/portfolios</code>.
          </Empty>
        ) : null}
        {current ? (
          <>
            <Controls value={controls} onChange={setControls} busy={risk.state.status === "loading"} />
            {risk.state.job ? <JobProgress job={risk.state.job} what="Risk" onCancel={risk.cancel} /> : null}
            {risk.state.error ? (
              <Failure message={risk.state.error} onRetry={() => setControls({ ...controls })} />
            ) : null}
            {risk.push.error ? <Failure message={`Live update: ${risk.push.error}`} /> : null}
            {breaches.length ? (
              <div className="breaches" role="alert" data-testid="breaches">
                <strong>
                  {breaches.length} limit{breaches.length === 1 ? "" : "s"} breached:
                </strong>{" "}
                {breaches
                  .map(
                    (b) =>
                      `${b.measure === "value_at_risk" ? "VaR" : "ES"} ${confidenceLabel(b.confidence)} ${b.tag ?? "book"} ${fmt.money(b.value)} > ${fmt.money(b.limit)}`,
                  )
                  .join("; ")}
              </div>
            ) : null}
            {recomputing ? (
              <p className="notice stale-note" role="status" data-testid="recomputing">
                <span className="spinner" aria-hidden="true" /> Recomputing for the new request: the numbers below are
                the previous answer&rsquo;s.
              </p>
            ) : null}
            <div className={recomputing ? "report stale" : "report"} data-testid="report-area" data-stale={recomputing}>
              {report ? (
                <RiskCards
                  report={report}
                  fmt={fmt}
                  pricesAsOf={prices?.as_of ?? null}
                  receivedAt={receivedAt}
                  pushes={risk.push.count}
                />
              ) : !risk.state.error && !risk.state.job ? (
                <Loading>Computing VaR and ES of {current.name}…</Loading>
              ) : null}
              {report ? <ReportNotes report={report} /> : null}
              {report ? (
                <p className="caption">
                  <Export
                    name={exportName(report, "report")}
                    json={report}
                    testId="export-report"
                    what="whole report"
                  />{" "}
                  the whole report as the API answered it (docs/formats.md).
                </p>
              ) : null}
              {report?.excluded_positions.length ? (
                <p className="warning" role="note">
                  {report.excluded_positions.length} position(s) left out:{" "}
                  {report.excluded_positions.map((e) => `${e.id} (${e.reason})`).join("; ")}
                </p>
              ) : null}
              <Tabs tabs={tabs} active={view} onChange={setView} label="Views" />
              <div
                role="tabpanel"
                id={`view-${view}`}
                aria-labelledby={`tab-${view}`}
                className="view"
                data-testid={`view-${view}`}
              >
                {view === "risk" ? (
                  report ? (
                    <div className="grid" key={`${report.method}-${report.results.length}`}>
                      <div className="column">
                        <DistributionPanel report={report} fmt={fmt} />
                        <LimitsPanel report={report} fmt={fmt} breaches={breaches} />
                      </div>
                      <WaterfallPanel report={report} fmt={fmt} positions={book.data?.positions} />
                    </div>
                  ) : (
                    <Empty>The charts appear with the first report.</Empty>
                  )
                ) : null}
                {view === "history" ? (
                  <HistoryView
                    client={client}
                    bookId={current.id}
                    method={controls.method}
                    fmt={fmt}
                    refresh={receivedAt}
                  />
                ) : null}
                {view === "book" ? (
                  <BookView valuation={valuation.data} loading={valuation.loading} error={valuation.error} fmt={fmt} />
                ) : null}
                {view === "stress" ? (
                  <StressView client={client} bookId={current.id} fmt={fmt} prices={prices?.seq ?? 0} />
                ) : null}
                {view === "backtest" ? (
                  <BacktestView client={client} bookId={current.id} controls={controls} fmt={fmt} />
                ) : null}
                {view === "frtb" ? <FrtbView client={client} bookId={current.id} fmt={fmt} /> : null}
                {view === "methods" ? (
                  <MethodsView
                    client={client}
                    bookId={current.id}
                    controls={controls}
                    fmt={fmt}
                    live={recomputing ? null : report}
                    pushes={risk.push.count}
                  />
                ) : null}
              </div>
            </div>
          </>
        ) : null}
      </main>
      <footer className="footer">
        VaR and ES are positive loss amounts in the book's base currency ({fmt.currency}). API:{" "}
        <a href="api/v1/docs">/api/v1/docs</a>.
      </footer>
    </div>
  );
}
