// Export: tables as CSV (RFC 4180), chart data as CSV or JSON, reports as JSON; downloaded by
// the browser from a Blob (nothing leaves the page but to the user's own disk).

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  /** The CSV header. */
  name: string;
  value: (row: T) => Cell;
}

function csvField(v: Cell): string {
  if (v == null) return "";
  // numbers in full precision (the API's own digits), never localised
  const s = typeof v === "number" ? (Number.isFinite(v) ? String(v) : "") : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** ``rows`` as CSV with a header line, CRLF line ends (RFC 4180). */
export function toCsv<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const lines = [columns.map((c) => csvField(c.name)).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvField(c.value(row))).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** A file name without characters a file system refuses. */
export function fileName(...parts: (string | number)[]): string {
  return parts
    .map((p) => String(p).replace(/[^A-Za-z0-9._-]+/g, "-"))
    .filter(Boolean)
    .join("-");
}

/** Let the browser save ``text`` as ``name``. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** One column per field, the field's name as the header (rows that are the API's own). */
export function fieldColumns<T extends object>(fields: readonly (keyof T & string)[]): Column<T>[] {
  return fields.map((f) => ({ name: f, value: (row: T) => row[f] as Cell }));
}
