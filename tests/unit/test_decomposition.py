"""Risk contributions: marginal, component, incremental and standalone VaR, component ES.

Oracles and invariants:

* components add up to VaR and ES (1e-9 relative) for every method and variant;
* component ES equals a brute-force tail average of the full per-position P&L matrix with the
  weights written out here from the ES definition;
* incremental VaR equals VaR minus compute_risk's VaR of the book without the position (or tag
  group), same scenarios; standalone VaR equals compute_risk on the one-position (one-group)
  book;
* parametric component VaR equals a central finite difference of compute_risk's VaR when one
  position's quantity is scaled (Euler), and marginal VaR x exposure equals it;
* by-tag numbers are the sums of their positions; a perfect hedge pair's components cancel;
* decomposing a Monte Carlo run allocates far less than the per-position P&L cube.
"""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc

import numpy as np
import pytest

import riskengine.decomposition as decomposition
from riskengine import (
    Equity,
    EuropeanOption,
    Future,
    FxSpot,
    InputError,
    Portfolio,
    Position,
    compute_risk,
    trade_impact,
)
from riskengine.cli import main
from riskengine.core.measures import value_at_risk
from riskengine.decomposition.local import local_terms
from riskengine.decomposition.revalue import PositionPnl
from riskengine.decomposition.selection import LargestValues, below, kept_count
from riskengine.pipeline import RiskSpec
from support import history_from_returns

SYMBOLS = ("AAA", "BBB", "CCC", "SAP", "EURUSD")
START = (100.0, 50.0, 20.0, 120.0, 1.10)


@pytest.fixture(scope="module")
def hist():
    rng = np.random.default_rng(5)
    vols = np.array([0.015, 0.02, 0.012, 0.014, 0.006])
    corr = np.full((5, 5), 0.3) + 0.7 * np.eye(5)
    corr[3, 4] = corr[4, 3] = -0.3
    z = rng.multivariate_normal(np.zeros(5), corr * np.outer(vols, vols), size=320)
    z *= np.sqrt(3.0 / rng.chisquare(5, size=(320, 1)))  # fat tails: skewness and kurtosis
    return history_from_returns(z, symbols=SYMBOLS, start_prices=START)


def _option(h, underlying, strike, days, kind, currency="USD"):
    return EuropeanOption(
        underlying=underlying,
        strike=strike,
        expiry=h.last_date + dt.timedelta(days=days),
        option_type=kind,
        implied_vol=0.3,
        rate=0.02,
        currency=currency,
    )


def _tags(text):
    return tuple(tuple(part.split("=")) for part in text.split(";") if part)


def _book(h, fx: bool = True) -> Portfolio:
    last = {s: h.prices[-1, h.column[s]] for s in SYMBOLS}
    positions = [
        Position("aaa", Equity("AAA"), 1000.0, tags=_tags("desk=a;sector=x")),
        Position("bbb", Equity("BBB"), -800.0, tags=_tags("desk=a")),
        Position("ccc", Future("CCC"), 3.0, multiplier=50.0, tags=_tags("desk=b")),
        Position(
            "call", _option(h, "AAA", last["AAA"], 60, "call"), 10.0, 100.0, _tags("sector=x")
        ),
        Position(
            "put", _option(h, "BBB", 0.9 * last["BBB"], 30, "put"), -5.0, 100.0, _tags("desk=b")
        ),
    ]
    if fx:
        positions += [
            Position("sap", Equity("SAP", "EUR"), 200.0, tags=_tags("desk=b;sector=y")),
            Position("sapc", _option(h, "SAP", last["SAP"], 90, "call", "EUR"), 3.0, 100.0),
            Position("eur", FxSpot("EURUSD"), 40_000.0, tags=_tags("sector=y")),
        ]
    return Portfolio(tuple(positions), "book")


