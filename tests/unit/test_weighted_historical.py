"""Weighted historical simulation: age weighting (Boudoukh-Richardson-Whitelaw) and volatility
filtering (Hull-White), against hand computations written out in the tests."""

from __future__ import annotations

import numpy as np
import pytest

from riskengine import InputError, RiskCache, compute_risk
from riskengine.scenarios.historical import historical_scenarios
from support import gaussian_history, history_from_returns, stock_book

EXPOSURE = 1_000_000.0


def _book(history, exposures):
    """Stock positions worth exactly ``exposures[symbol]`` at the last close."""
    return stock_book({s: e / history.prices[-1, history.column[s]] for s, e in exposures.items()})


def _hand_var_es(losses, weights, c):
    """VaR_c = inf{x : P(L <= x) >= c} and the Acerbi-Tasche ES on a weighted sample, by loops."""
    total = sum(weights)
    pairs = sorted(zip(losses, [w / total for w in weights], strict=True))
    cum = 0.0
    var = None
    for loss, w in pairs:
        cum += w
        if cum >= c - 1e-12:
            var = loss
            break
    p_le = sum(w for loss, w in pairs if loss <= var)
    above = sum(w * loss for loss, w in pairs if loss > var)
    return var, (above + var * (p_le - c)) / (1.0 - c)


def _hand_h_day(daily, h):
    """Overlapping h-day returns prod(1 + r) - 1 by loops, oldest first."""
    out = []
    for t in range(len(daily) - h + 1):
        g = 1.0
        for s in range(h):
            g *= 1.0 + daily[t + s]
        out.append(g - 1.0)
    return out


# ---------------------------------------------------------------------------------------------
# Age weighting (BRW)


@pytest.fixture(scope="module")
def hist():
    return gaussian_history(n_obs=600, k=3, seed=21)


@pytest.mark.parametrize("horizon", [1, 10])
def test_age_weighting_with_decay_one_is_plain_historical_exactly(hist, horizon):
    book = _book(hist, {"S0": 2e6, "S1": -1e6, "S2": 5e5})
    confidences = (0.9, 0.95, 0.975, 0.99)
    common = dict(method="historical", window=500, horizon_days=horizon, confidence=confidences)
    plain = compute_risk(book, hist, **common)
    aged = compute_risk(book, hist, historical_weighting="age", decay=1.0, **common)
    assert aged.measures == plain.measures  # every field bit for bit, standard errors included
    assert aged.parameters["historical_weighting"] == "age"
    assert aged.parameters["decay"] == 1.0
    assert plain.parameters["historical_weighting"] == "none"


RETURNS_12 = [
    0.012,
    -0.021,
    0.004,
    -0.035,
    0.018,
    -0.009,
    0.0,
    -0.021,
    0.015,
    -0.028,
    0.007,
    -0.016,
]


@pytest.mark.parametrize("horizon", [1, 2])
@pytest.mark.parametrize("decay", [0.8, 0.95])
def test_age_weighted_var_es_equal_hand_weighted_quantile_and_tail_mean(horizon, decay):
    h = history_from_returns(RETURNS_12)
    confidences = (0.8, 0.85, 0.9)
    rep = compute_risk(
        _book(h, {"S0": EXPOSURE}),
        h,
        method="historical",
        window=12,
        horizon_days=horizon,
        confidence=confidences,
        historical_weighting="age",
        decay=decay,
    )
    scen = _hand_h_day(RETURNS_12, horizon)
    n = len(scen)
    losses = [-EXPOSURE * x for x in scen]
    # the scenario ending i days before the window's end (the last one: i = 0) weighs decay^i
    weights = [decay ** (n - 1 - j) for j in range(n)]
    differs = False
    for c in confidences:
        var, es = _hand_var_es(losses, weights, c)
        m = rep.measure(c)
        assert m.value_at_risk == pytest.approx(var, rel=1e-9)
        assert m.expected_shortfall == pytest.approx(es, rel=1e-9)
        assert m.value_at_risk_standard_error is None
        assert m.expected_shortfall_standard_error is None
        plain_var, plain_es = _hand_var_es(losses, [1.0] * n, c)
        differs |= abs(plain_es - es) > 1.0 or abs(plain_var - var) > 1.0
    assert differs, "the case does not tell weighted from plain historical simulation"
    assert rep.parameters["historical_weighting"] == "age"
    assert rep.parameters["decay"] == decay
    assert any("no standard errors" in note for note in rep.notes)
    assert rep.n_scenarios == n


