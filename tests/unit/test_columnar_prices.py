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


# --- the NumPy reader (no pyarrow): the same history, or the row reader -----------------------
def numpy_and_rows(path: Path, monkeypatch):
    """(NumPy reader's result, row reader's result, whether the NumPy reader took it)."""
    monkeypatch.setattr(loaders, "USE_PYARROW", False)
    try:
        return both(path, monkeypatch)
    finally:
        monkeypatch.setattr(loaders, "USE_PYARROW", True)


PLAIN = BODY.replace("1e2", "100")


@pytest.mark.parametrize(
    ("text", "took"),
    [
        (PLAIN, True),
        (PLAIN.replace(",", "\t"), True),
        (PLAIN.replace("\n", "\r\n"), True),
        (PLAIN + "\n\n", True),
        ("\ufeff" + PLAIN, True),
        (PLAIN.replace("2024-01-03,,20.25", "2024-01-03,,"), True),  # a whole row empty
        (PLAIN.replace("10.5", "007.50"), True),  # leading zeros, a trailing zero
        (PLAIN.replace("10.5", ".5"), True),
        (PLAIN.replace("10.5", "5."), True),
        (PLAIN.replace("10.5", "123456789012.345"), True),  # 15 digits: exact
        (PLAIN.replace("10.5", "1234567890123.456"), False),  # 16 digits: the row reader
        (BODY, False),  # an exponent: the row reader reads it
        (PLAIN.replace("10.5", " 10.5"), False),  # a space
        (PLAIN.replace("10.5", "0"), False),  # not > 0: the row reader's error
        (PLAIN.replace("10.5", "1.2.3"), False),
        (PLAIN.replace("10.5", "."), False),
        (PLAIN.replace("10.5", "-1"), False),
        (PLAIN.replace("10.5", "10,5"), False),  # a field too many
        (PLAIN.replace("2024-01-03,,20.25", "2024-01-03,1"), False),  # a field missing
        (PLAIN.replace("2024-01-03", "2024-01-01"), False),  # out of order
        (PLAIN.replace("2024-01-03", "2024-02-30"), False),  # no such day
        (PLAIN.replace("2024-01-03", "2024-1-03"), False),  # not YYYY-MM-DD
        (PLAIN.replace("\n2024-01-03", "\n\n2024-01-03"), False),  # a blank line inside
        (PLAIN.replace("10.5", "1\r5"), False),  # a CR not before a LF
        (PLAIN.replace("10.5", "1" + "0" * 12 + "1"), False),  # over MAX_CLOSE
    ],
)
def test_the_numpy_reader_reads_as_the_row_reader(tmp_path, monkeypatch, text, took):
    path = tmp_path / "prices.csv"
    path.write_text(text, encoding="utf-8", newline="")
    fast, slow, taken = numpy_and_rows(path, monkeypatch)
    assert taken == took
    assert same(fast, slow), (fast, slow)


def test_the_numpy_reader_is_bit_for_bit_on_random_files(tmp_path, monkeypatch):
    """Random closes of 1 to 15 significant digits and 0 to 8 decimals, empty cells, CRLF
    or LF, more rows than one chunk holds: every close the same double as float(text)."""
    rng = np.random.default_rng(3)
    monkeypatch.setattr(loaders, "_CHUNK_BYTES", 4096)  # many chunks
    for trial in range(12):
        n_rows, n_cols = int(rng.integers(1, 400)), int(rng.integers(1, 30))
        days = np.datetime64("2001-01-01") + np.sort(
            rng.choice(8000, n_rows, replace=False)).astype("timedelta64[D]")  # fmt: skip
        lines = ["date," + ",".join(f"S{j}" for j in range(n_cols))]
        for d in days:
            cells = []
            for _ in range(n_cols):
                if rng.random() < 0.1:
                    cells.append("")
                    continue
                decimals = int(rng.integers(0, 9))
                digits = int(rng.integers(max(1, decimals), 16))
                m = int(rng.integers(1, 10**digits))
                text = str(m).rjust(decimals + 1, "0")
                cells.append(f"{text[:-decimals]}.{text[-decimals:]}" if decimals else text)
            lines.append(f"{d},{','.join(cells)}")
        end = "\r\n" if trial % 2 else "\n"
        path = tmp_path / f"random{trial}.csv"
        path.write_text(end.join(lines) + end, encoding="utf-8", newline="")
        fast, slow, taken = numpy_and_rows(path, monkeypatch)
        if isinstance(slow, str):  # a close under MIN_CLOSE: the row reader's error for both
            assert fast == slow and not taken
            continue
        assert taken and same(fast, slow)


def test_the_bundled_history_is_read_by_numpy_bit_for_bit(monkeypatch):
    fast, slow, took = numpy_and_rows(DATA, monkeypatch)
    assert took and same(fast, slow)
