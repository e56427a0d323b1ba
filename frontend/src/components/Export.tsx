// Export buttons: CSV of a table or of a chart's data, JSON of the same or of a whole report.
import { download, toCsv, type Column } from "../lib/export";

export function Export<T>({
  name,
  rows,
  columns,
  json,
  testId,
  what = "data",
}: {
  /** The file name without its extension. */
  name: string;
  rows?: readonly T[];
  columns?: readonly Column<T>[];
  /** What the JSON file holds (the rows themselves when not given). */
  json?: unknown;
  testId: string;
  what?: string;
}) {
  const csv = rows && columns;
  return (
    <span className="export" data-testid={testId}>
      {csv ? (
        <button
          type="button"
          className="link"
          data-testid={`${testId}-csv`}
          title={`Download the ${what} as CSV`}
          onClick={() => download(`${name}.csv`, toCsv(rows, columns), "text/csv")}
        >
          CSV
        </button>
      ) : null}
      {json !== undefined || rows ? (
        <button
          type="button"
          className="link"
          data-testid={`${testId}-json`}
          title={`Download the ${what} as JSON`}
          onClick={() => download(`${name}.json`, JSON.stringify(json ?? rows, null, 2) + "\n", "application/json")}
        >
          JSON
        </button>
      ) : null}
    </span>
  );
}
