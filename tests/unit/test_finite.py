"""Nothing wrong under a success status: no report carries a non-finite measure, a position
that cannot be valued finitely is excluded with its reason, and isolated bad prints in a price
history are found, reported by symbol and date, and handled by a policy (exclude, refuse,
use) while real crisis moves are left alone."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from riskengine import (
    Equity,
    FactorHistory,
    InputError,
    NoPositionsError,
    Portfolio,
    Position,
    compute_risk,
    load_prices,
)
from riskengine.errors import DataQualityError, NonFiniteResultError
from riskengine.market.quality import find_bad_prints
from riskengine.report import RiskMeasure
from riskengine.stress.shocks import parse_shock
from support import ROOT

DATA = ROOT / "data" / "us_equities_daily.csv"
METHODS = ("historical", "parametric", "montecarlo")


@pytest.fixture(scope="module")
def history():
    return load_prices(DATA)


def _spec(method):
    return {"method": method, "window": 250, "n_scenarios": 2_000, "seed": 11}


def _measures(report):
    return [(m.value_at_risk, m.expected_shortfall) for m in report.measures]


def _with_close(history, symbol, row, value) -> FactorHistory:
    prices = history.prices.copy()
    prices[row, history.column[symbol]] = value
    return FactorHistory(history.dates.copy(), history.symbols, prices)


# --- positions that cannot be valued finitely ------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("quantity", [1e308, 1e200, 1e14])
def test_a_position_too_large_to_value_is_excluded_and_the_rest_reported(history, method, quantity):
    """Quantity 1e308 gave parametric VaR and ES NaN (stored and served as null)."""
    good = Position("msft", Equity("MSFT"), 100)
    book = Portfolio([Position("huge", Equity("AAPL"), quantity), good], name="b")
    report = compute_risk(book, history, **_spec(method))
    alone = compute_risk(Portfolio([good], name="b"), history, **_spec(method))
    assert _measures(report) == _measures(alone)  # the oracle: the book without it
    assert all(math.isfinite(x) for pair in _measures(report) for x in pair)
    (excluded,) = report.excluded_positions
    assert excluded["id"] == "huge"
    assert f"{quantity:g}" in excluded["reason"] and "limit 1e+15" in excluded["reason"]
    json.loads(report.to_json())  # valid JSON: no NaN


def test_nothing_finite_left_is_refused_naming_the_value_and_the_limit(history):
    book = Portfolio([Position("huge", Equity("AAPL"), 1e308)], name="b")
    with pytest.raises(NoPositionsError, match=r"1e\+308.*limit 1e\+15"):
        compute_risk(book, history, method="parametric")


def test_no_report_carries_a_non_finite_measure():
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(NonFiniteResultError, match="value_at_risk at confidence 0.99"):
            RiskMeasure(0.99, bad, 1.0)
        with pytest.raises(NonFiniteResultError, match="expected_shortfall"):
            RiskMeasure(0.99, 1.0, bad)
    m = RiskMeasure(0.99, 1.0, 2.0, math.inf, math.nan)
    assert m.value_at_risk_standard_error is None and m.expected_shortfall_standard_error is None
    assert RiskMeasure(0.99, -5.0, 1.0).value_at_risk == -5.0  # a gain in the tail is finite


@pytest.mark.parametrize(
    "text, words",
    [
        ("AAPL=1e308", ("beyond the limit 100",)),
        ("*=150", ("beyond the limit 100",)),
        ("vol:AAPL=+1e6", ("beyond the limit", "points")),
    ],
)
def test_a_shock_beyond_any_market_is_refused(text, words):
    """AAPL=1e308 as a stress shock answered 200 with pnl null."""
    with pytest.raises(InputError) as err:
        parse_shock(text)
    for w in words:
        assert w in str(err.value)
    parse_shock("AAPL=99")  # a hundredfold rise is still a market
    parse_shock("vol:AAPL=+500")


def _write_prices(path, history, symbol, row, value):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", *history.symbols])
        for i in range(len(history.dates)):
            closes = list(history.prices[i])
            if i == row:
                closes[history.column[symbol]] = value
            w.writerow([history.date_at(i).isoformat(), *(repr(float(c)) for c in closes)])


@pytest.mark.parametrize("value", ["1e-300", "1e308"])
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_cli_refuses_an_absurd_close_at_load(tmp_path, history, value, fmt):
    """CLI parametric on a file with one close of 1e-300 (or 1e308) printed nan, exit 0, and a
    traceback with --format json."""
    path = tmp_path / "prices.csv"
    _write_prices(path, history, "AAPL", len(history.dates) - 30, value)
    out = subprocess.run(
        [sys.executable, "-m", "riskengine", "risk", "--portfolio",
         str(ROOT / "examples" / "book.csv"), "--prices", str(path), "--method", "parametric",
         "--format", fmt],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "nan" not in out.stdout
    assert "AAPL" in out.stderr and repr(float(value)) in out.stderr
    assert "[1e-12, 1e+12]" in out.stderr


# --- bad prints --------------------------------------------------------------------------------
def test_the_bundled_history_has_no_bad_print_in_any_window(history):
    """Real crisis days (BAC 2009-01-20: -34% then +27%; 2008-09-29) are not flagged, over the
    whole history and in every window of 60, 250 and 500 days."""
    assert find_bad_prints(history) == []
    n = len(history.dates)
    for w in (60, 250, 500):
        for start in range(0, n - w, 20):
            assert find_bad_prints(history, start=start, stop=start + w) == [], (w, start)
    bac = history.prices[:, history.column["BAC"]]
    i = history.index_of("2009-01-20")
    assert bac[i] / bac[i - 1] < 0.72 and bac[i + 1] / bac[i] > 1.3  # the real move is there


def test_the_benchmark_workload_has_no_bad_print():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from workload import seed_workload
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert find_bad_prints(seed_workload()[0]) == []


def _aapl_book():
    return Portfolio([Position("aapl", Equity("AAPL"), 185)], name="aapl")  # ~ $24k


def _two_book():
    return Portfolio(
        [Position("aapl", Equity("AAPL"), 185), Position("msft", Equity("MSFT"), 100)], name="two"
    )


@pytest.fixture(scope="module")
def bad(history):
    """AAPL's close 1e6 on one day, among closes near 130, inside every window below."""
    row = len(history.dates) - 40
    return _with_close(history, "AAPL", row, 1e6), history.date_at(row)