SPECS = {
    "historical": dict(method="historical", window=300),
    "historical-age": dict(method="historical", window=300, historical_weighting="age", decay=0.98),
    "historical-filtered": dict(method="historical", window=300, historical_weighting="filtered"),
    "historical-10d": dict(method="historical", window=300, horizon_days=10),
    "parametric-delta-gamma": dict(method="parametric", window=300),
    "parametric-delta": dict(method="parametric", window=300, approximation="delta"),
    "parametric-t": dict(method="parametric", window=300, distribution="student-t", df=4.0),
    "parametric-cf": dict(method="parametric", window=300, distribution="cornish-fisher"),
    "parametric-sample-mean": dict(method="parametric", window=300, mean="sample", horizon_days=5),
    "montecarlo": dict(method="montecarlo", window=300, n_scenarios=4000, seed=3),
    "montecarlo-full": dict(
        method="montecarlo", window=300, n_scenarios=4000, seed=3, revaluation="full"
    ),
    "montecarlo-antithetic": dict(
        method="montecarlo", window=300, n_scenarios=4001, seed=3, sampling="antithetic"
    ),
    "montecarlo-sobol": dict(
        method="montecarlo", window=300, n_scenarios=4096, seed=3, sampling="sobol", n_scrambles=4
    ),
    "montecarlo-t": dict(
        method="montecarlo", window=300, n_scenarios=4000, seed=3, distribution="student-t"
    ),
}
CONF = (0.95, 0.99)


def _run(book, h, name, **extra):
    return compute_risk(book, h, confidence=CONF, contributions=True, **(SPECS[name] | extra))


def _var(book, h, name, **extra):
    rep = compute_risk(book, h, confidence=CONF, **(SPECS[name] | extra))
    return np.array([m.value_at_risk for m in rep.measures])


def _without(book: Portfolio, ids) -> Portfolio:
    return Portfolio(tuple(p for p in book.positions if p.id not in ids), book.name)


@pytest.fixture
def captured(monkeypatch):
    """The (ctx, result, portfolio) that compute_risk hands to decompose."""
    seen = {}
    real = decomposition.decompose

    def spy(ctx, result, portfolio, **kw):
        seen["ctx"], seen["result"] = ctx, result
        return real(ctx, result, portfolio, **kw)

    monkeypatch.setattr(decomposition, "decompose", spy)
    return seen


# ---------------------------------------------------------------------------------------------
# Components add up


@pytest.mark.parametrize("name", list(SPECS))
def test_components_add_up_to_var_and_es_and_tags_to_their_positions(hist, name):
    rep = _run(_book(hist), hist, name)
    c = rep.contributions
    for j, m in enumerate(rep.measures):
        assert c.positions.component_var[j].sum() == pytest.approx(m.value_at_risk, rel=1e-9)
        assert c.positions.component_es[j].sum() == pytest.approx(m.expected_shortfall, rel=1e-9)
        assert c.value_at_risk[j] == m.value_at_risk
        # each tag group is the sum of its positions; the groups of one key cover the book
        for u, key in enumerate(c.tag_keys):
            members = [
                i
                for i, p in enumerate(c.position_ids)
                if dict(_book(hist).positions[i].tags).get(key) == c.tag_values[u]
            ]
            for field in ("component_var", "component_es"):
                got = getattr(c.tags, field)[j, u]
                assert got == pytest.approx(getattr(c.positions, field)[j, members].sum(), 1e-12)
            assert c.tags.exposure[u] == pytest.approx(c.positions.exposure[members].sum())
        for key in set(c.tag_keys):
            cols = [u for u, k in enumerate(c.tag_keys) if k == key]
            assert c.tags.component_var[j, cols].sum() == pytest.approx(m.value_at_risk, 1e-9)
    # marginal x exposure = component
    both = c.positions.exposure != 0
    assert np.allclose(
        c.positions.marginal_var[:, both] * c.positions.exposure[both],
        c.positions.component_var[:, both],
        rtol=1e-12,
    )
    assert c.diversification_benefit(0.99) == pytest.approx(
        c.positions.standalone_var[1].sum() - rep.measure(0.99).value_at_risk
    )


