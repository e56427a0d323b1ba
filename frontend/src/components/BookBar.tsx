// Pick a book, or upload one from a file.
import { useRef, useState, type ChangeEvent } from "react";
import type { PortfolioItem } from "../api/types";

export function BookBar({
  books,
  selected,
  onSelect,
  onUpload,
}: {
  books: readonly PortfolioItem[];
  selected: number | null;
  onSelect: (id: number) => void;
  onUpload: (file: File) => Promise<void>;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    setBusy(true);
    try {
      await onUpload(file);
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };
  return (
    <div className="book-bar">
      <label htmlFor="book">Book</label>
      <select
        id="book"
        data-testid="book-select"
        value={selected ?? ""}
        disabled={books.length === 0}
        onChange={(e) => onSelect(Number(e.target.value))}
      >
        {books.length === 0 ? <option value="">no book stored</option> : null}
        {books.map((b) => (
          <option key={b.id} value={b.id}>
            {b.name} (#{b.id})
          </option>
        ))}
      </select>
      <span className="upload">
        <input
          ref={input}
          id="upload"
          className="sr-only"
          type="file"
          accept=".csv,.json,.txt,text/csv,application/json"
          data-testid="upload-input"
          onChange={upload}
          disabled={busy}
        />
        <label htmlFor="upload" className="button">
          {busy ? "Uploading…" : "Upload book…"}
        </label>
      </span>
    </div>
  );
}
