"""Every bad input file gets a clear refusal: an ``InputError`` naming the file, the line, the
field, the value and the way out, and on the command line exit status 2 with
``riskengine: error: ...``, never a traceback. Files a user commonly has (UTF-16 from Excel, a
byte-order mark, the usual long-layout headers, ISO date-times) are read."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest

from riskengine import (
    InputError,
    PortfolioFormatError,
    PriceDataError,
    load_portfolio,
    load_prices,
)
from riskengine.instruments import EuropeanOption
from riskengine.stress import load_scenarios
from support import ROOT

DATA = str(ROOT / "data" / "us_equities_daily.csv")
BOOK = str(ROOT / "examples" / "book.csv")
WIDE = "date,AAA,BBB\n2020-01-01,10,20\n2020-01-02,11,\n2020-01-03,12,21\n"
OPTION_HEAD = "symbol,quantity,instrument_type,underlying,strike,expiry,option_type,implied_vol"


def write(tmp_path, name, content: str | bytes):
    p = tmp_path / name
    if isinstance(content, str):
        p.write_text(content, encoding="utf-8")
    else:
        p.write_bytes(content)
    return p


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "riskengine", *args], capture_output=True, text=True, timeout=120
    )


def assert_refused(out, *needles):
    """Exit 2, one ``riskengine: error:`` line naming every needle, no traceback."""
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("riskengine: error: "), out.stderr
    for needle in needles:
        assert needle in out.stderr, (needle, out.stderr)
    assert out.stdout == ""


def same_history(a, b):
    assert a.symbols == b.symbols
    assert np.array_equal(a.dates, b.dates)
    assert np.array_equal(a.prices, b.prices, equal_nan=True)


# --- 1. encodings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,tabs",
    [("utf-8-sig", False), ("utf-16", False), ("utf-16", True), ("utf-16-be", False)],
)
def test_price_file_in_utf16_or_with_a_bom_is_read(tmp_path, encoding, tabs):
    text = WIDE.replace(",", "\t") if tabs else WIDE
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    same_history(
        load_prices(write(tmp_path, "p.csv", data)), load_prices(write(tmp_path, "u.csv", WIDE))
    )


def test_excel_unicode_text_book_is_read(tmp_path):
    # Excel's "Unicode Text": UTF-16 LE with a byte-order mark, tab-separated
    body = "symbol\tquantity\ttags\r\nAAA\t10\tdesk=Zürich\r\nBBB\t-5\t\r\n"
    book = load_portfolio(write(tmp_path, "b.txt", body.encode("utf-16")))
    assert [(p.symbol, p.quantity) for p in book.positions] == [("AAA", 10.0), ("BBB", -5.0)]
    assert book.positions[0].tags == (("desk", "Zürich"),)


def test_latin1_files_are_refused_naming_the_byte_the_line_and_utf8(tmp_path):
    prices = write(tmp_path, "p.csv", "date,AAA\n2020-01-01,10\n2020-01-02,11 €\n".encode("cp1252"))
    with pytest.raises(
        PriceDataError, match=r"p.csv: byte 0x80 at offset 37 \(line 3\) is not UTF-8"
    ):
        load_prices(prices)
    book = write(tmp_path, "b.csv", "symbol,quantity,tags\nAAA,1,desk=Zürich\n".encode("latin-1"))
    with pytest.raises(PortfolioFormatError, match=r"byte 0xFC at offset 33 \(line 2\).*UTF-8"):
        load_portfolio(book)
    assert_refused(
        cli("exposures", "--portfolio", str(book), "--prices", str(prices)),
        "b.csv",
        "line 2",
        "Save the file as UTF-8",
    )
    assert_refused(
        cli("exposures", "--portfolio", BOOK, "--prices", str(prices)),
        "p.csv",
        "line 3",
        "Save the file as UTF-8",
    )


def test_utf16_without_a_bom_or_a_binary_file_is_refused(tmp_path):
    with pytest.raises(PriceDataError, match=r"line 1: holds a NUL character.*UTF-8"):
        load_prices(write(tmp_path, "p.csv", WIDE.encode("utf-16-le")))
    with pytest.raises(PortfolioFormatError, match=r"NUL character"):
        load_portfolio(write(tmp_path, "b.csv", b"PK\x03\x04\x00\x00symbol,quantity\n"))
    with pytest.raises(PriceDataError, match=r"UTF-16 byte-order mark but is not valid UTF-16"):
        load_prices(write(tmp_path, "odd.csv", b"\xff\xfed\x00a\x00t"))


# --- 2. directories ----------------------------------------------------------------------


def test_a_directory_is_refused_naming_the_path(tmp_path):
    assert_refused(
        cli("risk", "--portfolio", BOOK, "--prices", str(tmp_path)),
        f"price file {str(tmp_path)!r} is a directory",
    )
    assert_refused(
        cli("exposures", "--portfolio", str(tmp_path), "--prices", DATA),
        f"portfolio file {str(tmp_path)!r} is a directory",
    )
    with pytest.raises(InputError, match="is a directory"):
        load_scenarios(tmp_path)


# --- 3. deep nesting ---------------------------------------------------------------------


def test_deeply_nested_json_is_refused(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    book = write(tmp_path, "b.json", deep)
    with pytest.raises(PortfolioFormatError, match="nested too deeply"):
        load_portfolio(book)
    with pytest.raises(InputError, match="nested too deeply"):
        load_scenarios(write(tmp_path, "s.json", '{"scenarios": ' + deep + "}"))
    assert_refused(cli("exposures", "--portfolio", str(book), "--prices", DATA), "b.json")


# --- 4. byte-order mark ------------------------------------------------------------------


def test_price_csv_with_a_byte_order_mark_is_read(tmp_path):
    p = write(tmp_path, "p.csv", "\ufeffDate,AAA,BBB\n2020-01-01,10,20\n2020-01-02,11,\n")
    assert load_prices(p).symbols == ("AAA", "BBB")
    long = write(tmp_path, "l.csv", "\ufeffdate,symbol,close\n2020-01-01,AAA,10\n")
    assert load_prices(long).symbols == ("AAA",)


# --- 5. the long layout's usual headers --------------------------------------------------


LONG_ROWS = [("2020-08-12", "AAPL", "113.0"), ("2020-08-12", "MSFT", "209.2"),
             ("2020-08-13", "AAPL", "115.0"), ("2020-08-13", "MSFT", "208.7")]  # fmt: skip


@pytest.mark.parametrize(
    "header",
    [
        "date,symbol,close",
        "date,ticker,close",
        "Date,Symbol,Adj Close",
        "date,ticker,price",
        "DATE,TICKER,ADJ_CLOSE",
        "Date,Ticker,Close",
        "timestamp,symbol,adj close",
        "Date,Symbol,Adjusted Close",
    ],
)
def test_long_files_with_the_usual_headers_are_read(tmp_path, header):
    body = header + "\n" + "\n".join(",".join(r) for r in LONG_ROWS) + "\n"
    h = load_prices(write(tmp_path, "l.csv", body))
    assert h.symbols == ("AAPL", "MSFT")
    assert h.prices.tolist() == [[113.0, 209.2], [115.0, 208.7]]


def test_long_columns_in_any_order_and_the_adjusted_close_wins(tmp_path):
    body = (
        "Ticker,Open,Close,Adj Close,Volume,Date\n"
        "AAPL,1,113,112.5,100,2020-08-12\n"
        "AAPL,1,115,114.5,100,2020-08-13\n"
    )
    h = load_prices(write(tmp_path, "l.csv", body))
    assert h.symbols == ("AAPL",) and h.prices[:, 0].tolist() == [112.5, 114.5]


NO_CLOSE = r"no close column: a long file has the columns date.*symbol \(or ticker\) and close"
NO_SYMBOL = r"column 'Close' is a close column of the long layout.*no symbol column"


@pytest.mark.parametrize(
    "header,match",
    [
        ("date,ticker,value", NO_CLOSE),
        ("Date,Open,High,Low,Close,Volume", NO_SYMBOL),
        ("sym,date,close", r"first column is 'sym'.*a long file has the columns date"),
    ],
)
def test_when_no_layout_fits_the_error_says_what_the_long_layout_needs(tmp_path, header, match):
    with pytest.raises(PriceDataError, match=match):
        load_prices(write(tmp_path, "l.csv", header + "\nAAPL,2020-08-12,1,1,1,1\n"))


def test_a_symbol_in_a_wide_value_hints_at_the_long_layout(tmp_path):
    with pytest.raises(PriceDataError, match=r"'AAPL', not a number.*read as wide.*long file"):
        load_prices(write(tmp_path, "l.csv", "date,name,close_px\n2020-08-12,AAPL,1\n"))


# --- 6. malformed JSON -------------------------------------------------------------------


def test_malformed_json_names_line_and_column(tmp_path):
    body = '[{"symbol": "AAA", "quantity": 1},\n {"symbol": "BBB" "quantity": 2}]'
    with pytest.raises(
        PortfolioFormatError,
        match=r"b.json: not valid JSON at line 2, column 19: Expecting ',' delimiter",
    ):
        load_portfolio(write(tmp_path, "b.json", body))
    with pytest.raises(InputError, match=r"not valid JSON at line 1, column 16"):
        load_scenarios(write(tmp_path, "s.json", '{"scenarios": [,]}'))
    with pytest.raises(PortfolioFormatError, match=r"key 'quantity' appears twice"):
        load_portfolio(write(tmp_path, "c.json", '[{"symbol": "A", "quantity": 1, "quantity": 2}]'))


# --- 7. loose values ---------------------------------------------------------------------


HUGE = "9" * 5000


@pytest.mark.parametrize(
    "body,match",
    [
        (
            '[{"symbol": "A", "quantity": true}]',
            r"'quantity' = True has the wrong type \(a boolean",
        ),
        ('[{"symbol": "A", "quantity": "1_000"}]', r"'quantity' = '1_000' is not a number"),
        ('[{"symbol": "A", "quantity": 1e400}]', r"'quantity' = 'inf' is not finite"),
        ('[{"symbol": "A", "quantity": ' + HUGE + "}]", r"'quantity' = 'inf' is not finite"),
        ('[{"symbol": "A", "quantity": NaN}]', r"'quantity' = 'nan' is not finite"),
        ('[{"symbol": "A", "quantity": 1, "tags": {"a": [1]}}]', r"'tags'.*wrong type"),
    ],
)
def test_json_numbers_are_strict(tmp_path, body, match):
    with pytest.raises(PortfolioFormatError, match=match):
        load_portfolio(write(tmp_path, "b.json", body))


@pytest.mark.parametrize(
    "raw",
    ["2020-01-03xyz", "20200103", "2020-W01-5", "2020-01-03T25:00", "2020-1-3", "2020-01-03 12"],
)
def test_price_dates_must_be_full_iso_dates(tmp_path, raw):
    with pytest.raises(PriceDataError, match=rf"line 3: date '{raw}' is not an ISO date"):
        load_prices(write(tmp_path, "p.csv", f"date,AAA\n2020-01-02,10\n{raw},11\n"))


def test_iso_datetimes_are_read_as_their_date(tmp_path):
    body = "date,AAA\n2022-12-27T00:00:00Z\t,1\n2022-12-28 16:00:00-05:00,2\n2022-12-29T00:00,3\n"
    h = load_prices(write(tmp_path, "p.csv", body.replace("\t", "")))
    assert [h.date_at(i) for i in range(3)] == [
        dt.date(2022, 12, 27),
        dt.date(2022, 12, 28),
        dt.date(2022, 12, 29),
    ]


def test_option_expiry_and_scenario_dates_must_be_full_iso_dates(tmp_path):
    with pytest.raises(PortfolioFormatError, match=r"'expiry' = '20300101' is not an ISO date"):
        load_portfolio(
            write(tmp_path, "b.csv", OPTION_HEAD + "\nX,1,option,AAA,10,20300101,call,0.2\n")
        )
    with pytest.raises(InputError, match=r"start '2008-09-12xyz' is not an ISO date"):
        load_scenarios(
            write(
                tmp_path,
                "s.json",
                '{"scenarios": [{"name": "a", "start": "2008-09-12xyz", "end": "2008-10-10"}]}',
            )
        )
    with pytest.raises(InputError, match=r"start 20080912 is not an ISO date"):
        load_scenarios(
            write(
                tmp_path,
                "t.json",
                '{"scenarios": [{"name": "a", "start": 20080912, "end": "2008-10-10"}]}',
            )
        )


def test_a_close_dated_in_the_future_is_refused(tmp_path):
    p = write(tmp_path, "p.csv", "date,AAA\n2020-01-02,10\n9999-12-31,11\n")
    with pytest.raises(PriceDataError, match=r"line 3: date 9999-12-31 is after 2100-12-31"):
        load_prices(p)
    q = write(tmp_path, "q.csv", "date,AAA\n2022-12-28,10\n2022-12-29,11\n2023-01-05,12\n")
    with pytest.raises(
        PriceDataError, match=r"line 4: date 2023-01-05 is after today \(2022-12-28\)"
    ):
        load_prices(q, today=dt.date(2022, 12, 28))
    assert load_prices(q, today=dt.date(2023, 1, 4)).last_date == dt.date(2023, 1, 5)  # +1 day
    future = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10)).isoformat()
    r = write(tmp_path, "r.csv", f"date,AAPL\n2020-01-02,10\n{future},11\n")
    assert_refused(
        cli("exposures", "--portfolio", BOOK, "--prices", str(r)),
        f"r.csv, line 3: date {future} is after today",
        "remove the row",
    )


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("implied_vol", "1e6", r"'implied_vol' = '1e6' is outside \(0, 10\].*0.25 means 25%"),
        ("implied_vol", "10.5", r"'implied_vol' = '10.5' is outside \(0, 10\]"),
        ("rate", "1e10", r"'rate' = '1e10' is outside \[-1, 1\].*0.04 means 4%"),
        ("rate", "-1.5", r"'rate' = '-1.5' is outside \[-1, 1\]"),
        ("dividend_yield", "2", r"'dividend_yield' = '2' is outside \[-1, 1\]"),
    ],
)
def test_option_parameters_are_bounded(tmp_path, field, value, match):
    head = OPTION_HEAD + ",rate,dividend_yield"
    cells = {"implied_vol": "0.2", "rate": "0.01", "dividend_yield": "0"} | {field: value}
    row = f"X,1,option,AAA,10,2030-01-01,call,{cells['implied_vol']},{cells['rate']},"
    row += cells["dividend_yield"]
    book = write(tmp_path, "b.csv", f"{head}\n{row}\n")
    with pytest.raises(PortfolioFormatError, match=r"b.csv, position 1: field " + match):
        load_portfolio(book)
    described = dict(underlying="AAA", strike=10.0, expiry=dt.date(2030, 1, 1), option_type="call")
    with pytest.raises(InputError, match=rf"{field} = .* is outside"):
        EuropeanOption(**(described | {"implied_vol": 0.2, field: float(value)}))
    if value == "1e6":  # one through the command line
        assert_refused(cli("exposures", "--portfolio", str(book), "--prices", DATA), field, value)


def test_book_header_duplicates_and_blank_rows(tmp_path):
    with pytest.raises(PortfolioFormatError, match=r"column\(s\) 'quantity' appear twice"):
        load_portfolio(write(tmp_path, "b.csv", "symbol,quantity,Quantity\nAAA,1,2\n"))
    book = load_portfolio(write(tmp_path, "c.csv", "symbol,quantity\nAAA,1\n,\n\nBBB,2\n"))
    assert [p.symbol for p in book.positions] == ["AAA", "BBB"]


def test_unclosed_quote_and_huge_field_name_the_line(tmp_path):
    with pytest.raises(PriceDataError, match=r"p.csv, line 3: not readable as CSV"):
        load_prices(write(tmp_path, "p.csv", 'date,AAA\n2020-01-01,10\n2020-01-02,"11\n'))
    with pytest.raises(PortfolioFormatError, match=r"line 2: not readable as CSV \(field larger"):
        load_portfolio(write(tmp_path, "b.csv", "symbol,quantity\n" + "A" * 200_000 + ",1\n"))
