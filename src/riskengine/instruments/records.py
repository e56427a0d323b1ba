"""Position records (the fields of a book file's row, docs/formats.md) to positions, with errors
naming the source, the position number, the field and the value."""

from __future__ import annotations

import math
from typing import Literal, NoReturn, cast

from riskengine.errors import PortfolioFormatError
from riskengine.inputfile import iso_date, number, show
from riskengine.instruments.kinds import (
    INSTRUMENT_TYPES,
    OPTION_BOUNDS,
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    Instrument,
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


def positions_from_records(records: list[dict], source: str = "portfolio") -> tuple[Position, ...]:
    """The positions of ``records`` (CSV rows, JSON objects or DataFrame rows), in order."""
    return tuple(position_from_record(r, i + 1, source) for i, r in enumerate(records))
