"""pandas in and out (``riskengine[pandas]``), Parquet files (``riskengine[parquet]``) and
backtests of your own series: round trips bit for bit, ``compute_risk`` on a ``from_frame``
history equal to the CSV path, every ``to_frame()`` against its dict form, the series backtest
against the engine's own backtest and the closed forms, and the notebook views."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from riskengine import (
    FactorHistory,
    InputError,
    Portfolio,
    PortfolioFormatError,
    PriceDataError,
    compute_risk,
    load_portfolio,
    load_prices,
    run_backtest,
    run_scenarios,
)
from riskengine.backtest import backtest_series, kupiec_pof, load_series, traffic_light
from riskengine.pricing.exposures import compute_exposures
from support import ROOT

pd = pytest.importorskip("pandas")
DATA = ROOT / "data" / "us_equities_daily.csv"
BOOK = ROOT / "examples" / "book.csv"


@pytest.fixture(scope="module")
def history():
    return load_prices(DATA)


@pytest.fixture(scope="module")
def book():
    return load_portfolio(BOOK)


def same_history(a: FactorHistory, b: FactorHistory) -> None:
    assert a.symbols == b.symbols
    assert np.array_equal(a.dates, b.dates)
    assert np.array_equal(a.prices, b.prices, equal_nan=True)
    assert a.prices.tobytes() == b.prices.tobytes()


# --- histories ---------------------------------------------------------------------------------


def test_history_round_trips_wide_long_and_series_bit_for_bit(history):
    wide = history.to_frame()
    assert isinstance(wide.index, pd.DatetimeIndex) and wide.index.name == "date"
    assert list(wide.columns) == list(history.symbols)
    same_history(FactorHistory.from_frame(wide), history)
    long = wide.stack().rename("close").rename_axis(["date", "symbol"]).reset_index()
    same_history(FactorHistory.from_frame(long), history)
    one = FactorHistory.from_frame(wide["AAPL"])
    assert (
        one.symbols == ("AAPL",) and one.prices[:, 0].tobytes() == wide["AAPL"].to_numpy().tobytes()
    )
    # NaN (no close that day) survives, and rows are put in date order
    holes = wide.copy()
    holes.iloc[5, 3] = np.nan
    back = FactorHistory.from_frame(holes.iloc[::-1])
    assert np.isnan(back.prices[5, 3]) and np.array_equal(back.dates, history.dates)


def test_compute_risk_on_a_frame_read_by_pandas_equals_the_csv_path(history, book):
    frame = pd.read_csv(DATA, index_col="Date", parse_dates=True)
    from_frame = FactorHistory.from_frame(frame)
    same_history(from_frame, history)
    for method in ("historical", "parametric"):
        a = compute_risk(book, history, method=method, contributions=False)
        b = compute_risk(book, from_frame, method=method, contributions=False)
        assert a.measures == b.measures


def days(*values):
    return pd.to_datetime(list(values))


@pytest.mark.parametrize(
    "frame,message",
    [
        (lambda: pd.DataFrame({"A": [1.0, -2.0]}, index=days("2020-01-01", "2020-01-02")),
         "the close of A on 2020-01-02 is -2.0"),
        (lambda: pd.DataFrame({"A": [1.0, 2.0]}, index=days("2020-01-01", "2020-01-01")),
         "the date 2020-01-01 appears twice"),
        (lambda: pd.DataFrame({"A": [1.0]}, index=pd.to_datetime(["2020-01-01 13:30"])),
         "is not a date"),
        (lambda: pd.Series([1.0, 2.0], index=pd.to_datetime(["2020-01-01", "2020-01-02"])),
         "the Series has no name"),
        (lambda: pd.DataFrame({"date": ["2020-01-01"] * 2, "symbol": ["A", "A"], "close": [1, 2]}),
         "A has two closes on 2020-01-01"),
    ],
)  # fmt: skip
def test_bad_frames_are_refused_naming_the_symbol_and_date(frame, message):
    with pytest.raises(PriceDataError, match=message):
        FactorHistory.from_frame(frame())


# --- books -------------------------------------------------------------------------------------


def test_book_round_trips_and_reads_the_book_columns(book):
    frame = book.to_frame()
    assert frame.index.name == "id" and "strike" in frame.columns
    assert Portfolio.from_frame(frame, book.name) == book
    csv_frame = pd.read_csv(BOOK)
    assert Portfolio.from_frame(csv_frame, book.name) == book
    with pytest.raises(PortfolioFormatError, match=r"position 2: field 'quantity' = 'lots'"):
        Portfolio.from_frame(pd.DataFrame({"symbol": ["A", "B"], "quantity": [1, "lots"]}))


# --- results: to_frame() against the dict form -------------------------------------------------


def test_every_result_frame_holds_its_dict_numbers(history, book):
    report = compute_risk(book, history, confidence=(0.95, 0.99), contributions=True)
    frame = report.to_frame()
    for m in report.to_dict()["results"]:
        row = frame.loc[m["confidence"]]
        assert row["value_at_risk"] == m["value_at_risk"]
        assert row["expected_shortfall"] == m["expected_shortfall"]
    d = report.contributions.to_dict()
    by_position = report.contributions.to_frame()
    assert len(by_position) == len(d["by_position"])
    for r in d["by_position"]:
        assert by_position.loc[(r["confidence"], r["id"]), "component_var"] == r["component_var"]
    by_tag = report.contributions.to_frame("tag")
    for r in d["by_tag"]:
        assert (
            by_tag.loc[(r["confidence"], r["key"], r["value"]), "component_es"] == r["component_es"]
        )
    summary = report.contributions.to_frame("summary")
    assert list(summary.index) == [0.95, 0.99]
    exposures = compute_exposures(book, history)
    e = exposures.exposures.to_dict()
    under = exposures.exposures.to_frame()
    for r in e["by_underlying"]:
        assert under.loc[r["factor"], "dollar_delta"] == r["dollar_delta"]
    assert (
        exposures.exposures.to_frame("total").iloc[0]["net_exposure"] == e["total"]["net_exposure"]
    )
    stress = run_scenarios(book, history, ["covid-2020", "equity-crash-20"])
    s = stress.to_frame()
    for r in stress.results:
        assert s.loc[r.scenario, "pnl"] == r.pnl
        positions = r.to_frame()
        for p in r.to_dict()["positions"]:
            assert positions.loc[p["id"], "pnl"] == p["pnl"]
    bt = run_backtest(book, history, window=250, confidence=(0.99,), start="2022-06-01",
                      null_simulations=0)  # fmt: skip
    daily = bt.to_frame()
    assert list(daily.index) == list(bt.dates)
    assert daily["pnl"].to_numpy().tobytes() == bt.realised_pnl.tobytes()
    assert (
        daily["historical_var_0.99"].to_numpy().tobytes()
        == bt.methods[0].value_at_risk[:, 0].tobytes()
    )
    assert int(daily["historical_exception_0.99"].sum()) == bt.methods[0].statistics[0].n_exceptions
    stats = bt.statistics_frame()
    assert stats.loc[("historical", 0.99), "kupiec_p"] == bt.methods[0].statistics[0].kupiec.p_value
    # notebook views: pandas' HTML tables with the numbers
    html = report._repr_html_()
    assert "<table" in html and f"{report.measures[1].value_at_risk:.2f}"[:6] in html.replace(
        ",", ""
    )
    assert "<table" in report.contributions._repr_html_() and "<table" in bt._repr_html_()


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_prices_books_and_series(tmp_path, history, book):
    pytest.importorskip("pyarrow")
    history.to_frame().reset_index().to_parquet(tmp_path / "prices.parquet")
    same_history(load_prices(tmp_path / "prices.parquet"), history)
    long = history.to_frame().stack().rename("close").rename_axis(["date", "symbol"])
    long.reset_index().to_parquet(tmp_path / "long.parquet")
    same_history(load_prices(tmp_path / "long.parquet"), history)
    book.to_frame().reset_index().to_parquet(tmp_path / "book.parquet")
    assert load_portfolio(tmp_path / "book.parquet", name=book.name) == book


# --- backtest your own series -----------------------------------------------------------------


def test_series_backtest_equals_the_engines_own_backtest(tmp_path, history, book):
    bt = run_backtest(book, history, window=250, confidence=(0.975, 0.99), start="2021-01-04",
                      null_simulations=0)  # fmt: skip
    m = bt.methods[0]
    var = {c: m.value_at_risk[:, j] for j, c in enumerate(bt.confidence)}
    es = {c: m.expected_shortfall[:, j] for j, c in enumerate(bt.confidence)}
    mine = backtest_series(bt.pnl_dates, bt.realised_pnl, var, es)
    for ours, theirs in zip(mine.methods[0].statistics, m.statistics, strict=True):
        assert ours.to_dict() == theirs.to_dict()
    # the same numbers through a file and the command line
    rows = ["date,pnl,var_97.5,var_99,es_97.5,es_99"]
    for t, d in enumerate(bt.pnl_dates):
        cells = (bt.realised_pnl[t], var[0.975][t], var[0.99][t], es[0.975][t], es[0.99][t])
        rows.append(",".join([d] + [repr(float(x)) for x in cells]))
    f = tmp_path / "series.csv"
    f.write_text("\n".join(rows) + "\n")
    from_file = load_series(f)
    assert [s.to_dict() for s in from_file.methods[0].statistics] == [
        s.to_dict() for s in m.statistics
    ]
    cli = [sys.executable, "-m", "riskengine", "backtest", "--series", str(f)]
    out = subprocess.run([*cli, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)["methods"][0]["statistics"]
    assert [s["n_exceptions"] for s in stats] == [s.n_exceptions for s in m.statistics]
    table = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert table.returncode == 0 and "Backtest of the series 'series.csv'" in table.stdout


def test_series_statistics_match_the_closed_forms_on_a_fixed_sequence():
    n = 250
    pnl = np.full(n, 1.0)
    hit = [10, 60, 61, 120, 200, 230, 249]  # 7 exceptions
    pnl[hit] = -5.0
    dates = [f"2020-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(n)]
    result = backtest_series(dates, pnl, {0.99: np.full(n, 2.0)})
    s = result.methods[0].statistics[0]
    x, c = len(hit), 0.99
    p = 1 - c
    lr = -2 * ((n - x) * math.log(1 - p) + x * math.log(p)) + 2 * (
        (n - x) * math.log(1 - x / n) + x * math.log(x / n)
    )
    assert s.n_exceptions == x and s.kupiec.statistic == pytest.approx(lr, rel=1e-12)
    assert s.kupiec.statistic == kupiec_pof(x, n, c).statistic
    assert s.traffic_light.zone == traffic_light(x, n, c).zone == "yellow"
    assert s.transitions.n11 == 1  # days 60 and 61
    assert math.isnan(s.z2)  # no ES given
    with pytest.raises(InputError, match="value_at_risk at 0.99: 249 values for 250 days"):
        backtest_series(dates, pnl, {0.99: np.full(n - 1, 2.0)})
    with pytest.raises(InputError, match="dates must increase"):
        backtest_series(dates[::-1], pnl, {0.99: np.full(n, 2.0)})


# --- the notebook example ----------------------------------------------------------------------


def test_the_pandas_example_runs():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "pandas_walkthrough.py")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "value_at_risk" in out.stdout and "component_var" in out.stdout