def _es_weights_brute_force(losses, weights, c):
    """theta with ES = sum(theta L) / (1 - c), from the ES definition written out."""
    var = value_at_risk(-losses, c, weights=weights)
    w = np.full(losses.size, 1.0 / losses.size) if weights is None else weights / weights.sum()
    theta = np.where(losses > var, w, 0.0)
    at = losses == var
    p_le = w[losses <= var].sum()
    theta[at] = (p_le - c) * w[at] / w[at].sum()
    return theta


@pytest.mark.parametrize(
    "name", ["historical", "historical-age", "montecarlo-full", "montecarlo-antithetic"]
)
def test_component_es_is_the_tail_average_of_the_position_pnl(hist, name, captured):
    book = _book(hist)
    rep = _run(book, hist, name, **({"revaluation": "full"} if "montecarlo" in name else {}))
    ctx, result = captured["ctx"], captured["result"]
    source = result.basis.scenarios
    full = PositionPnl(ctx.book)(source.rows(np.arange(source.n_scenarios)))  # small book
    losses = -full.sum(axis=1)
    assert np.allclose(losses, -result.pnl, rtol=1e-12, atol=1e-9)
    for j, c in enumerate(CONF):
        theta = _es_weights_brute_force(-result.pnl, source.weights, c)
        want = theta @ (-full) / (1.0 - c)
        got = rep.contributions.positions.component_es[j]
        assert np.allclose(got, want, rtol=1e-10, atol=1e-9 * abs(want).max())


def test_component_es_with_a_fractional_boundary_weight(captured):
    # 250 scenarios at 0.99: n (1 - c) = 2.5 worst scenarios, the third counts half
    rng = np.random.default_rng(2)
    h = history_from_returns(rng.normal(0, 0.01, size=(250, 2)), symbols=("X", "Y"))
    book = Portfolio((Position("x", Equity("X"), 100.0), Position("y", Equity("Y"), 50.0)))
    rep = compute_risk(book, h, window=250, confidence=0.99, contributions=True)
    losses = -captured["result"].pnl
    full = PositionPnl(captured["ctx"].book)(
        captured["result"].basis.scenarios.rows(np.arange(250))
    )
    worst = np.argsort(losses)[::-1][:3]
    want = (-full[worst[0]] - full[worst[1]] - 0.5 * full[worst[2]]) / 2.5
    assert np.allclose(rep.contributions.positions.component_es[0], want, rtol=1e-12)


