"""Load a book of positions from CSV or JSON (format: docs/formats.md).

A CSV with just ``symbol,quantity`` is a valid book of stocks. Errors name the file, the row,
the field, the value and the way out.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Literal, NoReturn, cast

from riskengine.errors import PortfolioFormatError
from riskengine.inputfile import csv_rows, iso_date, number, parse_json, read_text, show
from riskengine.instruments.types import (
    INSTRUMENT_TYPES,
    OPTION_BOUNDS,
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    Instrument,
    Portfolio,
    Position,
)

KNOWN_FIELDS = (
    "id",
    "symbol",
    "quantity",
    "instrument_type",
    "currency",
    "tags",
    "underlying",
    "strike",
    "expiry",
    "option_type",
    "implied_vol",
    "rate",
    "dividend_yield",
    "multiplier",
    "exercise",
    "underlying_type",
)


def _scalar(value) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _text(key: str, value, source: str, number: int) -> str:
    """A field as text: JSON numbers and strings as written, tags also as an object or list."""
    if value is None:
        return ""
    if key == "tags" and isinstance(value, dict) and all(map(_scalar, value.values())):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if key == "tags" and isinstance(value, list) and all(isinstance(t, str) for t in value):
        return ";".join(value)
    if isinstance(value, bool | dict | list):
        kind = "a boolean" if isinstance(value, bool) else "an object or a list"
        raise PortfolioFormatError(
            f"{source}, position {number}: field {key!r} = {show(value)} has the wrong type "
            f"({kind}); give a number or a string (tags may also be an object of key: value "
            "with text or number values)."
        )
    return str(value).strip()


class _Row:
    """One record of the book with helpers that raise errors naming where it came from."""

    def __init__(self, source: str, number: int, record: dict):
        self.source = source
        self.number = number
        self.record: dict[str, str] = {}
        for k, v in record.items():
            if k is None:  # a CSV row with more fields than the header
                raise PortfolioFormatError(
                    f"{source}, position {number}: more fields than header columns "
                    f"({show(v)}); quote values that contain commas."
                )
            key = str(k).strip().lower()
            if key == "":
                raise PortfolioFormatError(
                    f"{source}: a column has no name; name it or remove it (a trailing comma "
                    "in the header makes one)."
                )
            if key not in KNOWN_FIELDS:
                raise PortfolioFormatError(
                    f"{source}: unknown column {show(str(k))}. Known columns: "
                    f"{', '.join(KNOWN_FIELDS)} (see docs/formats.md)."
                )
            if key in self.record:
                raise PortfolioFormatError(
                    f"{source}, position {number}: field {key!r} is given twice (as "
                    f"{show(str(k))} and another spelling); keep one."
                )
            self.record[key] = _text(key, v, source, number)

    def fail(self, field: str, value, problem: str, fix: str) -> NoReturn:
        raise PortfolioFormatError(
            f"{self.source}, position {self.number}: field {field!r} = {show(value)} "
            f"{problem}. {fix}"
        )

    def text(self, field: str, default: str | None = None) -> str:
        value = self.record.get(field, "")
        if value == "":
            if default is None:
                self.fail(field, value, "is missing", f"Add a {field!r} value for this position.")
            return default
        return value

    def number_field(self, field: str, default: float | None = None, *, positive=False) -> float:
        raw = self.record.get(field, "")
        if raw == "":
            if default is None:
                self.fail(field, raw, "is missing", f"Add a numeric {field!r} for this position.")
            return default
        value = number(raw)
        if value is None:
            self.fail(field, raw, "is not a number", f"Write {field!r} as a decimal, e.g. 0.25.")
        if not math.isfinite(value):
            self.fail(field, raw, "is not finite", f"Give a finite {field!r}.")
        if positive and value <= 0:
            self.fail(field, raw, "must be > 0", f"Give a positive {field!r}.")
        bounds = OPTION_BOUNDS.get(field)
        if bounds is not None and not bounds.low <= value <= bounds.high:
            self.fail(field, raw, f"is outside {bounds.interval}", bounds.fix)
        return value


def _parse_tags(row: _Row) -> tuple[tuple[str, str], ...]:
    raw = row.record.get("tags", "")
    if not raw:
        return ()
    tags = []
    for part in raw.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            row.fail(
                "tags", raw, "is not key=value;key=value", "Write tags like sector=tech;book=A."
            )
        key, value = part.split("=", 1)
        tags.append((key.strip(), value.strip()))
    return tuple(tags)


def _parse_option(row: _Row, currency: str) -> EuropeanOption:
    exercise = row.text("exercise", "european").lower()
    if exercise != "european":
        row.fail(
            "exercise",
            exercise,
            "is not supported: riskengine prices European options only",
            "Remove the position or describe it as a European option (exercise=european).",
        )
    underlying = row.text("underlying")
    option_type = row.text("option_type").lower()
    if option_type not in ("call", "put"):
        row.fail("option_type", option_type, "is not 'call' or 'put'", "Use call or put.")
    expiry_raw = row.text("expiry")
    expiry = iso_date(expiry_raw)
    if expiry is None:
        row.fail(
            "expiry", expiry_raw, "is not an ISO date", "Write it as YYYY-MM-DD, e.g. 2023-03-17."
        )
    underlying_type = row.text("underlying_type", "spot").lower()
    if underlying_type not in ("spot", "future"):
        row.fail(
            "underlying_type",
            underlying_type,
            "is not 'spot' or 'future'",
            "Use spot (Black-Scholes-Merton) or future (Black-76).",
        )
    return EuropeanOption(
        underlying=underlying,
        strike=row.number_field("strike", positive=True),
        expiry=expiry,
        # both checked above: row.fail raises for any other value
        option_type=cast(Literal["call", "put"], option_type),
        implied_vol=row.number_field("implied_vol", positive=True),
        rate=row.number_field("rate", 0.0),
        dividend_yield=row.number_field("dividend_yield", 0.0),
        underlying_type=cast(Literal["spot", "future"], underlying_type),
        currency=currency,
        symbol=row.record.get("symbol", ""),
    )


def position_from_record(record: dict, number: int, source: str = "portfolio") -> Position:
    """Build one Position from a mapping of the book's fields (CSV row or JSON object)."""
    row = _Row(source, number, record)
    kind = row.text("instrument_type", "equity").lower()
    if kind not in INSTRUMENT_TYPES:
        row.fail(
            "instrument_type",
            kind,
            "is not a known instrument type",
            f"Use one of: {', '.join(INSTRUMENT_TYPES)}.",
        )
    quantity = row.number_field("quantity")
    multiplier = row.number_field("multiplier", 1.0, positive=True)
    currency = row.text("currency", "USD").upper()
    instrument: Instrument
    if kind == "option":
        instrument = _parse_option(row, currency)
    else:
        symbol = row.text("symbol")
        if kind == "equity":
            instrument = Equity(symbol, currency)
        elif kind == "future":
            instrument = Future(symbol, currency)
        else:
            if len(symbol) != 6 or not symbol.isalpha():
                row.fail(
                    "symbol",
                    symbol,
                    "is not a 6-letter currency pair",
                    "Write FX pairs like EURUSD (USD per 1 EUR).",
                )
            instrument = FxSpot(symbol.upper())
    pid = row.record.get("id") or str(number)
    return Position(pid, instrument, quantity, multiplier, _parse_tags(row))


