"""Bad input: each gets a clear error naming the field, the value and the way out; a position
that cannot be priced is excluded and reported while the rest is computed."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine import (
    InputError,
    InsufficientHistoryError,
    NoPositionsError,
    PortfolioFormatError,
    PriceDataError,
    RiskEngineError,
    compute_risk,
    load_portfolio,
    load_prices,
)
from support import history_from_returns, stock_book


@pytest.fixture
def hist():
    rng = np.random.default_rng(0)
    return history_from_returns(rng.normal(0, 0.01, (300, 2)), symbols=("AAA", "BBB"))


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# --- price files -------------------------------------------------------------------------


def test_wide_and_long_price_files_load_the_same(tmp_path):
    wide = write(tmp_path, "w.csv", "date,AAA,BBB\n2020-01-01,10,20\n2020-01-02,11,\n")
    long = write(
        tmp_path,
        "l.csv",
        "date,symbol,close\n2020-01-02,AAA,11\n2020-01-01,BBB,20\n2020-01-01,AAA,10\n",
    )
    a, b = load_prices(wide), load_prices(long)
    assert a.symbols == b.symbols == ("AAA", "BBB")
    assert np.array_equal(a.prices, b.prices, equal_nan=True)
    assert np.isnan(a.prices[1, 1])  # an empty cell is "no close that day"


@pytest.mark.parametrize(
    "body,match",
    [
        ("date,AAA\n2020-01-01,10\n2020-01-02,-3\n", r"AAA on 2020-01-02 is -3.*must be > 0"),
        ("date,AAA\n2020-01-01,10\n2020-01-02,0\n", r"AAA on 2020-01-02 is 0"),
        ("date,AAA\n2020-01-01,NaN\n", r"AAA on 2020-01-01 is 'NaN', not a number"),
        ("date,AAA\n2020-01-01,ten\n", r"'ten', not a number"),
        ("date,AAA\n01/02/2020,10\n", r"line 2: date '01/02/2020' is not an ISO date"),
        ("date,AAA\n2020-01-02,10\n2020-01-01,11\n", r"strictly increasing"),
        ("date,AAA\n2020-01-02,10,3\n", r"line 2: 3 fields, the header has 2"),
        ("when,AAA\n2020-01-02,10\n", r"first column is 'when'; expected 'date'"),
        ("", r"empty"),
    ],
)
def test_bad_price_files_name_the_problem(tmp_path, body, match):
    with pytest.raises(PriceDataError, match=match):
        load_prices(write(tmp_path, "p.csv", body))


def test_missing_price_file():
    with pytest.raises(PriceDataError, match="does not exist"):
        load_prices("/nonexistent/prices.csv")


# --- books -------------------------------------------------------------------------------


def test_minimal_book_is_symbol_and_quantity(tmp_path):
    book = load_portfolio(write(tmp_path, "b.csv", "symbol,quantity\nAAA,10\nBBB,-5\n"))
    assert [(p.symbol, p.quantity) for p in book.positions] == [("AAA", 10.0), ("BBB", -5.0)]
    assert [p.id for p in book.positions] == ["1", "2"]


OPTION_HEAD = "symbol,quantity,instrument_type,underlying,strike,expiry,option_type,implied_vol"


@pytest.mark.parametrize(
    "body,match",
    [
        ("symbol\nAAA\n", r"no 'quantity' column"),
        ("symbol,quantity\nAAA,ten\n", r"position 1: field 'quantity' = 'ten' is not a number"),
        ("symbol,quantity\nAAA,\n", r"field 'quantity' = '' is missing"),
        (
            "symbol,quantity,instrument_type\nAAA,1,bond\n",
            r"'instrument_type' = 'bond' is not a known instrument type.*equity, fx, future",
        ),
        (
            OPTION_HEAD + ",exercise\nX,1,option,AAA,10,2021-01-01,call,0.2,american\n",
            r"'exercise' = 'american' is not supported: riskengine prices European options only",
        ),
        (OPTION_HEAD + "\nX,1,option,AAA,10,2021-13-01,call,0.2\n", r"'expiry' = '2021-13-01'"),
        (OPTION_HEAD + "\nX,1,option,AAA,10,2021-01-01,straddle,0.2\n", r"'option_type'"),
        (
            OPTION_HEAD + "\nX,1,option,AAA,10,2021-01-01,call,-0.2\n",
            r"'implied_vol' = '-0.2' must be > 0",
        ),
        (OPTION_HEAD + "\nX,1,option,,10,2021-01-01,call,0.2\n", r"'underlying' = '' is missing"),
        ("symbol,quantity,tags\nAAA,1,sector\n", r"'tags' = 'sector' is not key=value"),
        ("id,symbol,quantity\na,AAA,1\na,BBB,2\n", r"position id 'a' appears twice"),
        ("symbol,quantity\n", r"no positions"),
    ],
)
def test_bad_books_name_row_field_and_value(tmp_path, body, match):
    with pytest.raises(PortfolioFormatError, match=match):
        load_portfolio(write(tmp_path, "b.csv", body))


def test_bad_json_book(tmp_path):
    with pytest.raises(PortfolioFormatError, match="not valid JSON"):
        load_portfolio(write(tmp_path, "b.json", "{positions: ["))
    with pytest.raises(PortfolioFormatError, match="list of position objects"):
        load_portfolio(write(tmp_path, "b.json", '{"positions": 3}'))
    book = load_portfolio(
        write(tmp_path, "b.json", '{"name": "x", "positions": [{"symbol": "AAA", "quantity": 2}]}')
    )
    assert book.name == "x" and book.positions[0].quantity == 2.0


def test_unknown_extension(tmp_path):
    with pytest.raises(PortfolioFormatError, match="use .csv, .json or .parquet"):
        load_portfolio(write(tmp_path, "b.xlsx", ""))


# --- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(confidence=1.2), r"confidence must be strictly between 0 and 1.*1.2"),
        (dict(confidence=(0.99, 0.0)), r"confidence must be strictly between 0 and 1.*0.0"),
        (dict(horizon_days=0), r"horizon_days must be an integer >= 1; got 0"),
        (dict(window=-5), r"window must be an integer >= 1; got -5"),
        (dict(method="var-cov"), r"method 'var-cov' is not one of: historical, parametric"),
        (
            dict(method="montecarlo", distribution="cornish-fisher"),
            r"distribution \(montecarlo\) 'cornish-fisher' is not one of: normal, student-t",
        ),
        (dict(method="parametric", distribution="t"), r"is not one of: normal, student-t, corn"),
        (dict(method="parametric", distribution="student-t", df=2), r"df must be >= 2.5"),
        (dict(mean="ewma"), r"mean 'ewma' is not one of: zero, sample"),
        (dict(as_of="yesterday"), r"as_of 'yesterday' is not an ISO date"),
        (dict(method="montecarlo", seed=-1), r"seed must be a non-negative integer"),
    ],
)
def test_bad_parameters(hist, kw, match):
    with pytest.raises(InputError, match=match):
        compute_risk(stock_book({"AAA": 1}), hist, **({"window": 200} | kw))


def test_too_little_history(hist):
    with pytest.raises(InsufficientHistoryError, match=r"window of 400 .* needs 401 closes.*301"):
        compute_risk(stock_book({"AAA": 1}), hist, window=400)
    with pytest.raises(InputError, match=r"horizon_days \(250\) exceeds window \(200\)"):
        compute_risk(stock_book({"AAA": 1}), hist, window=200, horizon_days=250)
    with pytest.raises(InsufficientHistoryError, match="before the first date"):
        compute_risk(stock_book({"AAA": 1}), hist, window=200, as_of="1999-01-01")


# --- degraded reports --------------------------------------------------------------------


def test_unpriceable_positions_are_excluded_and_the_rest_computed(hist, tmp_path):
    body = (
        "id,symbol,quantity,instrument_type,currency,underlying,strike,expiry,option_type,"
        "implied_vol\n"
        "good,AAA,100,equity,USD,,,,,\n"
        "unknown,ZZZ,5,equity,USD,,,,,\n"
        "euro,BBB,5,equity,EUR,,,,,\n"
        "expired,AAA C,1,option,USD,AAA,100,2019-06-01,call,0.2\n"
    )
    book = load_portfolio(write(tmp_path, "b.csv", body))
    only_good = compute_risk(stock_book({"AAA": 100}), hist, window=250)
    rep = compute_risk(book, hist, window=250)
    reasons = {e["id"]: e["reason"] for e in rep.excluded_positions}
    assert set(reasons) == {"unknown", "euro", "expired"}
    assert "unknown symbol 'ZZZ'" in reasons["unknown"]
    assert "base currency is USD" in reasons["euro"]
    assert "expired" in reasons["expired"]
    assert rep.portfolio == {**rep.portfolio, "n_positions": 4, "n_included": 1}
    assert rep.measure(0.99).value_at_risk == only_good.measure(0.99).value_at_risk


def test_symbol_with_missing_closes_in_the_window_is_excluded(hist):
    prices = hist.prices.copy()
    prices[-10, 1] = np.nan
    h = type(hist)(hist.dates.copy(), hist.symbols, prices)
    rep = compute_risk(stock_book({"AAA": 1, "BBB": 2}), h, window=250)
    [exc] = rep.excluded_positions
    assert exc["symbol"] == "BBB" and "1 missing closes" in exc["reason"]
    # a window that ends before the gap uses BBB again
    ok = compute_risk(stock_book({"AAA": 1, "BBB": 2}), h, window=250, as_of=h.date_at(280))
    assert ok.excluded_positions == ()


def test_nothing_priceable_is_an_error(hist):
    with pytest.raises(NoPositionsError, match=r"no position .* could be priced.*ZZZ"):
        compute_risk(stock_book({"ZZZ": 1}), hist, window=250)


def test_every_error_is_a_riskengine_error():
    for cls in (
        InputError,
        InsufficientHistoryError,
        NoPositionsError,
        PortfolioFormatError,
        PriceDataError,
    ):
        assert issubclass(cls, RiskEngineError)


def test_unknown_book_column_is_an_error_not_silently_ignored(tmp_path):
    with pytest.raises(PortfolioFormatError, match=r"unknown column 'multipler'.*multiplier"):
        load_portfolio(write(tmp_path, "b.csv", "symbol,quantity,multipler\nAAA,1,100\n"))


def test_json_tags_as_object_or_list_and_wrong_types(tmp_path):
    book = load_portfolio(
        write(
            tmp_path,
            "b.json",
            (
                '[{"symbol": "AAA", "quantity": 1, "tags": {"sector": "tech", "book": "A"}},'
                ' {"symbol": "BBB", "quantity": 2, "tags": ["sector=bank"]}]'
            ),
        )
    )
    assert book.positions[0].tags == (("sector", "tech"), ("book", "A"))
    assert book.positions[1].tags == (("sector", "bank"),)
    with pytest.raises(PortfolioFormatError, match=r"'quantity' = True has the wrong type"):
        load_portfolio(write(tmp_path, "c.json", '[{"symbol": "AAA", "quantity": true}]'))


def test_unknown_parameter_and_lower_case_currency(hist):
    with pytest.raises(InputError, match=r"unknown parameter\(s\) paths; valid: method"):
        compute_risk(stock_book({"AAA": 1}), hist, window=200, paths=10)
    rep = compute_risk(stock_book({"AAA": 1}), hist, window=200, base_currency="usd")
    assert rep.base_currency == "USD" and rep.excluded_positions == ()


def test_historical_standard_errors_only_for_independent_scenarios(hist):
    one = compute_risk(stock_book({"AAA": 1}), hist, window=250, confidence=0.95)
    assert one.measure(0.95).value_at_risk_standard_error > 0
    assert "mean" not in one.parameters  # historical simulation has no mean parameter
    ten = compute_risk(stock_book({"AAA": 1}), hist, window=250, horizon_days=10, confidence=0.95)
    assert ten.measure(0.95).value_at_risk_standard_error is None
    assert any("not independent" in n for n in ten.notes)
