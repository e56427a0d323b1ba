"""The columnar reader of wide price files (market/loaders.py ``columnar_wide``, pyarrow's CSV
reader) gives exactly what the row reader gives: the same dates, symbols and closes to the
last bit, on the bundled history and on files that exercise every check; a file it must not
judge (quotes, NaN written as text, a bound crossed, dates out of order, ...) goes to the row
reader, whose error is the same as without the columnar reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskengine.errors import PriceDataError
from riskengine.market import loaders
from riskengine.market.loaders import load_prices

pytest.importorskip("pyarrow")
DATA = Path(__file__).resolve().parents[2] / "data" / "us_equities_daily.csv"


def both(path: Path, monkeypatch):
    """(columnar result or error text, row-reader result or error text), and whether the
    columnar reader took the file."""
    took = []
    real = loaders.columnar_wide

    def spy(*args):
        out = real(*args)
        took.append(out is not None)
        return out

    monkeypatch.setattr(loaders, "columnar_wide", spy)
    fast = _load(path)
    monkeypatch.setattr(loaders, "USE_COLUMNAR", False)
    slow = _load(path)
    monkeypatch.setattr(loaders, "USE_COLUMNAR", True)
    return fast, slow, bool(took and took[0])


def _load(path):
    try:
        return load_prices(path)
    except PriceDataError as exc:
        return str(exc)


def same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (
        a.symbols == b.symbols
        and np.array_equal(a.dates, b.dates)
        and a.prices.tobytes() == b.prices.tobytes()  # bit for bit, NaN where empty
    )


def test_the_bundled_history_is_read_by_columns_bit_for_bit(monkeypatch):
    fast, slow, took = both(DATA, monkeypatch)
    assert took
    assert same(fast, slow)
    assert fast.prices.shape == (4026, 20)


BODY = "date,AAA,BBB\n2024-01-02,10.5,20\n2024-01-03,,20.25\n2024-01-04,11.125,1e2\n"


@pytest.mark.parametrize(
    ("text", "columnar"),
    [
        (BODY, True),
        (BODY.replace(",", "\t"), True),  # tab-separated
        (BODY.replace("\n", "\r\n"), True),  # CRLF
        (BODY + "\n\n", True),  # trailing blank lines
        ("\ufeff" + BODY, True),  # a UTF-8 byte-order mark
        (BODY.replace("10.5", '"10.5"'), False),  # quotes: the row reader
        (BODY.replace("10.5", "nan"), False),  # NaN as text: refused by the row reader
        (BODY.replace("10.5", "inf"), False),
        (BODY.replace("10.5", "-1"), False),  # not > 0
        (BODY.replace("10.5", "1e13"), False),  # over MAX_CLOSE
        (BODY.replace("10.5", "ten"), False),  # not a number
        (BODY.replace("10.5", " 10.5"), True),  # a space around a number: read by both
        (BODY.replace("2024-01-03", "2024-01-01"), False),  # out of order
        (BODY.replace("2024-01-03", "2024-01-02"), False),  # a date twice
        (BODY.replace("2024-01-03", "2024-02-30"), False),  # no such day
        (BODY.replace("2024-01-03", "2024-01-03T00:00:00Z"), False),  # a date-time: allowed
        (BODY.replace("2024-01-04", "2200-01-04"), False),  # after the latest date
        (BODY.replace("2024-01-03,,20.25", "2024-01-03,,"), True),  # a whole row empty
        (BODY.replace("2024-01-03,,20.25", "2024-01-03,1"), False),  # a field missing
        (BODY.replace("date,AAA,BBB", "date,AAA,AAA"), False),  # a symbol twice
        (BODY.replace("date,AAA,BBB", "date,symbol,close"), False),  # the long layout
        ("\n" + BODY, False),  # the header not on line 1
        ("date,AAA,BBB\n", False),  # no rows
        (BODY.replace("\n", "\r"), False),  # lines ended by a bare CR
        (BODY.replace("10.5", "1\x00"), False),  # a NUL byte
        (BODY.replace("2024-01-02", "0000-01-02"), False),  # year 0: not a date
    ],
)
def test_every_file_reads_as_the_row_reader_reads_it(tmp_path, monkeypatch, text, columnar):
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8", newline="")
    fast, slow, took = both(path, monkeypatch)
    assert took == columnar
    assert same(fast, slow), (fast, slow)