def load_portfolio(path: str | Path, name: str | None = None) -> Portfolio:
    """Read a book from a ``.csv`` or ``.json`` file.

    JSON is either a list of position objects or ``{"name": ..., "positions": [...]}`` with the
    same field names as the CSV columns.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if p.exists() and not p.is_dir() and suffix not in (".json", ".csv", ".txt"):
        raise PortfolioFormatError(
            f"portfolio file {p.name!r} has extension {suffix!r}; use .csv or .json."
        )
    text = read_text(p, "portfolio", PortfolioFormatError)
    records, doc_name = book_records(text, "json" if suffix == ".json" else "csv", p.name)
    return portfolio_from_records(records, name or doc_name or p.stem, p.name)


def book_records(text: str, fmt: str, source: str) -> tuple[list[dict], str | None]:
    """The position records of a book file's text (``fmt`` "csv" or "json") and the name the
    JSON gives, if any; PortfolioFormatError names ``source`` and the problem."""
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
        records = _csv_records(text, source)
    else:
        raise PortfolioFormatError(f"{source}: format {fmt!r} is not csv or json.")
    return records, name


def _csv_records(text: str, source: str) -> list[dict]:
    """The rows of a CSV book as dicts keyed by the header's cells (as written); a row with
    more fields than the header keeps the rest under the key None, one with fewer has None
    for the missing cells. Blank lines and rows of empty cells are skipped."""
    rows = [r for _, r in csv_rows(text, source, PortfolioFormatError) if r]
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
    positions = [position_from_record(r, i + 1, source) for i, r in enumerate(records)]
    return Portfolio(tuple(positions), name)
