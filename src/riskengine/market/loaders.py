"""Price history loaders: wide CSV (date, one column per symbol) or long CSV (date, symbol,
close in any order, usual aliases accepted). Format: docs/formats.md."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from riskengine.errors import PriceDataError
from riskengine.inputfile import csv_rows, decode, iso_date, number, read_bytes, show
from riskengine.market.history import FactorHistory

# Closes outside this range are refused at load: none is real, and returns between them stay
# far from float64 overflow (docs/formats.md).
MIN_CLOSE = 1e-12
MAX_CLOSE = 1e12
# Without ``today`` (library callers), no close may be dated after this day: a sanity bound
# that catches 9999-12-31 and other placeholders. With ``today`` the bound is today + 1 day.
LATEST_DATE = dt.date(2100, 12, 31)
FUTURE_MARGIN = dt.timedelta(days=1)

# Header names, compared after lower-casing and dropping spaces, '_', '-' and '.':
# "Adj Close", "adj_close" and "ADJ-CLOSE" are all "adjclose".
_DATE_NAMES = ("date", "day", "timestamp")
_SYMBOL_NAMES = ("symbol", "ticker")
# The close column of the long layout, in preference order: the adjusted close first (it
# has no jumps at splits and dividends), then the close, then a price.
_CLOSE_NAMES = ("adjclose", "adjustedclose", "close", "price")
LONG_LAYOUT = (
    "a long file has the columns date (or day, timestamp), symbol (or ticker) and close (or "
    "price, adj close), in any order"
)
WIDE_LAYOUT = "a wide file has a date column first, then one column per symbol (date,AAPL,MSFT)"


def header_key(cell: str) -> str:
    """A header cell as compared with the known names: ``"Adj Close"`` -> ``"adjclose"``."""
    return re.sub(r"[\s_.\-]+", "", cell.lower())


def _blank(row: list[str]) -> bool:
    return all(not c.strip() for c in row)


class _Dates:
    """Parses a date cell and refuses one after the latest accepted day."""

    def __init__(self, today: dt.date | None):
        if today is None:
            self.latest = LATEST_DATE
            self.why = f"{LATEST_DATE}, the latest date riskengine accepts"
        else:
            self.latest = today + FUTURE_MARGIN
            self.why = f"today ({today}) plus one day"

    def __call__(self, raw: str, where: str) -> dt.date:
        raw = raw.strip()
        d = iso_date(raw, datetime_ok=True)
        if d is None:
            raise PriceDataError(
                f"{where}: date {show(raw)} is not an ISO date; write dates as YYYY-MM-DD (an "
                "ISO date-time such as 2022-12-28T00:00:00Z is also read: its date as written)."
            )
        if d > self.latest:
            raise PriceDataError(
                f"{where}: date {_label(raw)} is after {self.why}: a close cannot be dated in the "
                "future. Fix the date or remove the row."
            )
        return d


def _label(symbol: str) -> str:
    """A symbol for a message, cut to 40 characters."""
    return symbol if len(symbol) <= 40 else symbol[:40] + "..."


def _parse_price(raw: str, where: str, symbol: str, date: dt.date, hint: str = "") -> float:
    raw = raw.strip()
    if raw == "":
        return math.nan  # no close that day (e.g. before listing): allowed, flagged on use
    value = number(raw)
    if value is None or not math.isfinite(value):
        extra = hint if value is None and re.search("[A-Za-z]", raw) else ""
        raise PriceDataError(
            f"{where}: price of {_label(symbol)} on {date} is {show(raw)}, not a number. "
            f"Leave the cell empty for a day without a close, or fix the value.{extra}"
        )
    if value <= 0:
        raise PriceDataError(
            f"{where}: price of {_label(symbol)} on {date} is {_label(raw)}, but prices must be "
            "> 0. Fix the value or leave the cell empty for a day without a close."
        )
    if not MIN_CLOSE <= value <= MAX_CLOSE:
        raise PriceDataError(
            f"{where}: price of {_label(symbol)} on {date} is {_label(raw)}, outside the accepted "
            f"range [{MIN_CLOSE:g}, {MAX_CLOSE:g}] (no real close is there, and returns from it "
            "would overflow). Fix the value, quote the instrument in another unit, or leave the "
            "cell empty for a day without a close."
        )
    return value


def _row_prices(cells: list[str], where: str, symbols, date: dt.date, hint: str) -> list[float]:
    """The closes of one wide row: a fast path for a row of plain in-range numbers, else
    ``_parse_price`` cell by cell (empty cells, and the error naming the bad one)."""
    joined = "".join(cells)
    if joined.isascii() and "_" not in joined:
        try:
            values = [float(v) for v in cells]
        except ValueError:
            pass
        else:
            if all(MIN_CLOSE <= v <= MAX_CLOSE for v in values):  # NaN and inf fail this
                return values
    return [_parse_price(v, where, s, date, hint) for s, v in zip(symbols, cells, strict=True)]


def load_prices(path: str | Path, *, today: dt.date | None = None) -> FactorHistory:
    """Read daily closes from a wide or long CSV (detected from the header), or from a Parquet
    file (``.parquet``, the same two layouts; ``riskengine[parquet]``).

    Wide: ``date,AAPL,MSFT,...`` one row per date. Long: the columns ``date``, ``symbol`` (or
    ``ticker``) and ``close`` (or ``price``, ``adj close``) in any order, one row per (date,
    symbol). Empty cells mean "no close that day"; non-numeric, NaN or non-positive values are
    errors naming the line, the symbol and the value. Encodings, dates and bounds:
    docs/formats.md.

    Args:
        path: the CSV file.
        today: the caller's today (the CLI passes the UTC date); a row dated after it plus
            one day is refused. When None, rows after ``LATEST_DATE`` (2100-12-31) are.

    Raises:
        PriceDataError: any problem with the file, naming the file, the line, the field, the
            value and the way out.
    """
    p = Path(path)
    if p.suffix.lower() == ".parquet":  # the wide or long layout, read through pandas
        from riskengine.market.frames import history_from_frame, read_parquet_frame

        what = f"price file {p.name}"
        return FactorHistory(*history_from_frame(read_parquet_frame(p, what), what=what))
    raw = read_bytes(p, "price", PriceDataError)
    fast = columnar_wide(p, raw, _Dates(today))
    if fast is not None:
        return fast
    text = decode(raw, p.name, PriceDataError)
    rows = [(n, r) for n, r in csv_rows(text, p.name, PriceDataError) if not _blank(r)]
    if not rows:
        raise PriceDataError(
            f"{p.name}: the file is empty; give a header (date,SYM1,SYM2,... or "
            "date,symbol,close) and one row per date."
        )
    (_, raw_header), rows = rows[0], rows[1:]
    header = [h.strip() for h in raw_header]
    keys = [header_key(h) for h in header]
    dates = _Dates(today)
    if any(k in _SYMBOL_NAMES for k in keys):
        return _long(p, header, keys, rows, dates)
    if keys[0] not in _DATE_NAMES:
        raise PriceDataError(
            f"{p.name}: the first column is {show(header[0])}; expected 'date' (or 'day', "
            f"'timestamp'): {WIDE_LAYOUT}; {LONG_LAYOUT}. See docs/formats.md."
        )
    close = next((h for h, k in zip(header[1:], keys[1:], strict=True) if k in _CLOSE_NAMES), None)
    if close is not None:
        raise PriceDataError(
            f"{p.name}: column {close!r} is a close column of the long layout, but the header "
            f"has no symbol column ('symbol' or 'ticker'): {LONG_LAYOUT}. Add the symbol column "
            "(date,symbol,close), or for the wide layout name each price column after its "
            "symbol (date,AAPL,MSFT)."
        )
    return _wide(p, header, rows, dates)


def _wide_header(raw_header: list[str]) -> bool:
    """The header of a wide file whose symbols pass every check of ``_wide`` (named, unique):
    then the columnar reader may read it."""
    header = [h.strip() for h in raw_header]
    keys = [header_key(h) for h in header]
    if len(header) < 2 or keys[0] not in _DATE_NAMES:
        return False
    if any(k in _SYMBOL_NAMES or k in _CLOSE_NAMES for k in keys[1:]):
        return False
    symbols = header[1:]
    return all(symbols) and len(set(symbols)) == len(symbols)


# The columnar reader (pyarrow's CSV reader, when installed) reads a wide file of plain
# numbers in one pass; anything it does not take exactly as the checks here want (quotes, a
# cell that is not a plain number, a date that is not YYYY-MM-DD, a bound crossed, dates out
# of order) sends the file to the row reader, which names the fault. Both give the same
# numbers: pyarrow and Python parse decimal text to the nearest double.
USE_COLUMNAR = True
# pyarrow's CSV reader when it is installed; False: the NumPy reader (tests, benchmarks)
USE_PYARROW = True
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def columnar_wide(p: Path, raw: bytes, dates: _Dates) -> FactorHistory | None:
    """The history of the wide CSV file ``raw`` read by columns, or None when it must be read
    by rows (pyarrow not installed, not the wide layout, or a byte or cell the row reader
    must judge)."""
    if not USE_COLUMNAR or p.suffix.lower() not in (".csv", ".txt", ""):
        return None
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # a UTF-8 byte-order mark
    end = raw.find(b"\n", start)
    if end < 0 or b'"' in raw or b"\x00" in raw:
        return None
    try:
        line = raw[start:end].decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
    except ImportError:  # the NumPy reader
        arrow = False
    else:
        arrow = USE_PYARROW
    if "\r" in line:  # lines ended by a bare CR: the row reader
        return None
    cells = next(iter(csv_rows(line, p.name, PriceDataError, limit=1)), (0, []))[1]
    if _blank(cells) or not _wide_header(cells):
        return None
    header = [h.strip() for h in cells]
    delimiter = "\t" if "\t" in line and "," not in line else ","
    if not arrow:
        read = _numpy_wide(raw, end + 1, len(header), delimiter)
        if read is None:
            return None
        return _checked(header, read[0], read[1], dates)
    names = [f"c{i}" for i in range(len(header))]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(raw).slice(end + 1)),
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 23),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, quote_char=False),
            convert_options=pcsv.ConvertOptions(
                column_types={"c0": pa.string(), **{c: pa.float64() for c in names[1:]}},
                null_values=[""],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        return None
    if table.num_rows == 0:
        return None
    days = table.column(0).to_pylist()
    by_symbol = np.empty((len(header) - 1, table.num_rows))  # a row per symbol: contiguous
    empty = 0
    for j, column in enumerate(table.columns[1:]):
        empty += column.null_count
        by_symbol[j] = column.to_numpy()  # NaN where the cell is empty (null)
    # NaN or inf written as text: the row reader names it
    if int(np.isnan(by_symbol).sum()) != empty:
        return None
    return _checked(header, days, np.ascontiguousarray(by_symbol.T), dates)


def _checked(header: list[str], days: list[str], prices: np.ndarray, dates: _Dates):
    """The history of a columnar read, or None when a date or a close needs the row reader
    (which names the line and the way out): ISO dates, strictly increasing, not after the
    latest accepted; finite closes within the bounds (NaN: an empty cell)."""
    if not days or not all(_ISO_DAY.match(d) for d in days):
        return None
    try:
        arr = np.array(days, dtype="datetime64[D]")
    except ValueError:
        return None
    if arr[-1] > np.datetime64(dates.latest, "D") or np.any(np.diff(arr) <= np.timedelta64(0)):
        return None
    if arr[0] < np.datetime64("0001-01-01"):  # year 0: no date the row reader takes
        return None
    if np.isinf(prices).any() or (prices < MIN_CLOSE).any() or (prices > MAX_CLOSE).any():
        return None
    return FactorHistory(arr, tuple(header[1:]), prices)


# Powers of ten exact in binary64 (10**22 is the largest): a decimal m / 10**k with m < 2**53
# and k <= 22 is then one correctly rounded division, the same double as float(text).
_POW10 = np.array([float(10**k) for k in range(23)])
_POW10_INT = np.array([10**k for k in range(16)], dtype=np.int64)
_MAX_DIGITS = 15  # mantissas below 10**15 < 2**53: exact in a double
_CHUNK_BYTES = 1 << 22  # rows are parsed in pieces of about this many bytes


def _numpy_wide(raw: bytes, body: int, n_cols: int, delimiter: str):
    """The dates (strings) and closes of a wide CSV's rows from byte ``body`` on, parsed with
    NumPy: plain decimals only (digits and one point; an empty cell is NaN); None for anything
    else (a sign, an exponent, spaces, quotes, a short row), which the row reader judges."""
    b = np.frombuffer(raw, dtype=np.uint8)[body:]
    while b.size and b[-1] in (10, 13):  # trailing line ends
        b = b[:-1]
    if b.size == 0:
        return None
    ends = np.flatnonzero(b == 10)
    ends = np.append(ends, b.size)  # each line's end (exclusive), the last one without \n
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    n_lines = ends.size
    days: list[str] = []
    prices = np.empty((n_lines, n_cols - 1))
    sep = ord(delimiter)
    per_chunk = max(1, int(_CHUNK_BYTES // max(1, b.size // n_lines)))
    for first in range(0, n_lines, per_chunk):
        last = min(first + per_chunk, n_lines)
        chunk = b[starts[first] : ends[last - 1]]
        got = _numpy_rows(chunk, last - first, n_cols, sep)
        if got is None:
            return None
        days.extend(got[0])
        prices[first:last] = got[1]
    return days, prices


def _numpy_rows(chunk: np.ndarray, n_lines: int, n_cols: int, sep: int):
    """``_numpy_wide`` of whole lines (without the last line end): (dates, closes) or None."""
    cr = chunk == 13
    if cr.any():  # CRLF line ends: a CR only right before a LF
        at = np.flatnonzero(cr)
        if at[-1] + 1 >= chunk.size or not (chunk[at + 1] == 10).all():
            return None
    is_sep = (chunk == sep) | (chunk == 10)
    if int(np.count_nonzero(is_sep)) != n_lines * n_cols - 1:
        return None  # a short or a long row (or a blank line)
    bounds = np.flatnonzero(is_sep)
    # cell c covers [cell_start[c], cell_end[c]); cell c is (line c // n_cols, column c % n_cols)
    cell_start = np.empty(n_lines * n_cols, dtype=np.int64)
    cell_start[0] = 0
    cell_start[1:] = bounds + 1
    cell_end = np.append(bounds, chunk.size)
    if not (chunk[cell_end[n_cols - 1 :: n_cols][:-1]] == 10).all():
        return None  # the line ends are not where n_cols cells end
    # the dates: the first cell of each line, YYYY-MM-DD (anything else: the row reader)
    first = cell_start[::n_cols]
    if not ((cell_end[::n_cols] - first) == 10).all():
        return None
    days = chunk[first[:, None] + np.arange(10)].view("S10").ravel()
    try:
        day_text = days.astype("U10").tolist()
    except UnicodeDecodeError:
        return None
    # the closes: every byte outside the date cells is a digit, a point, a separator or a CR
    in_date = np.zeros(chunk.size, dtype=bool)
    in_date[first[:, None] + np.arange(10)] = True
    digit = (chunk >= 48) & (chunk <= 57)
    dot = chunk == 46
    if not (digit | dot | is_sep | cr | in_date).all():
        return None
    digit &= ~in_date
    cell = np.cumsum(is_sep, dtype=np.int32)  # each byte's cell: the separators before it
    n_cells = n_lines * n_cols
    at = np.flatnonzero(digit)  # the digits, in order; each cell's digits are consecutive
    d_cell = cell[at]
    if at.size == 0:
        closes = np.full(n_cells, np.nan)
        return day_text, closes.reshape(n_lines, n_cols)[:, 1:]
    start = np.flatnonzero(np.diff(d_cell, prepend=-1))  # each non-empty cell's first digit
    count = np.diff(np.append(start, at.size))
    if count.max() > _MAX_DIGITS:
        return None
    owner = d_cell[start]  # the cell of each run of digits
    point_at = np.flatnonzero(dot)
    point_cell = cell[point_at]
    if point_cell.size and (np.diff(point_cell) == 0).any():
        return None  # two points in a cell
    point = np.full(n_cells, np.iinfo(np.int64).max)
    point[point_cell] = point_at
    has_digits = np.zeros(n_cells, dtype=bool)
    has_digits[owner] = True
    if (~has_digits[point_cell]).any():
        return None  # a point without a digit
    # the place of each digit: the digits after it in its cell; past the point: a decimal
    rank = np.arange(at.size) - np.repeat(start, count)
    place = np.repeat(count, count) - rank - 1
    value = (chunk[at].astype(np.int64) - 48) * _POW10_INT[place]
    mantissa = np.add.reduceat(value, start)  # exact integers (< 10**15)
    decimals = np.add.reduceat((at > point[d_cell]).astype(np.int64), start)
    closes = np.full(n_cells, np.nan)  # an empty cell: no close that day
    closes[owner] = mantissa / _POW10[decimals]
    return day_text, closes.reshape(n_lines, n_cols)[:, 1:]


def _wide(p: Path, header: list[str], rows, dates: _Dates) -> FactorHistory:
    symbols = header[1:]
    if not symbols:
        raise PriceDataError(
            f"{p.name}: no symbol columns after {header[0]!r}; {WIDE_LAYOUT}; {LONG_LAYOUT}."
        )
    unnamed = [i for i, s in enumerate(symbols, start=2) if not s]
    if unnamed:
        raise PriceDataError(
            f"{p.name}: column {unnamed[0]} of the header has no name; name every column after "
            "its symbol (date,AAPL,MSFT), and remove a trailing comma."
        )
    dupes = {s for s, n in Counter(symbols).items() if n > 1}
    if dupes:
        raise PriceDataError(
            f"{p.name}: symbol column(s) {sorted(dupes)} appear twice; keep one of each."
        )
    hint = f" (The file was read as wide: {WIDE_LAYOUT}; {LONG_LAYOUT}.)"
    days: list[dt.date] = []
    data: list[list[float]] = []
    for n, row in rows:
        where = f"{p.name}, line {n}"
        if len(row) != len(header):
            raise PriceDataError(
                f"{where}: {len(row)} fields, the header has {len(header)}; "
                "every row needs a date and one value (or an empty cell) per symbol."
            )
        d = dates(row[0], where)
        if days and d <= days[-1]:
            raise PriceDataError(
                f"{where}: dates must be strictly increasing; {d} follows {days[-1]}. "
                "Sort the file by date and remove duplicate rows."
            )
        days.append(d)
        data.append(_row_prices(row[1:], where, symbols, d, hint))
    return _assemble(p, days, symbols, np.array(data, dtype=float).reshape(len(days), len(symbols)))


def _column(p: Path, header, keys, names: tuple[str, ...], what: str) -> int:
    """The index of the long layout's ``what`` column: the first of ``names`` present."""
    for name in names:
        found = [i for i, k in enumerate(keys) if k == name]
        if len(found) > 1:
            raise PriceDataError(
                f"{p.name}: the header has {len(found)} {what} columns "
                f"({', '.join(repr(header[i]) for i in found)}); keep one."
            )
        if found:
            return found[0]
    raise PriceDataError(
        f"{p.name}: the header {show(','.join(header))} has a symbol column, so it is read as "
        f"long, but it has no {what} column: {LONG_LAYOUT}. Rename the column, or see "
        "docs/formats.md."
    )


