// VaR and ES of the book over time, from its stored risk history: the method's reports over a
// chosen range, its limits as they stood and the breaches; refreshed when a new report arrives.
import { useEffect, useState } from "react";
import { type ApiClient, isAbort, messageOf } from "../api/client";
import type { Method, StoredReport } from "../api/types";
import { HistoryChart } from "../charts/HistoryChart";
import { ConfidenceSelect } from "../components/ConfidenceSelect";
import { Export } from "../components/Export";
import { Empty, Failure, Loading, Panel } from "../components/Panel";
import { fileName } from "../lib/export";
import { confidenceLabel, type Formatters } from "../lib/format";
import {
  HISTORY_COLUMNS,
  historyConfidences,
  historyPath,
  historyRows,
  MAX_POINTS,
  RANGES,
  type RangeKey,
} from "../lib/history";
import { METHOD_LABELS } from "../lib/methods";

interface Loaded {
  path: string;
  reports: StoredReport[];
  truncated: boolean;
}

export function HistoryView({
  client,
  bookId,
  method: requested,
  fmt,
  refresh,
}: {
  client: ApiClient;
  bookId: number;
  method: Method;
  fmt: Formatters;
  /** Changes when a new report of the book was computed (a push, a request). */
  refresh: unknown;
}) {
  const [method, setMethod] = useState<Method>(requested);
  const [range, setRange] = useState<RangeKey>("all");
  const [confidence, setConfidence] = useState<number | null>(null);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [retry, setRetry] = useState(0);
  const path = historyPath(bookId, method, range);
  const key = `${bookId}|${method}|${range}`;

  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    client
      .getAll<StoredReport>(historyPath(bookId, method, range), MAX_POINTS, { signal: ctl.signal })
      .then(({ items, truncated }) => setLoaded({ path: key, reports: items, truncated }))
      .catch((e) => {
        if (!isAbort(e)) setError(messageOf(e));
      });
    return () => ctl.abort();
  }, [client, bookId, method, range, key, refresh, retry]);

  const reports = loaded?.path === key ? loaded.reports : null;
  const confidences = reports ? historyConfidences(reports) : [];
  const at = confidences.find((c) => confidence !== null && Math.abs(c - confidence) < 1e-9) ?? confidences.at(-1);
  const rows = reports && at !== undefined ? historyRows(reports, at) : [];
  const label = `${METHOD_LABELS[method]} VaR and ES${at !== undefined ? ` at ${confidenceLabel(at)}` : ""}`;

  const actions = (
    <>
      <span className="inline-field">
        <label htmlFor="history-method">method</label>
        <select
          id="history-method"
          data-testid="history-method"
          value={method}
          onChange={(e) => setMethod(e.target.value as Method)}
        >
          {(Object.keys(METHOD_LABELS) as Method[]).map((m) => (
            <option key={m} value={m}>
              {METHOD_LABELS[m]}
            </option>
          ))}
        </select>
      </span>
      <ConfidenceSelect
        id="history-confidence"
        testId="history-confidence"
        levels={confidences}
        value={at}
        onChange={setConfidence}
      />
      <span className="inline-field" role="group" aria-label="range" data-testid="history-range">
        {RANGES.map((r) => (
          <button
            key={r.key}
            type="button"
            className={r.key === range ? "chip active" : "chip"}
            aria-pressed={r.key === range}
            data-testid={`history-range-${r.key}`}
            onClick={() => setRange(r.key)}
          >
            {r.label}
          </button>
        ))}
      </span>
      {rows.length ? (
        <Export
          name={fileName("risk-history", `book-${bookId}`, method, at ?? "")}
          rows={rows}
          columns={HISTORY_COLUMNS}
          testId="export-history"
          what="series"
        />
      ) : null}
    </>
  );

  return (
    <Panel title="VaR and ES over time" testId="panel-history" actions={actions} wide>
      {error ? (
        <Failure message={`Could not read the risk history: ${error}`} onRetry={() => setRetry((n) => n + 1)} />
      ) : null}
      {!reports && !error ? <Loading>Reading the stored reports…</Loading> : null}
      {reports && rows.length === 0 ? (
        <Empty>
          No {METHOD_LABELS[method]} report of this book was stored{range === "all" ? "" : " in this range"}: every
          request and live update of a stored book adds one (the history keeps 260 business days, docs/api.md).
        </Empty>
      ) : null}
      {rows.length ? (
        <>
          <HistoryChart rows={rows} fmt={fmt} label={label} />
          <p className="caption" data-testid="history-caption" data-path={path}>
            {label}: {fmt.number(rows.length)} stored report{rows.length === 1 ? "" : "s"}
            {loaded?.truncated ? ` (the latest ${fmt.number(MAX_POINTS)}; choose a shorter range for the rest)` : ""},
            the book's limits as each report saw them, and the reports that breached one in red.
          </p>
        </>
      ) : null}
    </Panel>
  );
}
