"""FRTB internal-model capital against independent oracles: ES and its liquidity cascade computed
by hand from the scenario P&L, the stressed-window search against brute force, IMCC of a
two-class book, the ratio floor, the multiplier table, the PLA and desk zones at their
boundaries, and the mapping rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from riskengine import (
    Equity,
    FxSpot,
    InputError,
    InsufficientHistoryError,
    Portfolio,
    Position,
    compute_risk,
    run_backtest,
)
from riskengine.frtb import (
    FactorMapping,
    ks_statistic,
    liquidity_adjusted_es,
    load_mapping,
    multiplier,
    multiplier_addon,
    pla_zone,
    spearman,
)
from riskengine.frtb.desk import backtest_zone
from riskengine.pipeline import compute_frtb
from support import history_from_returns, option, stock_book

C = 0.975
T = 10
SMALL = {"window": 60, "averaging_days": 5, "backtest_window": 100}  # fast test windows


def es_oracle(pnl, confidence=C) -> float:
    """Acerbi-Tasche ES of equally weighted scenarios, written out: the k = floor(n(1-c))
    worst losses plus the fraction n(1-c) - k of the next one, over n(1-c)."""
    losses = np.sort(-np.asarray(pnl, float))[::-1]
    m = (1.0 - confidence) * losses.size
    k = int(math.floor(m + 1e-9))
    frac = max(m - k, 0.0)
    tail = losses[:k].sum() + (frac * losses[k] if frac > 0 else 0.0)
    return float(tail / m)


def regime_history(n_obs=420, symbols=("A", "B", "C"), seed=3, late=None):
    """Correlated normal returns with a calm start, a stressed stretch and a calm end; ``late``
    (a symbol) has no closes in the first 30 days."""
    rng = np.random.default_rng(seed)
    k = len(symbols)
    vol = np.full(n_obs, 0.01)
    vol[120:200] = 0.035
    z = rng.standard_normal((n_obs, k))
    common = rng.standard_normal((n_obs, 1))
    r = (0.6 * common + 0.8 * z) * vol[:, None] * (1 + 0.2 * np.arange(k))
    h = history_from_returns(r, symbols)
    if late is not None:
        prices = np.array(h.prices)
        prices[:30, h.symbols.index(late)] = np.nan
        h = type(h)(h.dates, h.symbols, prices)
    return h


def ten_day(history, index):
    p = np.asarray(history.prices[: index + 1], float)
    return p[T:] / p[:-T] - 1.0  # row s: from s to s + T


def window_rows(end, window):
    return slice(end - window, end - T + 1)


def linear_pnl(history, quantities, returns, index):
    spot = history.prices[index]
    out = np.zeros(returns.shape[0])
    for s, q in quantities.items():
        j = history.symbols.index(s)
        out += q * spot[j] * returns[:, j]
    return out


def cascade_oracle(es_buckets):
    lh = [10, 20, 40, 60, 120]
    total = es_buckets[0] ** 2
    for j in range(1, 5):
        total += es_buckets[j] ** 2 * (lh[j] - lh[j - 1]) / T
    return math.sqrt(total)


# --- the cascade -----------------------------------------------------------------------------


@pytest.mark.parametrize("category,lh", [("equity_large_cap", 10), ("equity_small_cap", 20),
                                         ("equity_other", 60)])  # fmt: skip
def test_one_liquidity_horizon_scales_es_by_its_square_root(category, lh):
    h = regime_history()
    book = stock_book({"A": 100, "B": -40, "C": 70})
    mapping = dict.fromkeys(("A", "B", "C"), category)
    r = compute_frtb(book, h, mapping=mapping, **SMALL)
    index = len(h.dates) - 1
    scen = ten_day(h, index)[window_rows(index, SMALL["window"])]
    es_t = es_oracle(linear_pnl(h, {"A": 100, "B": -40, "C": 70}, scen, index))
    full = r.expected_shortfall["full_current"]["all"]
    assert full["by_bucket"][0] == pytest.approx(es_t, rel=1e-12)
    assert full["liquidity_adjusted"] == pytest.approx(es_t * math.sqrt(lh / T), rel=1e-12)
    # the same ES_T as the engine's historical method at 10 days, 97.5%
    engine = compute_risk(book, h, method="historical", horizon_days=10, confidence=0.975,
                          window=SMALL["window"])  # fmt: skip
    assert engine.measures[0].expected_shortfall == pytest.approx(es_t, rel=1e-12)


def test_two_bucket_book_against_a_hand_cascade():
    h = regime_history()
    q = {"A": 100.0, "B": 60.0, "C": -30.0}
    mapping = {"A": "equity_large_cap", "B": {"risk_class": "equity", "liquidity_horizon": 40},
               "C": "equity_small_cap"}  # fmt: skip
    r = compute_frtb(stock_book(q), h, mapping=mapping, **SMALL)
    index = len(h.dates) - 1
    scen = ten_day(h, index)[window_rows(index, SMALL["window"])]
    lh = {"A": 10, "B": 40, "C": 20}
    buckets = []
    for floor in (10, 20, 40, 60, 120):
        shocked = {s: v for s, v in q.items() if lh[s] >= floor}
        buckets.append(es_oracle(linear_pnl(h, shocked, scen, index)) if shocked else 0.0)
    got = r.expected_shortfall["full_current"]["all"]
    np.testing.assert_allclose(got["by_bucket"], buckets, rtol=1e-12)
    assert got["liquidity_adjusted"] == pytest.approx(cascade_oracle(buckets), rel=1e-12)
    assert liquidity_adjusted_es(buckets) == pytest.approx(cascade_oracle(buckets), rel=1e-14)


def test_an_option_on_a_short_horizon_factor_is_not_shocked_in_longer_buckets():
    h = regime_history()
    index = len(h.dates) - 1
    as_of = h.date_at(index)
    positions = (
        Position("opt", option("A", 100.0, 90, as_of=as_of), 10, multiplier=100),
        Position("b", Equity("B"), 50),
    )
    mapping = {"A": "equity_large_cap", "B": "equity_other"}
    r = compute_frtb(Portfolio(positions, "opt"), h, mapping=mapping, **SMALL)
    scen = ten_day(h, index)[window_rows(index, SMALL["window"])]
    # buckets 2-4 shock B only: the option moves by its time decay alone (a constant)
    decay = r.expected_shortfall["full_current"]["all"]["by_bucket"][1]
    b_only = linear_pnl(h, {"B": 50}, scen, index)
    from support import black_scholes

    o = positions[0].instrument
    s0 = h.prices[index, 0]
    t_now = (o.expiry - as_of).days / 365.0
    theta = 1000 * (
        black_scholes(s0, 100.0, t_now - 10 / 252, o.implied_vol, o.rate, 0.0, "call")
        - black_scholes(s0, 100.0, t_now, o.implied_vol, o.rate, 0.0, "call")
    )
    assert decay == pytest.approx(es_oracle(b_only + theta), rel=1e-9)


# --- stressed calibration and IMCC -----------------------------------------------------------


def brute_force_stressed(h, q, reduced, lh, window, index):
    """Every window ending at or before the as-of: the cascaded ES of the reduced factors."""
    ret = ten_day(h, index)
    best = (-np.inf, None)
    for end in range(window, index + 1):
        scen = ret[window_rows(end, window)]
        buckets = []
        for floor in (10, 20, 40, 60, 120):
            shocked = {s: v for s, v in q.items() if s in reduced and lh[s] >= floor}
            cols = [h.symbols.index(s) for s in shocked]
            if cols and np.isnan(scen[:, cols]).any():
                buckets = None
                break
            buckets.append(es_oracle(linear_pnl(h, shocked, scen, index)) if shocked else 0.0)
        if buckets is None:
            continue
        value = cascade_oracle(buckets)
        if value > best[0]:
            best = (value, end)
    return best


def test_stressed_window_search_against_brute_force():
    h = regime_history(late="C")
    q = {"A": 100.0, "B": -50.0, "C": 80.0}
    mapping = {"A": "equity_large_cap", "B": "equity_small_cap", "C": "equity_other"}
    r = compute_frtb(stock_book(q), h, mapping=mapping, **SMALL)
    index = len(h.dates) - 1
    # C starts late: the default reduced set is A and B
    assert [f["factor"] for f in r.factors if f["reduced"]] == ["A", "B"]
    lh = {"A": 10, "B": 20, "C": 60}
    value, end = brute_force_stressed(h, q, {"A", "B"}, lh, SMALL["window"], index)
    sw = r.stressed_window
    assert sw["searched"] and sw["end"] == str(h.dates[end])
    assert sw["start"] == str(h.dates[end - SMALL["window"]])
    assert sw["expected_shortfall"] == pytest.approx(value, rel=1e-12)
    assert max(x for x in sw["search"]["expected_shortfall"] if x == x) == pytest.approx(value)
    assert end - SMALL["window"] < 200 and end > 120  # it overlaps the stressed stretch

    # a given window is used as given; the same start with a wrong end is refused
    start = str(h.dates[50])
    given = compute_frtb(stock_book(q), h, mapping=mapping, stressed_window=start, **SMALL)
    assert not given.stressed_window["searched"] and given.stressed_window["start"] == start
    with pytest.raises(InputError, match="must hold 60"):
        compute_frtb(stock_book(q), h, mapping=mapping,
                     stressed_window=(start, str(h.dates[80])), **SMALL)  # fmt: skip


def test_two_class_book_imcc_against_a_hand_computation():
    h = regime_history(symbols=("A", "EURUSD"))
    index = len(h.dates) - 1
    positions = (Position("eq", Equity("A"), 200), Position("fx", FxSpot("EURUSD"), 5_000))
    book = Portfolio(positions, "two")
    r = compute_frtb(book, h, **SMALL)
    classes = {f["factor"]: (f["risk_class"], f["liquidity_horizon"]) for f in r.factors}
    assert classes == {"A": ("equity", 10), "EURUSD": ("fx", 10)}
    q = {"A": 200.0, "EURUSD": 5_000.0}
    ret = ten_day(h, index)
    w = SMALL["window"]
    # reduced = full (both have every close): ES_F,C / ES_R,C = 1, IMCC(C) = ES_S
    end = brute_force_stressed(h, q, set(q), {"A": 10, "EURUSD": 10}, w, index)[1]
    stressed = ret[window_rows(end, w)]
    es_all = es_oracle(linear_pnl(h, q, stressed, index))
    es_eq = es_oracle(linear_pnl(h, {"A": 200.0}, stressed, index))
    es_fx = es_oracle(linear_pnl(h, {"EURUSD": 5_000.0}, stressed, index))
    im = r.imcc
    assert im["unconstrained"] == pytest.approx(es_all, rel=1e-12)
    assert im["by_class"]["equity"] == pytest.approx(es_eq, rel=1e-12)
    assert im["by_class"]["fx"] == pytest.approx(es_fx, rel=1e-12)
    assert im["value"] == pytest.approx(0.5 * es_all + 0.5 * (es_eq + es_fx), rel=1e-12)
    # capital: max(IMCC today, m_c x the average), m_c from the 99% exceptions
    cap = r.capital
    series = np.array(im["series"]["imcc"])
    assert len(series) == SMALL["averaging_days"] and series[-1] == pytest.approx(im["value"])
    m_c = multiplier(cap["exceptions_99"])
    assert cap["charge"] == pytest.approx(max(series[-1], m_c * series.mean()), rel=1e-12)


def test_ratio_is_floored_at_one_and_scales_above_it():
    h = regime_history(symbols=("A", "B"))
    index = len(h.dates) - 1
    w = SMALL["window"]
    ret = ten_day(h, index)
    # B hedges A: the full book is less risky than A alone -> ES_F,C / ES_R,C < 1 -> floor
    hedged = {"A": 100.0, "B": -60.0}
    r = compute_frtb(stock_book(hedged), h, reduced_set=["A"], **SMALL)
    end = brute_force_stressed(h, hedged, {"A"}, {"A": 10, "B": 10}, w, index)[1]
    es_rs = es_oracle(linear_pnl(h, {"A": 100.0}, ret[window_rows(end, w)], index))
    cur = ret[window_rows(index, w)]
    es_fc = es_oracle(linear_pnl(h, hedged, cur, index))
    es_rc = es_oracle(linear_pnl(h, {"A": 100.0}, cur, index))
    assert es_fc < es_rc
    assert r.imcc["unconstrained"] == pytest.approx(es_rs, rel=1e-12)  # max(ratio, 1) = 1
    assert r.imcc["by_class"]["equity"] == pytest.approx(es_rs * es_fc / es_rc, rel=1e-12)
    assert r.ratio["reduced_to_full"] == pytest.approx(es_rc / es_fc, rel=1e-12)
    # B adds risk: ratio > 1 scales the stressed ES
    long = {"A": 100.0, "B": 60.0}
    r2 = compute_frtb(stock_book(long), h, reduced_set="A", **SMALL)
    end = brute_force_stressed(h, long, {"A"}, {"A": 10, "B": 10}, w, index)[1]
    es_rs = es_oracle(linear_pnl(h, {"A": 100.0}, ret[window_rows(end, w)], index))
    es_fc = es_oracle(linear_pnl(h, long, cur, index))
    es_rc = es_oracle(linear_pnl(h, {"A": 100.0}, cur, index))
    assert es_fc > es_rc
    assert r2.imcc["unconstrained"] == pytest.approx(es_rs * es_fc / es_rc, rel=1e-12)
    # the 12-week flag: A alone explains far less than 75% of a book mostly in B
    r3 = compute_frtb(stock_book({"A": 1.0, "B": 100.0}), h, reduced_set=["A"], **SMALL)
    assert r3.ratio["average"] < 0.75 and r3.ratio["below_floor"]
    r4 = compute_frtb(stock_book({"A": 100.0, "B": 1.0}), h, reduced_set=["A"], **SMALL)
    assert r4.ratio["average"] > 0.75 and not r4.ratio["below_floor"]
    assert r3.ratio["average"] == pytest.approx(np.mean(r3.ratio["series"]), rel=1e-14)


def test_reduced_set_must_cover_every_class_and_name_factors_of_the_book():
    h = regime_history(symbols=("A", "EURUSD"))
    book = Portfolio((Position("eq", Equity("A"), 1), Position("fx", FxSpot("EURUSD"), 10)))
    with pytest.raises(InputError, match="risk class fx has no factor in the reduced set"):
        compute_frtb(book, h, reduced_set=["A"], **SMALL)
    with pytest.raises(InputError, match="reduced_set names ZZZ"):
        compute_frtb(book, h, reduced_set=["A", "ZZZ"], **SMALL)


# --- desk tests and the multiplier ----------------------------------------------------------


def test_desk_backtest_counts_against_an_independent_rolling_var():
    h = regime_history(n_obs=460)
    q = {"A": 100.0, "B": -30.0, "C": 50.0}
    r = compute_frtb(stock_book(q), h, **SMALL)
    index = len(h.dates) - 1
    p = np.asarray(h.prices, float)
    daily = p[1:] / p[:-1] - 1.0
    pnl = linear_pnl(h, q, daily, index)  # pnl[t]: from t to t + 1
    n = SMALL["backtest_window"]
    counts = {}
    for c in (0.99, 0.975):
        count = 0
        for t in range(index - 250, index):
            losses = -pnl[t - n : t]
            var = np.quantile(losses, c, method="inverted_cdf")
            count += bool(-pnl[t] > var)
        counts[str(c)] = count
    assert r.desk_tests["backtest"]["exceptions"] == counts
    assert r.capital["exceptions_99"] == counts["0.99"]
    # a linear book: the delta-gamma P&L is the hypothetical P&L, so the PLA is perfect
    assert r.desk_tests["pla"]["spearman"] == pytest.approx(1.0, abs=1e-12)
    # KS: the two series agree to rounding, which may swap one pair of ranks (1/250)
    assert r.desk_tests["pla"]["ks"] <= 1 / 250 + 1e-12
    assert r.desk_tests["pla"]["zone"] == "green"
    np.testing.assert_allclose(r.desk_tests["pla"]["risk_theoretical_pnl"],
                               pnl[index - 250 : index], rtol=1e-9)  # fmt: skip
    np.testing.assert_allclose(r.desk_tests["pla"]["hypothetical_pnl"],
                               pnl[index - 250 : index], rtol=1e-12)  # fmt: skip
    bt = run_backtest(stock_book(q), h, window=n, confidence=(0.99,), null_simulations=0,
                      start=h.date_at(index - 250), end=h.date_at(index - 1))  # fmt: skip
    assert int(bt.methods[0].exceptions.sum()) == counts["0.99"]


@pytest.mark.parametrize(
    "n,addon",
    [(0, 0.0), (4, 0.0), (5, 0.20), (6, 0.26), (7, 0.33), (8, 0.38), (9, 0.42), (10, 0.50),
     (11, 0.50), (250, 0.50)],
)  # fmt: skip
def test_multiplier_table_of_mar99_at_every_boundary(n, addon):
    assert multiplier_addon(n) == addon
    assert multiplier(n) == pytest.approx(1.5 + addon)


@pytest.mark.parametrize(
    "rho,ks,zone",
    [
        (0.81, 0.08, "green"),
        (0.80, 0.08, "amber"),  # Spearman must exceed 0.80
        (0.81, 0.09, "amber"),  # KS must be below 0.09
        (0.70, 0.10, "amber"),  # 0.70 is not below 0.70
        (0.6999, 0.05, "red"),
        (0.95, 0.12, "amber"),  # 0.12 is not above 0.12
        (0.95, 0.1201, "red"),
        (float("nan"), 0.01, "red"),
    ],
)
def test_pla_zones_at_their_boundaries(rho, ks, zone):
    assert pla_zone(rho, ks) == zone


def test_desk_backtest_zone_limits():
    assert backtest_zone({0.99: 12, 0.975: 30}) == "pass"
    assert backtest_zone({0.99: 13, 0.975: 0}) == "fail"
    assert backtest_zone({0.99: 0, 0.975: 31}) == "fail"


def test_spearman_and_ks_match_scipy():
    rng = np.random.default_rng(9)
    x = rng.standard_normal(250)
    y = 0.8 * x + 0.3 * rng.standard_t(4, 250)
    y[:20] = np.round(y[:20], 1)  # ties
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)
    assert ks_statistic(x, y) == pytest.approx(stats.ks_2samp(x, y).statistic, rel=1e-12)
    assert ks_statistic(x, x) == 0.0


def test_pla_of_an_option_book_is_the_delta_gamma_error():
    from support import black_scholes

    h = regime_history()
    index = len(h.dates) - 1
    as_of = h.date_at(index)
    o = option("A", 105.0, 20, as_of=as_of)
    book = Portfolio((Position("o", o, -50, multiplier=100), Position("b", Equity("B"), 300)))
    r = compute_frtb(book, h, **SMALL)
    pla = r.desk_tests["pla"]
    p = np.asarray(h.prices, float)
    s0, b0 = p[index, 0], p[index, 1]
    ra = p[index - 249 : index + 1, 0] / p[index - 250 : index, 0] - 1.0
    rb = p[index - 249 : index + 1, 1] / p[index - 250 : index, 1] - 1.0
    t_now = (o.expiry - as_of).days / 365.0
    t_h = t_now - 1 / 252

    def bs(s, t):
        return black_scholes(s, 105.0, t, o.implied_vol, o.rate, 0.0, "call")

    eps = 1e-3 * s0
    delta = (bs(s0 + eps, t_h) - bs(s0 - eps, t_h)) / (2 * eps)
    gamma = (bs(s0 + eps, t_h) - 2 * bs(s0, t_h) + bs(s0 - eps, t_h)) / eps**2
    units = -5_000
    theta = units * (bs(s0, t_h) - bs(s0, t_now))
    dg = theta + units * (delta * s0 * ra + 0.5 * gamma * (s0 * ra) ** 2) + 300 * b0 * rb
    full = units * (bs(s0 * (1 + ra), t_h) - bs(s0, t_now)) + 300 * b0 * rb
    np.testing.assert_allclose(pla["risk_theoretical_pnl"], dg, rtol=1e-5, atol=1e-6 * abs(units))
    np.testing.assert_allclose(pla["hypothetical_pnl"], full, rtol=1e-9)
    assert pla["spearman"] == pytest.approx(stats.spearmanr(full, dg).statistic, abs=1e-9)
    assert pla["ks"] == pytest.approx(stats.ks_2samp(full, dg).statistic, abs=1e-9)
    assert pla["zone"] == pla_zone(pla["spearman"], pla["ks"])


# --- mapping --------------------------------------------------------------------------------


def test_mapping_wins_over_tags_which_win_over_defaults(tmp_path):
    h = regime_history(symbols=("A", "B", "C", "GBPUSD", "THBUSD"))
    positions = (
        Position("a", Equity("A"), 1, tags=(("frtb_category", "equity_small_cap"),)),
        Position("b", Equity("B"), 1, tags=(("liquidity_horizon", "120"),)),
        Position("c", Equity("C"), 1, tags=(("liquidity_horizon", "40"),)),
        Position("fx", FxSpot("GBPUSD"), 1),
        Position("fx2", FxSpot("THBUSD"), 1),
    )
    csv_file = tmp_path / "map.csv"
    csv_file.write_text("factor,category,risk_class,liquidity_horizon\nC,equity_other,,\n"
                        "NOTINBOOK,fx_other,,\n")  # fmt: skip
    r = compute_frtb(Portfolio(positions), h, mapping=str(csv_file), **SMALL)
    got = {f["factor"]: (f["liquidity_horizon"], f["source"].split(" ")[0]) for f in r.factors}
    assert got == {"A": (20, "tag"), "B": (120, "tag"), "C": (60, "mapping"),
                   "GBPUSD": (10, "default"), "THBUSD": (20, "default")}  # fmt: skip
    assert any("NOTINBOOK" in n for n in r.notes)
    json_file = tmp_path / "map.json"
    json_file.write_text(json.dumps({"USDTRY": {"risk_class": "fx", "liquidity_horizon": 20}}))
    assert load_mapping(json_file).entries == {"USDTRY": ("fx", 20)}


@pytest.mark.parametrize(
    "mapping,message",
    [
        ({"A": "equity_mega_cap"}, "category 'equity_mega_cap' is not one of"),
        ({"A": {"risk_class": "equity", "liquidity_horizon": 30}}, "liquidity_horizon 30"),
        ({"A": {"risk_class": "rates", "liquidity_horizon": 10}}, "risk_class 'rates'"),
        ({"A": {"category": "fx_other", "liquidity_horizon": 10}}, "one or the other"),
        ([{"factor": "A", "category": "fx_other"}, {"factor": "A", "category": "fx_other"}],
         "mapped twice"),
        (42, "must map factors"),
    ],
)  # fmt: skip
def test_bad_mappings_are_refused_naming_the_field(mapping, message):
    with pytest.raises(InputError, match=message):
        FactorMapping.of(mapping)


def test_conflicting_tags_on_one_factor_are_refused():
    h = regime_history()
    positions = (
        Position("x", Equity("A"), 1, tags=(("liquidity_horizon", "20"),)),
        Position("y", Equity("A"), 1, tags=(("liquidity_horizon", "60"),)),
    )
    with pytest.raises(InputError, match="positions x and y on A"):
        compute_frtb(Portfolio(positions), h, **SMALL)


def test_specified_currency_pairs_and_crosses_default_to_ten_days():
    from riskengine.frtb.mapping import _default

    assert _default("EURUSD", True)[1] == 10
    assert _default("EURCAD", True)[1] == 10  # a first-order cross of two specified pairs
    assert _default("USDTHB", True)[1] == 20
    assert _default("AAPL", False) == ("equity", 10, "default (equity, large cap)")


def test_mapping_file_errors_name_the_file_and_line(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("symbol,lh\nA,10\n")
    with pytest.raises(InputError, match="needs a header with factor"):
        load_mapping(f)
    f.write_text("factor,category\n,equity_other\n")
    with pytest.raises(InputError, match="line 2: the factor is empty"):
        load_mapping(f)


# --- the command line -----------------------------------------------------------------------


def _cli(*args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "riskengine", "frtb", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_json_is_the_python_report_and_the_table_reads(tmp_path):
    from riskengine import load_portfolio, load_prices
    from support import ROOT

    data, book = str(ROOT / "data" / "us_equities_daily.csv"), str(ROOT / "examples" / "book.csv")
    mapping = tmp_path / "m.csv"
    mapping.write_text("factor,category\nJNJ,equity_small_cap\nKO,equity_other\n")
    args = ["--portfolio", book, "--prices", data, "--mapping", str(mapping), "--reduced-set",
            "AAPL", "MSFT", "JPM", "XOM"]  # fmt: skip
    out = _cli(*args, "--format", "json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    want = compute_frtb(
        load_portfolio(book),
        load_prices(data),
        mapping=str(mapping),
        reduced_set=["AAPL", "MSFT", "JPM", "XOM"],
    ).to_dict()
    assert got.keys() == want.keys()
    for key, value in want["capital"].items():
        assert got["capital"][key] == (value if isinstance(value, str) else pytest.approx(value))
    assert got["stressed_window"]["start"] == want["stressed_window"]["start"]
    assert got["factors"] == want["factors"]
    table = _cli(*args)
    assert table.returncode == 0
    assert "capital charge" in table.stdout and want["stressed_window"]["start"] in table.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("factor,category\nJNJ,equity_giant\n")
    refused = _cli("--portfolio", book, "--prices", data, "--mapping", str(bad))
    assert refused.returncode == 2 and refused.stdout == ""
    assert "category 'equity_giant' is not one of" in refused.stderr


def test_the_documented_run_prints_what_docs_frtb_md_shows():
    import re
    import shlex

    from support import ROOT

    text = (ROOT / "docs" / "frtb.md").read_text(encoding="utf-8")
    run_section = text[text.index("## A run on the bundled data") :]
    command = re.search(r"```sh\n(.*?)```", run_section, flags=re.S).group(1)
    shown = re.search(r"```\n(riskengine FRTB.*?)```", run_section, flags=re.S).group(1)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:2] == ["riskengine", "frtb"]
    out = _cli(*words[2:])
    assert out.returncode == 0, out.stderr
    printed = out.stdout.splitlines()
    assert printed[: len(shown.splitlines())] == shown.splitlines()


def test_supplied_actual_and_risk_model_pnl(tmp_path):
    h = regime_history(n_obs=460)
    q = {"A": 100.0, "B": -30.0, "C": 50.0}
    index = len(h.dates) - 1
    p = np.asarray(h.prices, float)
    pnl = linear_pnl(h, q, p[1:] / p[:-1] - 1.0, index)
    hyp = pnl[index - 250 : index]
    days = [str(d) for d in h.dates[index - 249 : index + 1]]
    # actual P&L: the hypothetical one with fees and a bad week
    actual = hyp - 5.0
    actual[100:105] -= 10 * np.abs(hyp).max()
    f = tmp_path / "actual.csv"
    f.write_text(
        "date,pnl\n" + "".join(f"{d},{v!r}\n" for d, v in zip(days, actual.tolist(), strict=True))
    )
    rng = np.random.default_rng(4)
    model = hyp + rng.normal(0, 0.3 * hyp.std(), hyp.size)
    supplied = dict(zip(days, model, strict=True))
    r = compute_frtb(stock_book(q), h, actual_pnl=str(f), risk_model_pnl=supplied, **SMALL)
    n = SMALL["backtest_window"]
    counts = {}
    for c in (0.99, 0.975):
        var = np.array([np.quantile(-pnl[t - n : t], c, method="inverted_cdf")
                        for t in range(index - 250, index)])  # fmt: skip
        counts[str(c)] = int(np.sum(-actual > var))
    bt = r.desk_tests["backtest"]
    assert bt["actual_exceptions"] == counts and r.desk_tests["pnl"] == "hypothetical and actual"
    assert counts["0.99"] >= bt["exceptions"]["0.99"] + 5
    assert r.capital["exceptions_99"] == counts["0.99"]
    assert r.capital["multiplier"] == multiplier(counts["0.99"])
    pla = r.desk_tests["pla"]
    assert pla["model"] == "supplied"
    assert pla["spearman"] == pytest.approx(stats.spearmanr(hyp, model).statistic, rel=1e-12)
    assert pla["ks"] == pytest.approx(stats.ks_2samp(hyp, model).statistic, rel=1e-12)
    with pytest.raises(
        InputError, match=f"no P&L for 1 of the 250 desk-test days, the first {days[7]}"
    ):
        compute_frtb(stock_book(q), h, actual_pnl={d: 0.0 for d in days if d != days[7]}, **SMALL)
    with pytest.raises(InputError, match="one P&L per desk-test day"):
        compute_frtb(stock_book(q), h, risk_model_pnl=[0.0] * 249, **SMALL)
    f.write_text("date,pnl\n2020-01-01,abc\n")
    with pytest.raises(InputError, match="line 2: pnl 'abc' is not a finite number"):
        compute_frtb(stock_book(q), h, actual_pnl=str(f), **SMALL)


def test_a_foreign_position_adds_its_fx_rate_as_an_fx_factor():
    h = regime_history(symbols=("SAP", "EURUSD", "USDTHB"))
    book = Portfolio((Position("sap", Equity("SAP", currency="EUR"), 100),))
    r = compute_frtb(book, h, **SMALL)
    got = {f["factor"]: (f["risk_class"], f["liquidity_horizon"]) for f in r.factors}
    assert got == {"SAP": ("equity", 10), "EURUSD": ("fx", 10)}
    assert set(r.imcc["by_class"]) == {"equity", "fx"}


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"window": 5}, "window must be an integer >= 10; got 5"),
        ({"averaging_days": 0}, "averaging_days must be an integer >= 1; got 0"),
        ({"backtest_window": 50}, "backtest_window must be an integer >= 100; got 50"),
        ({"stressed_window": "2020-13-01"}, "stressed_window start '2020-13-01' is not an ISO"),
        ({"stressed_window": "2099-01-01"}, "is after the history's last date"),
        ({"window": 500}, "needs 501 closes"),
    ],
)
def test_bad_parameters_are_refused_naming_them(kwargs, message):
    h = regime_history()
    with pytest.raises((InputError, InsufficientHistoryError), match=message):
        compute_frtb(stock_book({"A": 1.0}), h, **(SMALL | kwargs))