def _long(p: Path, header, keys, rows, dates: _Dates) -> FactorHistory:
    present = [n for n in _SYMBOL_NAMES if n in keys]
    if len(present) > 1:
        raise PriceDataError(
            f"{p.name}: the header has both a 'symbol' and a 'ticker' column; keep one."
        )
    di = _column(p, header, keys, _DATE_NAMES, "date")
    si = _column(p, header, keys, _SYMBOL_NAMES, "symbol")
    ci = _column(p, header, keys, _CLOSE_NAMES, "close")
    need = max(di, si, ci) + 1
    triples = []
    for n, row in rows:
        where = f"{p.name}, line {n}"
        if len(row) < need:
            raise PriceDataError(
                f"{where}: {len(row)} field(s), but the header's {header[di]!r}, "
                f"{header[si]!r} and {header[ci]!r} are fields {di + 1}, {si + 1} and "
                f"{ci + 1}; every row needs a date, a symbol and a close (or an empty cell)."
            )
        d = dates(row[di], where)
        sym = row[si].strip()
        if not sym:
            raise PriceDataError(f"{where}: the symbol is empty; give the row its symbol.")
        triples.append((d, sym, _parse_price(row[ci], where, sym, d), n))
    days = sorted({t[0] for t in triples})
    symbols = sorted({t[1] for t in triples})
    dix = {d: i for i, d in enumerate(days)}
    six = {s: j for j, s in enumerate(symbols)}
    prices = np.full((len(days), len(symbols)), np.nan)
    seen: dict[tuple, int] = {}
    for d, s, v, n in triples:
        if (d, s) in seen:
            raise PriceDataError(
                f"{p.name}, line {n}: {_label(s)} has two closes on {d} (the first on line "
                f"{seen[(d, s)]}); keep one row per day."
            )
        seen[(d, s)] = n
        prices[dix[d], six[s]] = v
    return _assemble(p, days, symbols, prices)


def _assemble(p: Path, dates, symbols, prices) -> FactorHistory:
    if not dates:
        raise PriceDataError(
            f"{p.name}: no price rows after the header; add one row per date (see docs/formats.md)."
        )
    arr = np.array(dates, dtype="datetime64[D]")
    if np.any(np.diff(arr) <= np.timedelta64(0, "D")):
        i = int(np.argmax(np.diff(arr) <= np.timedelta64(0, "D")))
        raise PriceDataError(
            f"{p.name}: dates must be strictly increasing; {dates[i + 1]} follows {dates[i]}. "
            "Sort the file by date and remove duplicate rows."
        )
    return FactorHistory(arr, tuple(symbols), prices)
