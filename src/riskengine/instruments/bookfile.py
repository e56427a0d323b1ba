"""Load a book of positions from CSV, JSON or Parquet (format: docs/formats.md).

A CSV with just ``symbol,quantity`` is a valid book of stocks. Errors name the file, the row,
the field, the value and the way out.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from riskengine.errors import PortfolioFormatError, TooLargeError
from riskengine.inputfile import csv_rows, parse_json, read_text, show
from riskengine.instruments.records import (
    KNOWN_FIELDS,
    position_from_record,
    positions_from_records,
)
from riskengine.instruments.types import Portfolio

# KNOWN_FIELDS and position_from_record live in instruments.records; re-exported here
__all__ = [
    "KNOWN_FIELDS",
    "book_records",
    "load_portfolio",
    "portfolio_from_records",
    "position_from_record",
]


def load_portfolio(path: str | Path, name: str | None = None) -> Portfolio:
    """Read a book from a ``.csv``, ``.json`` or ``.parquet`` file.

    JSON is either a list of position objects or ``{"name": ..., "positions": [...]}`` with the
    same field names as the CSV columns. Parquet (``riskengine[parquet]``) has the CSV's
    columns.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".parquet" and p.is_file():
        return _parquet_book(p, name)
    if p.exists() and not p.is_dir() and suffix not in (".json", ".csv", ".txt"):
        raise PortfolioFormatError(
            f"portfolio file {p.name!r} has extension {suffix!r}; use .csv, .json or .parquet."
        )
    text = read_text(p, "portfolio", PortfolioFormatError)
    records, doc_name = book_records(text, "json" if suffix == ".json" else "csv", p.name)
    return portfolio_from_records(records, name or doc_name or p.stem, p.name)


def book_records(
    text: str, fmt: str, source: str, *, max_records: int | None = None
) -> tuple[list[dict], str | None]:
    """The position records of a book file's text (``fmt`` "csv" or "json") and the name the
    JSON gives, if any; PortfolioFormatError names ``source`` and the problem. With
    ``max_records``, a book of more positions is refused (TooLargeError) as soon as a CSV's
    row ``max_records + 1`` is read (the rest is not parsed)."""
    name = None
    if fmt == "json":
        doc = parse_json(
            text, source, PortfolioFormatError, "See docs/formats.md for the book format."
        )
        if isinstance(doc, dict):
            name = doc.get("name") if isinstance(doc.get("name"), str) else None
            records = doc.get("positions")
        else:
            records = doc
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise PortfolioFormatError(
                f"{source}: expected a list of position objects or "
                '{"positions": [...]}; see docs/formats.md.'
            )
    elif fmt == "csv":
        records = _csv_records(text, source, None if max_records is None else max_records + 1)
    else:
        raise PortfolioFormatError(f"{source}: format {fmt!r} is not csv or json.")
    if max_records is not None and len(records) > max_records:
        raise TooLargeError(
            f"{source}: more than {max_records} positions, the server's limit; split the book "
            "or raise RISKENGINE_MAX_POSITIONS on the server."
        )
    return records, name


def _csv_records(text: str, source: str, limit: int | None = None) -> list[dict]:
    """The rows of a CSV book as dicts keyed by the header's cells (as written); a row with
    more fields than the header keeps the rest under the key None, one with fewer has None
    for the missing cells. Blank lines and rows of empty cells are skipped. With ``limit``,
    at most that many positions are read (the header aside)."""
    read = None if limit is None else limit + 1
    rows = [r for _, r in csv_rows(text, source, PortfolioFormatError, limit=read) if r]
    header = [h.strip() for h in rows[0]] if rows else []
    lower = [h.lower() for h in header]
    if "quantity" not in lower:
        raise PortfolioFormatError(
            f"{source}: the header has no 'quantity' column (found: "
            f"{show(', '.join(lower)) if lower else 'nothing'}). A minimal book is "
            "'symbol,quantity'."
        )
    dupes = sorted(h for h, n in Counter(lower).items() if h and n > 1)
    if dupes:
        raise PortfolioFormatError(
            f"{source}: column(s) {', '.join(map(repr, dupes))} appear twice in the header, "
            "so one of their values would be ignored; keep one of each."
        )
    records = []
    for row in rows[1:]:
        if all(not c.strip() for c in row):
            continue
        record: dict = dict(zip(rows[0], row, strict=False))
        if len(row) > len(header):
            record[None] = row[len(header) :]
        for key in rows[0][len(row) :]:
            record[key] = None
        records.append(record)
    return records


def portfolio_from_records(records: list[dict], name: str, source: str = "portfolio") -> Portfolio:
    """A Portfolio from position records (CSV rows or JSON objects); errors name ``source``,
    the position number, the field and the value."""
    if not records:
        raise PortfolioFormatError(f"{source}: the book has no positions.")
    return Portfolio(positions_from_records(records, source), name)


def _parquet_book(p: Path, name: str | None) -> Portfolio:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from riskengine.frames import PARQUET_HINT

        raise ImportError(PARQUET_HINT) from None
    from riskengine.instruments.frames import frame_records

    try:
        frame = pq.read_table(p).to_pandas()
    except (OSError, ValueError) as exc:
        raise PortfolioFormatError(f"cannot read the Parquet book {p.name}: {exc}.") from None
    return portfolio_from_records(frame_records(frame), name or p.stem, f"book file {p.name}")