def test_age_decay_recent_loss_dominates():
    # One big loss on the last day: with strong decay it carries more than 1 - c of the weight.
    r = [0.001 * ((-1) ** t) for t in range(99)] + [-0.05]
    h = history_from_returns(r)
    book = _book(h, {"S0": EXPOSURE})
    rep = compute_risk(book, h, window=100, confidence=0.99, historical_weighting="age", decay=0.9)
    # weight of the last scenario = 0.1 / (1 - 0.9^100) > 0.01: VaR = ES = the big loss
    assert rep.measure(0.99).value_at_risk == pytest.approx(0.05 * EXPOSURE, rel=1e-9)
    assert rep.measure(0.99).expected_shortfall == pytest.approx(0.05 * EXPOSURE, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Volatility filtering (Hull-White)


def _hand_filtered(returns, lam):
    """Hull-White rescaling by loops: EWMA variance started from the mean square of the first
    20 returns (all of them if fewer); sigma_t is the estimate before day t's return and
    sigma_now the forecast after the last one; r*_t = r_t sigma_now / sigma_t."""
    n, p = len(returns), len(returns[0])
    out = [[0.0] * p for _ in range(n)]
    for j in range(p):
        seed_days = min(20, n)
        var = [sum(returns[t][j] ** 2 for t in range(seed_days)) / seed_days]
        for t in range(n):
            var.append(lam * var[t] + (1.0 - lam) * returns[t][j] ** 2)
        now = var[n] ** 0.5
        for t in range(n):
            out[t][j] = returns[t][j] * now / var[t] ** 0.5
    return out


@pytest.mark.parametrize("n_obs", [6, 25])
def test_filtered_scenarios_equal_hand_rescaling(n_obs):
    base = [
        [0.010, -0.004],
        [-0.020, 0.006],
        [0.005, 0.012],
        [0.030, -0.015],
        [-0.012, 0.002],
        [0.008, -0.020],
    ]
    daily = [
        base[t % 6] if t < 6 else [x * (1 + 0.1 * t) for x in base[t % 6]] for t in range(n_obs)
    ]
    lam = 0.9
    h = history_from_returns(daily)
    expected = _hand_filtered(daily, lam)
    idx = len(h.dates) - 1
    cols = np.arange(2)
    one = historical_scenarios(h, idx, n_obs, 1, cols, weighting="filtered", ewma_lambda=lam)
    assert np.allclose(one.returns, expected, rtol=1e-12, atol=0)
    two = historical_scenarios(h, idx, n_obs, 2, cols, weighting="filtered", ewma_lambda=lam)
    for j in range(2):
        col = [expected[t][j] for t in range(n_obs)]
        assert np.allclose(two.returns[:, j], _hand_h_day(col, 2), rtol=1e-12, atol=0)
    # Through compute_risk: a two-stock book, equally weighted scenarios.
    exposures = {"S0": EXPOSURE, "S1": -2 * EXPOSURE}
    rep = compute_risk(
        _book(h, exposures),
        h,
        method="historical",
        window=n_obs,
        confidence=0.8,
        historical_weighting="filtered",
        ewma_lambda=lam,
    )
    losses = [-(exposures["S0"] * row[0] + exposures["S1"] * row[1]) for row in expected]
    var, es = _hand_var_es(losses, [1.0] * n_obs, 0.8)
    assert rep.measure(0.8).value_at_risk == pytest.approx(var, rel=1e-9)
    assert rep.measure(0.8).expected_shortfall == pytest.approx(es, rel=1e-9)
    assert rep.parameters["historical_weighting"] == "filtered"
    assert rep.parameters["ewma_lambda"] == lam


@pytest.fixture(scope="module")
def step_history():
    """Two factors: 1% daily volatility for 300 days, then 3% for 300 days (a fixed draw)."""
    z = np.random.default_rng(7).standard_normal((600, 2))
    vol = np.r_[np.full(300, 0.01), np.full(300, 0.03)]
    return history_from_returns(z * vol[:, None]), z * vol[:, None]


def _ewma_vol_now(r, lam=0.94):
    var = np.mean(r[:20] ** 2, axis=0)
    for row in r:
        var = lam * var + (1 - lam) * row**2
    return np.sqrt(var)


def test_filtered_scenarios_have_todays_volatility_after_a_volatility_step(step_history):
    h, r = step_history
    now = _ewma_vol_now(r)
    idx = len(h.dates) - 1
    scen = historical_scenarios(h, idx, 600, 1, np.arange(2), weighting="filtered")
    # The calm first half is scaled up to today's volatility (unfiltered it is about 1/3 of it).
    assert np.allclose(scen.returns[:300].std(axis=0) / now, 1.0, atol=0.1)
    assert np.all(r[:300].std(axis=0) / now < 0.5)
    assert np.allclose(scen.returns[330:].std(axis=0) / now, 1.0, atol=0.1)
    assert np.allclose(scen.returns.std(axis=0) / now, 1.0, atol=0.15)
    # ... and so the book's VaR follows today's volatility, not the window's average.
    book = _book(h, {"S0": EXPOSURE})
    common = dict(method="historical", window=600, confidence=(0.95, 0.99))
    filtered = compute_risk(book, h, historical_weighting="filtered", **common)
    plain = compute_risk(book, h, **common)
    for c, z in ((0.95, 1.645), (0.99, 2.326)):
        ratio = filtered.measure(c).value_at_risk / (EXPOSURE * now[0] * z)
        assert 0.85 < ratio < 1.2
        assert filtered.measure(c).value_at_risk > plain.measure(c).value_at_risk


def test_filtered_standard_errors_one_day_only(step_history):
    h, _ = step_history
    book = _book(h, {"S0": EXPOSURE, "S1": EXPOSURE})
    common = dict(method="historical", window=600, historical_weighting="filtered", half_life=20)
    one = compute_risk(book, h, **common)
    assert one.measure(0.99).value_at_risk_standard_error > 0
    assert one.measure(0.99).expected_shortfall_standard_error > 0
    assert any("independent draws" in note for note in one.notes)
    assert one.parameters["ewma_lambda"] == pytest.approx(0.5 ** (1 / 20), rel=1e-15)
    ten = compute_risk(book, h, horizon_days=10, **common)
    assert ten.measure(0.99).value_at_risk_standard_error is None
    assert any("not independent" in note for note in ten.notes)


def test_scenario_cache_keeps_weightings_apart(hist):
    cache = RiskCache()
    book = _book(hist, {"S0": 2e6, "S1": -1e6})
    common = dict(method="historical", window=500, confidence=0.99, cache=cache)
    results = [
        compute_risk(book, hist, **common, **kw).measure(0.99).expected_shortfall
        for kw in (
            {},
            dict(historical_weighting="filtered"),
            dict(historical_weighting="filtered", ewma_lambda=0.97),
            dict(historical_weighting="age", decay=0.99),
            dict(historical_weighting="age", decay=0.98),
        )
    ]
    assert len(set(results)) == 5
    assert (cache.scenarios.hits, cache.scenarios.misses) == (0, 5)
    again = compute_risk(book, hist, historical_weighting="age", decay=0.98, **common)
    assert again.measure(0.99).expected_shortfall == results[-1]
    assert cache.scenarios.hits == 1


@pytest.mark.parametrize(
    "kw,field",
    [
        (dict(historical_weighting="age", decay=0), "decay"),
        (dict(historical_weighting="age", decay=1.5), "decay"),
        (dict(historical_weighting="filtered", ewma_lambda=1.2), "ewma_lambda"),
        (dict(historical_weighting="filtered", ewma_lambda=0.0), "ewma_lambda"),
    ],
)
def test_bad_weighting_parameters_are_input_errors_naming_the_field(hist, kw, field):
    with pytest.raises(InputError, match=field):
        compute_risk(_book(hist, {"S0": EXPOSURE}), hist, method="historical", **kw)


def test_filtered_move_beyond_minus_100_percent_is_flagged():
    # A -50% day among 0.1% days: today's volatility, still raised by it, times -50% / 0.1%
    # rescales that day far below -100%.
    r = [0.001 * (-1) ** t for t in range(60)]
    r[40] = -0.5
    h = history_from_returns(r)
    rep = compute_risk(
        _book(h, {"S0": EXPOSURE}), h, window=60, confidence=0.95, historical_weighting="filtered"
    )
    assert [f["code"] for f in rep.data_quality] == ["filtered_return_below_minus_one"]
    plain = compute_risk(_book(h, {"S0": EXPOSURE}), h, window=60, confidence=0.95)
    assert plain.data_quality == ()