def test_a_bad_print_is_found_named_and_dated(bad):
    h, day = bad
    (found,) = find_bad_prints(h)
    assert (found.symbol, found.date, found.close) == ("AAPL", day, 1e6)
    assert found.factor > 5000 and found.sigmas > 100
    assert "AAPL" in found.describe() and str(day) in found.describe()


@pytest.mark.parametrize("method", METHODS)
def test_by_default_the_positions_on_a_bad_print_are_excluded(history, bad, method):
    """One bad print moved the parametric VaR of a $24k AAPL book from 1,005 to 7.9 M."""
    h, day = bad
    report = compute_risk(_two_book(), h, **_spec(method))
    clean = compute_risk(
        Portfolio([Position("msft", Equity("MSFT"), 100)], name="two"), h, **_spec(method)
    )
    assert _measures(report) == _measures(clean)
    (excluded,) = report.excluded_positions
    assert excluded["id"] == "aapl" and "bad print" in excluded["reason"]
    assert str(day) in excluded["reason"] and "'use'" in excluded["reason"]
    flags = [f for f in report.data_quality if f["code"] == "bad_print"]
    assert [(f["symbol"], f["date"]) for f in flags] == [("AAPL", day.isoformat())]
    with pytest.raises(NoPositionsError, match="bad print"):
        compute_risk(_aapl_book(), h, **_spec(method))


def test_policy_refuse_stops_naming_the_close_and_the_way_out(bad):
    h, day = bad
    with pytest.raises(DataQualityError) as err:
        compute_risk(_two_book(), h, method="parametric", bad_prints="refuse")
    msg = str(err.value)
    assert "AAPL" in msg and str(day) in msg and "'exclude'" in msg and "'use'" in msg


def test_policy_use_keeps_the_close_and_flags_it(history, bad):
    h, day = bad
    used = compute_risk(_aapl_book(), h, method="parametric", window=250, bad_prints="use")
    real = compute_risk(_aapl_book(), history, method="parametric", window=250)
    assert used.measures[0].value_at_risk > 1000 * real.measures[0].value_at_risk
    assert [f["date"] for f in used.data_quality if f["code"] == "bad_print"] == [str(day)]
    assert not used.excluded_positions


def test_a_bad_print_outside_the_window_changes_nothing(history):
    h = _with_close(history, "AAPL", 100, 1e6)  # in 2007, far before the window
    report = compute_risk(_aapl_book(), h, method="parametric", window=250)
    real = compute_risk(_aapl_book(), history, method="parametric", window=250)
    assert _measures(report) == _measures(real) and not report.data_quality


def test_a_bad_last_close_is_found_against_its_one_neighbour(history):
    h = _with_close(history, "AAPL", len(history.dates) - 1, 1e6)
    (found,) = find_bad_prints(h, start=len(history.dates) - 300)
    assert found.next is None and found.date == history.last_date
    # a real fall to half is not (it could be real: the end rule asks for a factor of 10)
    half = _with_close(history, "AAPL", len(history.dates) - 1, history.prices[-2, 0] / 2)
    assert find_bad_prints(half, start=len(history.dates) - 300) == []


def test_an_unknown_policy_is_refused_with_the_choices(history):
    with pytest.raises(InputError, match="exclude, refuse, use"):
        compute_risk(_aapl_book(), history, bad_prints="ignore")


def test_the_risk_cli_reports_and_handles_bad_prints(tmp_path, history):
    path = tmp_path / "prices.csv"
    row = len(history.dates) - 40
    _write_prices(path, history, "AAPL", row, "1000000")
    base = [sys.executable, "-m", "riskengine", "risk", "--portfolio",
            str(ROOT / "examples" / "book.csv"), "--prices", str(path), "--method",
            "parametric", "--format", "json"]  # fmt: skip
    out = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert any(f["code"] == "bad_print" for f in report["data_quality"])
    assert {e["symbol"] for e in report["excluded_positions"]} >= {"AAPL"}
    refused = subprocess.run(
        [*base, "--bad-prints", "refuse"], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode == 2 and str(history.date_at(row)) in refused.stderr
    assert np.isfinite(report["results"][0]["value_at_risk"])


def test_a_backtest_applies_the_policy_over_its_whole_history(history, bad):
    from riskengine import run_backtest

    h, day = bad
    kw = dict(methods=("historical",), window=250, start="2022-06-01", progress=False,
              null_simulations=0)  # fmt: skip
    got = run_backtest(_two_book(), h, **kw)
    clean = run_backtest(Portfolio([Position("msft", Equity("MSFT"), 100)], name="two"), h, **kw)
    (method,) = got.methods
    np.testing.assert_array_equal(method.value_at_risk, clean.methods[0].value_at_risk)
    assert [f["date"] for f in method.data_quality if f["code"] == "bad_print"] == [str(day)]
    with pytest.raises(DataQualityError, match="AAPL"):
        run_backtest(_two_book(), h, bad_prints="refuse", **kw)
