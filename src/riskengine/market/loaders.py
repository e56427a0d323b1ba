"""Price history loaders: wide CSV (date, one column per symbol) or long CSV (date, symbol,
close). Format: docs/formats.md."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np

from riskengine.errors import PriceDataError
from riskengine.market.history import FactorHistory

# Closes outside this range are refused at load: none is real, and returns between them stay
# far from float64 overflow (docs/formats.md).
MIN_CLOSE = 1e-12
MAX_CLOSE = 1e12
_DATE_NAMES = ("date", "day", "timestamp")
_LONG_PRICE_NAMES = ("close", "price", "adj_close")


def _parse_date(raw: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise PriceDataError(
            f"{where}: date {raw!r} is not an ISO date; write dates as YYYY-MM-DD."
        ) from None


def _parse_price(raw: str, where: str, symbol: str, date: str) -> float:
    raw = raw.strip()
    if raw == "":
        return math.nan  # no close that day (e.g. before listing): allowed, flagged on use
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
        bad = True
    else:
        bad = not math.isfinite(value)
    if bad:
        raise PriceDataError(
            f"{where}: price of {symbol} on {date} is {raw!r}, not a number. "
            "Leave the cell empty for a day without a close, or fix the value."
        )
    if value <= 0:
        raise PriceDataError(
            f"{where}: price of {symbol} on {date} is {raw}, but prices must be > 0. "
            "Fix the value or leave the cell empty for a day without a close."
        )
    if not MIN_CLOSE <= value <= MAX_CLOSE:
        raise PriceDataError(
            f"{where}: price of {symbol} on {date} is {raw}, outside the accepted range "
            f"[{MIN_CLOSE:g}, {MAX_CLOSE:g}] (no real close is there, and returns from it would "
            "overflow). Fix the value, quote the instrument in another unit, or leave the cell "
            "empty for a day without a close."
        )
    return value


def load_prices(path: str | Path) -> FactorHistory:
    """Read daily closes from a wide or long CSV (detected from the header).

    Wide: ``date,AAPL,MSFT,...`` one row per date. Long: ``date,symbol,close`` one row per
    (date, symbol). Empty cells mean "no close that day"; non-numeric, NaN or non-positive
    values are errors naming the row, the symbol and the value.
    """
    p = Path(path)
    if not p.exists():
        raise PriceDataError(f"price file {str(p)!r} does not exist; check the path.")
    with p.open(newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise PriceDataError(f"{p.name}: the file is empty.") from None
        rows = list(reader)
    lower = [h.lower() for h in header]
    if not header or lower[0] not in _DATE_NAMES:
        raise PriceDataError(
            f"{p.name}: the first column is {header[0] if header else ''!r}; expected 'date' "
            "(wide: date,SYM1,SYM2,...; long: date,symbol,close). See docs/formats.md."
        )
    if len(lower) >= 3 and lower[1] == "symbol" and lower[2] in _LONG_PRICE_NAMES:
        return _long(p, rows)
    return _wide(p, header, rows)


def _wide(p: Path, header: list[str], rows: list[list[str]]) -> FactorHistory:
    symbols = header[1:]
    if not symbols:
        raise PriceDataError(f"{p.name}: no symbol columns after 'date'.")
    dupes = {s for s in symbols if symbols.count(s) > 1}
    if dupes:
        raise PriceDataError(f"{p.name}: symbol column(s) {sorted(dupes)} appear twice.")
    dates, data = [], []
    for n, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        where = f"{p.name}, line {n}"
        if len(row) != len(header):
            raise PriceDataError(
                f"{where}: {len(row)} fields, the header has {len(header)}; "
                "every row needs a date and one value (or an empty cell) per symbol."
            )
        d = _parse_date(row[0], where)
        dates.append(d)
        data.append(
            [_parse_price(v, where, s, row[0]) for s, v in zip(symbols, row[1:], strict=True)]
        )
    return _assemble(
        p, dates, symbols, np.array(data, dtype=float).reshape(len(dates), len(symbols))
    )


def _long(p: Path, rows: list[list[str]]) -> FactorHistory:
    triples = []
    for n, row in enumerate(rows, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        where = f"{p.name}, line {n}"
        if len(row) < 3:
            raise PriceDataError(f"{where}: expected date,symbol,close; got {row!r}.")
        d = _parse_date(row[0], where)
        sym = row[1].strip()
        if not sym:
            raise PriceDataError(f"{where}: the symbol is empty.")
        triples.append((d, sym, _parse_price(row[2], where, sym, row[0])))
    dates = sorted({t[0] for t in triples})
    symbols = sorted({t[1] for t in triples})
    di = {d: i for i, d in enumerate(dates)}
    si = {s: j for j, s in enumerate(symbols)}
    prices = np.full((len(dates), len(symbols)), np.nan)
    seen = set()
    for d, s, v in triples:
        if (d, s) in seen:
            raise PriceDataError(f"{p.name}: {s} has two closes on {d}; keep one row per day.")
        seen.add((d, s))
        prices[di[d], si[s]] = v
    return _assemble(p, dates, symbols, prices)


def _assemble(p: Path, dates, symbols, prices) -> FactorHistory:
    if not dates:
        raise PriceDataError(f"{p.name}: no price rows after the header.")
    arr = np.array(dates, dtype="datetime64[D]")
    if np.any(np.diff(arr) <= np.timedelta64(0, "D")):
        i = int(np.argmax(np.diff(arr) <= np.timedelta64(0, "D")))
        raise PriceDataError(
            f"{p.name}: dates must be strictly increasing; {dates[i + 1]} follows {dates[i]}. "
            "Sort the file by date and remove duplicate rows."
        )
    return FactorHistory(arr, tuple(symbols), prices)