def test_component_var_is_a_kernel_average_near_the_var(hist, captured):
    book = _book(hist, fx=False)
    rep = _run(book, hist, "montecarlo-full", n_scenarios=20_000)
    result = captured["result"]
    full = PositionPnl(captured["ctx"].book)(result.basis.scenarios.rows(np.arange(20_000)))
    losses = -result.pnl
    summary = rep.contributions.summary()[1]
    h_bw, var = summary["kernel_bandwidth"], rep.measure(0.99).value_at_risk
    u = (losses - var) / h_bw
    k = np.where(np.abs(u) <= 4.0, np.exp(-0.5 * u * u), 0.0)
    means = k @ (-full) / k.sum()
    assert summary["kernel_mean_loss"] == pytest.approx(means.sum(), rel=1e-10)
    assert summary["component_var_adjustment"] == "scaled"
    got = rep.contributions.positions.component_var[1]
    assert np.allclose(got, means * var / means.sum(), rtol=1e-10)
    # Silverman: 0.9 min(sd, IQR / 1.349) n^(-1/5)
    q75, q25 = np.quantile(losses, [0.75, 0.25], method="inverted_cdf")
    sd = losses.std()
    assert h_bw == pytest.approx(0.9 * min(sd, (q75 - q25) / 1.349) * 20_000**-0.2, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Incremental and standalone VaR against recomputation


@pytest.mark.parametrize(
    "name",
    [
        "historical",
        "historical-age",
        "historical-10d",
        "parametric-delta-gamma",
        "parametric-delta",
        "parametric-t",
        "parametric-cf",
        "parametric-sample-mean",
        "montecarlo-full",
    ],
)
def test_incremental_and_standalone_var_equal_recomputation(hist, name):
    book = _book(hist)
    rep = _run(book, hist, name)
    c = rep.contributions
    total = np.array([m.value_at_risk for m in rep.measures])
    scale = np.abs(total).max()
    for i, pos in enumerate(book.positions):
        without = _var(_without(book, {pos.id}), hist, name)
        assert np.allclose(c.positions.incremental_var[:, i], total - without, atol=1e-9 * scale)
        alone = _var(Portfolio((pos,)), hist, name)
        assert np.allclose(c.positions.standalone_var[:, i], alone, atol=1e-9 * scale)
    for u, (key, value) in enumerate(zip(c.tag_keys, c.tag_values, strict=True)):
        ids = {p.id for p in book.positions if dict(p.tags).get(key) == value}
        group = Portfolio(tuple(p for p in book.positions if p.id in ids))
        assert np.allclose(c.tags.standalone_var[:, u], _var(group, hist, name), atol=1e-9 * scale)
        rest = _var(_without(book, ids), hist, name)
        assert np.allclose(c.tags.incremental_var[:, u], total - rest, atol=1e-9 * scale)


def test_monte_carlo_grid_incremental_var_is_within_the_grid_error(hist):
    book = _book(hist)
    rep = _run(book, hist, "montecarlo")
    bound = rep.parameters["revaluation_error_bound"]
    total = np.array([m.value_at_risk for m in rep.measures])
    for i, pos in enumerate(book.positions):
        without = _var(_without(book, {pos.id}), hist, "montecarlo")
        got = rep.contributions.positions.incremental_var[:, i]
        assert np.all(np.abs(got - (total - without)) <= 2 * bound + 1e-9 * total.max())


# ---------------------------------------------------------------------------------------------
# Parametric: Euler derivatives


@pytest.mark.parametrize(
    "name", ["parametric-delta-gamma", "parametric-delta", "parametric-t", "parametric-cf"]
)
def test_parametric_component_var_is_the_derivative_of_var(hist, name):
    book = _book(hist)
    rep = _run(book, hist, name)
    c = rep.contributions
    eps = 1e-4
    for i in range(len(book.positions)):

        def scaled(f, i=i):
            return Portfolio(
                tuple(p.scaled(f) if k == i else p for k, p in enumerate(book.positions))
            )

        up, down = _var(scaled(1 + eps), hist, name), _var(scaled(1 - eps), hist, name)
        fd = (up - down) / (2 * eps)
        scale = abs(rep.measure(0.99).value_at_risk)
        assert np.allclose(c.positions.component_var[:, i], fd, atol=1e-6 * scale)
        # dVaR/d(exposure): the same derivative per unit of the position's exposure
        assert np.allclose(
            c.positions.marginal_var[:, i] * c.positions.exposure[i], fd, atol=1e-6 * scale
        )


def test_delta_normal_marginal_var_is_the_textbook_formula(hist):
    book = _book(hist, fx=False)
    lin = Portfolio(
        tuple(p for p in book.positions if not isinstance(p.instrument, EuropeanOption))
    )
    rep = compute_risk(lin, hist, method="parametric", window=300, contributions=True)
    cols = [hist.column[s] for s in ("AAA", "BBB", "CCC")]
    r = hist.returns(len(hist.prices) - 1, 300, np.array(cols), 1)
    cov = np.cov(r, rowvar=False, ddof=1)
    b = rep.contributions.positions.exposure
    sigma = np.sqrt(b @ cov @ b)
    from scipy.stats import norm

    assert np.allclose(
        rep.contributions.positions.marginal_var[0], norm.ppf(0.99) * cov @ b / sigma
    )


# ---------------------------------------------------------------------------------------------
# Hedges, schema, CLI, trades


@pytest.mark.parametrize("name", ["historical", "parametric-delta-gamma", "montecarlo"])
def test_a_perfect_hedge_pair_cancels(hist, name):
    pair = (
        Position("long", Equity("AAA"), 500.0, tags=_tags("desk=pair")),
        Position("short", Equity("AAA"), -500.0, tags=_tags("desk=pair")),
    )
    book = Portfolio(pair + (Position("ccc", Equity("CCC"), 300.0, tags=_tags("desk=rest")),))
    c = _run(book, hist, name).contributions
    scale = abs(c.value_at_risk[1])
    for field in ("component_var", "component_es"):
        arr = getattr(c.positions, field)
        assert np.allclose(arr[:, 0], -arr[:, 1], atol=1e-9 * scale), field
    pair_group = c.tag_values.index("pair")
    assert np.allclose(c.tags.component_var[:, pair_group], 0.0, atol=1e-9 * scale)
    assert np.allclose(c.tags.incremental_var[:, pair_group], 0.0, atol=1e-9 * scale)
    assert np.allclose(c.tags.standalone_var[:, pair_group], 0.0, atol=1e-9 * scale)
    # the pair alone: zero risk, components that cancel
    alone = _run(Portfolio(pair), hist, name).contributions
    assert np.allclose(alone.value_at_risk, 0.0, atol=1e-9)
    for field in ("component_var", "component_es"):
        arr = getattr(alone.positions, field)
        assert np.allclose(arr[:, 0], -arr[:, 1], atol=1e-9 * scale)
        assert np.allclose(arr.sum(axis=1), 0.0, atol=1e-9 * scale)


def test_report_schema_json_and_default_off(hist):
    book = _book(hist)
    assert compute_risk(book, hist, window=300).to_dict()["contributions"] is None
    rep = _run(book, hist, "historical")
    doc = json.loads(rep.to_json())["contributions"]
    assert set(doc) == {"estimator", "summary", "by_position", "by_tag"}
    assert len(doc["by_position"]) == len(CONF) * len(book.positions)
    row = doc["by_position"][0]
    assert set(row) == {
        "confidence",
        "id",
        "symbol",
        "exposure",
        "marginal_var",
        "component_var",
        "component_es",
        "incremental_var",
        "standalone_var",
    }
    assert (row["confidence"], row["id"], row["symbol"]) == (0.95, "aaa", "AAA")
    assert (
        rep.contributions.position("put", 0.99)["component_var"]
        == doc["by_position"][len(book.positions) + 4]["component_var"]
    )
    tag = rep.contributions.tag("desk", None, 0.99)
    assert tag["n_positions"] == sum("desk" not in dict(p.tags) for p in book.positions)
    assert doc["estimator"]["component_var"] == "kernel"
    table = rep.format_table()
    assert "contributions at 0.99" in table and "diversification benefit" in table
    with pytest.raises(InputError, match="contributions must be True or False"):
        RiskSpec(contributions="yes")


def test_cli_prints_the_contributions(tmp_path, capsys, real_history):
    code = main(
        [
            "risk",
            "--portfolio",
            "examples/book.csv",
            "--prices",
            "data/us_equities_daily.csv",
            "--method",
            "parametric",
            "--contributions",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "contributions at 0.99" in out and "by tag" in out and "eq-aapl (AAPL)" in out


def test_incremental_var_of_a_proposed_trade(hist):
    book = _book(hist, fx=False)
    trade = (Position("trade-1", Equity("CCC"), -2000.0), Position("trade-2", Equity("AAA"), 50.0))
    for spec in (
        RiskSpec(method="historical", window=300, confidence=CONF),
        RiskSpec(method="montecarlo", window=300, confidence=CONF, n_scenarios=3000),
    ):
        impact = trade_impact(book, hist, trade, spec)
        seed = impact.seed
        spec = spec.replace(seed=seed) if spec.method == "montecarlo" else spec
        before = compute_risk(book, hist, spec)
        after = compute_risk(Portfolio(book.positions + trade), hist, spec)
        for j, _ in enumerate(CONF):
            want = after.measures[j].value_at_risk - before.measures[j].value_at_risk
            assert impact.incremental_var[j] == pytest.approx(want, rel=1e-12)
        assert impact.to_dict()["results"][1]["incremental_var"] == impact.incremental_var[1]
    with pytest.raises(InputError, match="trade position id 'aaa' is already a position"):
        trade_impact(book, hist, Position("aaa", Equity("AAA"), 1.0))


# ---------------------------------------------------------------------------------------------
# Building blocks


def test_local_terms_add_up_to_the_book_sensitivities(hist, captured):
    _run(_book(hist), hist, "parametric-delta-gamma")
    book = captured["ctx"].book
    cols = book.columns
    a, b, g = book.sensitivities(cols)
    ta, tb, tg = local_terms(book, cols).book_terms(cols.size)
    g = np.diag(g) if g.ndim == 1 else g
    assert ta == pytest.approx(a, rel=1e-12)
    assert np.allclose(tb, b, rtol=1e-12) and np.allclose(tg, g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["historical", "montecarlo-full"])
def test_position_pnl_is_the_compiled_books_and_adds_up_to_its_pnl(hist, captured, name):
    _run(_book(hist), hist, name)
    book, result = captured["ctx"].book, captured["result"]
    rows = np.arange(min(result.basis.scenarios.n_scenarios, 700))
    returns = result.basis.scenarios.rows(rows)
    got = PositionPnl(book)(returns)
    if returns.dtype == np.float64:
        assert np.array_equal(got, book.position_pnl(returns))
    else:  # single-precision Monte Carlo returns: FX cross terms in double precision here
        want = book.position_pnl(returns)
        assert np.allclose(got, want, rtol=0, atol=1e-6 * np.abs(want).max())
    assert np.allclose(got.sum(axis=1), result.pnl[rows], rtol=1e-13, atol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
def test_largest_values_give_the_var_of_every_column(weighted):
    rng = np.random.default_rng(9)
    n, units = 3000, 40
    x = rng.standard_t(3, size=(n, units))
    x[:, 0] = 1.0  # all tied
    x[:, 1] = np.round(x[:, 1])  # many ties
    w = rng.uniform(0.2, 1.0, n) if weighted else None
    m = kept_count(n, (0.9, 0.99), w)
    seed = np.partition(x[:500], 500 - m, axis=0)[500 - m] if m <= 500 else None
    for floor in (None, below(seed) if seed is not None else None):
        kept = LargestValues(units, m, floor, limit=5 * units)  # small: compacts often
        for start in range(0, n, 256):
            kept.offer(x[start : start + 256], start)
        for (got, _), c in zip(kept.var_at(n, (0.9, 0.99), w), (0.9, 0.99), strict=True):
            want = [value_at_risk(-x[:, u], c, weights=w) for u in range(units)]
            assert np.array_equal(got, want)


def test_decomposition_allocates_far_less_than_the_position_cube(captured):
    rng = np.random.default_rng(4)
    k, n_pos, paths = 10, 400, 100_000
    h = history_from_returns(rng.normal(0, 0.01, size=(300, k)))
    book = Portfolio(
        tuple(
            Position(f"p{i}", Equity(f"S{i % k}"), float(rng.integers(-100, 100) or 1))
            for i in range(n_pos)
        )
    )
    compute_risk(
        book, h, method="montecarlo", n_scenarios=paths, seed=1, window=250, contributions=True
    )
    ctx, result = captured["ctx"], captured["result"]
    cube = paths * n_pos * 8  # 320 MB
    tracemalloc.start()
    try:
        c = decomposition.decompose(ctx, result, book)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < cube / 4, f"peak {peak / 1e6:.0f} MB against a {cube / 1e6:.0f} MB cube"
    assert c.positions.component_es[0].sum() == pytest.approx(c.expected_shortfall[0], rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Incremental and standalone VaR at scale: the tail prefix and the column pass


def _many(h) -> Portfolio:
    """The test book plus 60 small positions (stocks, a foreign stock, options): each is a
    small part of the book, so its incremental VaR is read off the tail prefix."""
    last = {s: h.prices[-1, h.column[s]] for s in SYMBOLS}
    rng = np.random.default_rng(11)
    extra = []
    for i in range(60):
        name = ("AAA", "BBB", "CCC", "SAP")[i % 4]
        qty = float(rng.integers(-20, 21) or 1)
        if i % 5 == 4 and name != "SAP":
            kind = "call" if i % 2 else "put"
            option = _option(h, name, round(last[name] * rng.uniform(0.9, 1.1), 2), 45, kind)
            extra.append(Position(f"o{i}", option, qty / 10, 100.0))
        else:
            currency = "EUR" if name == "SAP" else "USD"
            extra.append(Position(f"s{i}", Equity(name, currency), qty))
    return Portfolio(_book(h).positions + tuple(extra), "many")


@pytest.mark.parametrize("case", ["montecarlo-kept", "montecarlo-drawn", "historical-age"])
def test_incremental_and_standalone_var_at_scale_equal_brute_force(hist, case, monkeypatch):
    """Oracle: each position's P&L on every scenario (the cube, small here), the VaR of the
    book without it and of the position alone by ``value_at_risk``; the tail prefix (most
    positions) and the streamed pass (the others) give the same numbers, whether the Monte
    Carlo paths are kept or drawn again."""
    import riskengine.decomposition.selection as selection
    from riskengine.cache import RiskCache

    book = _many(hist)
    pruned = []
    prefix_vars = selection._prefix_vars

    def spy(revalue, source, losses, prefix, units, *rest):
        pruned.append(units.size)
        return prefix_vars(revalue, source, losses, prefix, units, *rest)

    monkeypatch.setattr(selection, "_prefix_vars", spy)
    name = "historical-age" if case == "historical-age" else "montecarlo-full"
    cache = RiskCache(scenario_bytes=1 if case == "montecarlo-drawn" else 512 * 2**20)
    captured = {}
    decompose = selection.stream_vars

    def keep(revalue, pnl, *args, **kw):
        captured["pnl"], captured["revalue"] = pnl, revalue
        return decompose(revalue, pnl, *args, **kw)

    monkeypatch.setattr("riskengine.decomposition.contributions.stream_vars", keep, raising=True)
    rep = _run(book, hist, name, cache=cache)
    pnl, revalue = captured["pnl"], captured["revalue"]
    assert pnl.scenarios.stored is (case != "montecarlo-drawn")
    cube = np.concatenate([revalue(pnl.scenarios.block(b)) for b in range(pnl.scenarios.n_blocks)])
    total = pnl.total
    w = pnl.weights
    c = rep.contributions
    var = np.array([m.value_at_risk for m in rep.measures])
    scale = np.abs(var).max()
    for i in range(cube.shape[1]):
        without = [value_at_risk(total - cube[:, i], q, weights=w) for q in CONF]
        alone = [value_at_risk(cube[:, i], q, weights=w) for q in CONF]
        assert np.allclose(c.positions.incremental_var[:, i], var - without, atol=1e-9 * scale)
        assert np.allclose(c.positions.standalone_var[:, i], alone, atol=1e-9 * scale)
    if case != "historical-age":
        assert pruned and pruned[0] >= 40  # most positions went through the tail prefix


def test_memory_stays_bounded_at_a_million_paths(hist):
    """1,000,000 Monte Carlo paths with every contribution of the 68-position book: the peak
    of the memory allocated during the run (NumPy's arrays included) stays far below the
    positions x paths cube (544 MB), and the components still add up."""
    import tracemalloc

    book = _many(hist)
    n = 1_000_000
    cube = n * len(book.positions) * 8
    tracemalloc.start()
    try:
        rep = compute_risk(
            book, hist, method="montecarlo", window=300, n_scenarios=n, seed=2,
            confidence=CONF, contributions=True,
        )  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    c = rep.contributions
    total = np.array([m.value_at_risk for m in rep.measures])
    assert np.allclose(c.positions.component_var.sum(axis=1), total, rtol=1e-9)
    assert np.all(np.isfinite(c.positions.incremental_var))
    assert np.all(np.isfinite(c.positions.standalone_var))
    assert peak < 0.4 * cube, f"peak {peak / 2**20:.0f} MiB against a cube of {cube / 2**20:.0f}"
