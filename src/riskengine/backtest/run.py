"""``run_backtest``: roll one or more methods through history with today's book held constant,
and test their forecasts against the book's hypothetical next-day P&L."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from riskengine.backtest.progress import TextProgress
from riskengine.backtest.result import BacktestResult, BacktestStatistics, MethodBacktest
from riskengine.backtest.rolling import ROLLERS, BacktestSetup, RolledMethod
from riskengine.backtest.stats import (
    BASEL_DAYS,
    acerbi_szekely_z2,
    christoffersen_independence,
    conditional_coverage,
    exception_flags,
    kupiec_pof,
    rolling_traffic_light,
    simulation_p_value,
    traffic_light,
    transitions,
)
from riskengine.core.random import draw_seed
from riskengine.errors import InputError, InsufficientHistoryError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory
from riskengine.market.snapshot import market_snapshot
from riskengine.pricing.compiled import compile_snapshot
from riskengine.spec import RiskSpec
from riskengine.version import __version__

BACKTEST_PATHS = 2_000  # Monte Carlo paths per day unless n_scenarios is given
NULL_SIMULATIONS = 2_000  # simulated backtests behind the Z2 p-value
_SIM_ELEMENTS = 4_000_000  # simulated losses held at once
# RiskSpec fields the backtest sets itself (or that do not apply to a 1-day backtest).
_OWN_FIELDS = ("method", "confidence", "window", "horizon_days", "calibration_end", "preset")


def _methods(methods) -> tuple[str, ...]:
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    if not names:
        raise InputError(f"methods needs at least one of: {', '.join(ROLLERS)}.")
    for m in names:
        if m not in ROLLERS:
            raise InputError(f"method {m!r} is not one of: {', '.join(ROLLERS)}.")
    return tuple(dict.fromkeys(names))


def _date(value, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{name} {value!r} is not an ISO date (YYYY-MM-DD).") from None


def _specs(methods, window, confidence, spec_fields) -> tuple[dict, int]:
    valid = [f.name for f in dataclasses.fields(RiskSpec) if f.name not in _OWN_FIELDS]
    given = dict(spec_fields)
    if given.get("horizon_days", 1) != 1:
        raise InputError(
            f"horizon_days must be 1 in a backtest (1-day VaR against next-day P&L); "
            f"got {given['horizon_days']!r}."
        )
    given.pop("horizon_days", None)
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise InputError(
            f"unknown or fixed parameter(s) {', '.join(unknown)} for a backtest; valid: "
            f"{', '.join(valid)}."
        )
    seed = given.pop("seed", None)
    if seed is None:
        seed = draw_seed()
    given.setdefault("n_scenarios", BACKTEST_PATHS)
    specs = {
        m: RiskSpec(
            method=m, confidence=confidence, window=window, horizon_days=1, seed=seed, **given
        )
        for m in methods
    }
    return specs, int(seed)


def _setup(portfolio: Portfolio, history: FactorHistory, spec):
    """Compile today's book, compute its P&L under every daily return up to as_of."""
    snapshot = market_snapshot(history, spec.as_of)
    index = snapshot.index
    # a bad print anywhere up to as-of (the book is revalued on every day) is handled
    snapshot, flags = snapshot.screened(0, index, spec.bad_prints)
    first = compile_snapshot(portfolio, snapshot, 1, spec.base_currency)
    # the book's own columns only: every daily return of them is a P&L of the book
    universe = snapshot.universe[first.columns]
    book = compile_snapshot(portfolio, snapshot.restricted(universe), 1, spec.base_currency)
    prices = history.prices[: index + 1, universe]
    returns = prices[1:] / prices[:-1] - 1.0
    ok = np.all(np.isfinite(returns), axis=1)
    pnl = np.full(index, np.nan)
    if ok.any():
        pnl[ok] = book.pnl(returns[ok])
    return index, universe, book, pnl, flags


def _days(history, index, universe, window, start, end) -> tuple[np.ndarray, list[str]]:
    """Backtest rows t: a complete window of ``window`` returns ending at t and a close at t+1
    (t + 1 <= index)."""
    notes = []
    complete = np.all(np.isfinite(history.prices[: index + 1, universe]), axis=1)
    bad = np.concatenate([[0], np.cumsum(~complete)])  # bad[k] = incomplete rows before k

    def valid(t):  # rows t - window .. t + 1 all complete
        return t - window >= 0 and t + 1 <= index and bad[t + 2] - bad[t - window] == 0

    last_possible = index - 1
    if last_possible - window < 0:
        raise InsufficientHistoryError(
            f"a backtest with a window of {window} daily returns needs at least {window + 2} "
            f"closes up to as_of {history.date_at(index)}; the history has {index + 1}. "
            "Shorten --window or import more history."
        )
    if end is None:
        hi = last_possible
    else:
        hi = history.index_of(end)
        if hi > last_possible:
            raise InputError(
                f"end {end} leaves no next-day P&L: the last day with one before as_of "
                f"{history.date_at(index)} is {history.date_at(last_possible)}. Use an earlier "
                "--end, or a later --as-of."
            )
    if hi < window:
        raise InsufficientHistoryError(
            f"end {end}: a window of {window} daily returns needs {window + 1} closes up to the "
            f"last day; the earliest possible day is {history.date_at(window)}. Use a later "
            "--end or a shorter --window."
        )
    if start is None:
        lo = hi
        if not valid(hi):
            raise InsufficientHistoryError(_missing(history, universe, hi, window, index))
        while lo - 1 >= window and valid(lo - 1):
            lo -= 1
        if lo > window:
            notes.append(
                f"the backtest starts on {history.date_at(lo)}: earlier windows miss closes of "
                "the book's factors"
            )
    else:
        lo = int(np.searchsorted(history.dates, np.datetime64(start, "D"), side="left"))
        if lo < window:
            raise InsufficientHistoryError(
                f"start {start}: a window of {window} daily returns needs {window + 1} closes up "
                f"to the first day; the earliest possible start is {history.date_at(window)}. "
                "Use a later --start or a shorter --window."
            )
    if lo > hi:
        raise InputError(
            f"start {history.date_at(min(lo, index))} is after end {history.date_at(hi)}; "
            "choose --start before --end."
        )
    rows = np.arange(lo, hi + 1)
    for t in rows:
        if not valid(t):
            raise InsufficientHistoryError(_missing(history, universe, int(t), window, index))
    return rows, notes


def _missing(history, universe, t, window, index) -> str:
    block = history.prices[max(t - window, 0) : min(t + 2, index + 1), universe]
    i, k = np.argwhere(~np.isfinite(block))[0]
    row = max(t - window, 0) + int(i)
    sym = history.symbols[universe[k]]
    return (
        f"{sym} has no close on {history.date_at(row)}, inside the window of {window} returns "
        f"ending {history.date_at(t)} or its next-day P&L; import the missing history, choose "
        "--start after the gap, or shorten --window."
    )


def _statistics(
    method: str, rolled: RolledMethod, realised: np.ndarray, confidences, seed: int, n_sims: int
) -> MethodBacktest:
    flags = exception_flags(realised, rolled.value_at_risk)
    n_days = realised.size
    losses = -realised
    z2_obs = [
        acerbi_szekely_z2(losses, rolled.value_at_risk[:, j], rolled.expected_shortfall[:, j], c)
        for j, c in enumerate(confidences)
    ]
    simulated: list[list[float]] = [[] for _ in confidences]
    if n_sims > 0 and any(np.isfinite(z2_obs)):
        code = list(ROLLERS).index(method)
        stream = np.random.SeedSequence(seed, spawn_key=(1, code))
        rng = np.random.Generator(np.random.PCG64(stream))
        per = max(1, _SIM_ELEMENTS // n_days)
        for begin in range(0, n_sims, per):
            sim = rolled.null.sample(rng, min(per, n_sims - begin))
            for j, c in enumerate(confidences):
                simulated[j].append(
                    acerbi_szekely_z2(
                        sim, rolled.value_at_risk[:, j], rolled.expected_shortfall[:, j], c
                    )
                )
    stats_, counts, zones = [], [], []
    for j, c in enumerate(confidences):
        x = flags[:, j]
        last = x[-BASEL_DAYS:]  # the traffic light needs a full 250 days
        sims = np.concatenate(simulated[j]) if simulated[j] else np.zeros(0)
        stats_.append(
            BacktestStatistics(
                confidence=c,
                n_obs=n_days,
                n_exceptions=int(x.sum()),
                expected_exceptions=n_days * (1.0 - c),
                kupiec=kupiec_pof(int(x.sum()), n_days, c),
                independence=christoffersen_independence(x),
                conditional_coverage=conditional_coverage(x, c),
                transitions=transitions(x),
                traffic_light=(
                    traffic_light(int(last.sum()), BASEL_DAYS, c) if n_days >= BASEL_DAYS else None
                ),
                z2=z2_obs[j],
                z2_p_value=simulation_p_value(z2_obs[j], sims) if sims.size else float("nan"),
                z2_simulations=int(sims.size),
            )
        )
        k, z = rolling_traffic_light(x, BASEL_DAYS, c)
        counts.append(k)
        zones.append(z)
    return MethodBacktest(
        method=method,
        value_at_risk=rolled.value_at_risk,
        expected_shortfall=rolled.expected_shortfall,
        exceptions=flags,
        traffic_light_exceptions=np.column_stack(counts),
        traffic_light_zone=np.column_stack(zones),
        statistics=tuple(stats_),
        parameters=rolled.parameters,
        notes=rolled.notes,
        data_quality=rolled.data_quality,
    )


def run_backtest(
    portfolio: Portfolio,
    history: FactorHistory,
    methods=("historical",),
    window: int = 500,
    confidence=(0.99,),
    start=None,
    end=None,
    *,
    progress=None,
    null_simulations: int = NULL_SIMULATIONS,
    executor=None,
    **spec_fields,
) -> BacktestResult:
    """Backtest 1-day VaR and ES forecasts of today's book, one or more methods side by side.

    For each day t in [start, end] each method forecasts, from the window of ``window`` daily
    returns ending at t, the next day's P&L of the book held constant (today's positions at
    today's prices, options at today's time to expiry, revalued at T - 1/252); the forecast is
    compared with the book's hypothetical P&L under the factor returns from t to t + 1.

    Args:
        portfolio: the book (as of ``as_of``).
        history: daily closes of the risk factors.
        methods: one name or several: "historical", "parametric", "montecarlo".
        window: N daily returns per forecast.
        confidence: one or more levels in (0, 1).
        start, end: first and last forecast date (ISO strings or dates). Default: every day
            with a complete window, up to the day before as_of.
        progress: None, True (a text bar on stderr) or a callable (method, done, total).
        executor: split the days of Monte Carlo and historical forecasts over it, by date
            (a LocalExecutor's threads or a DaskExecutor's cluster); None: one after another.
            The numbers do not depend on it.
        null_simulations: simulated backtests behind the Z2 p-value (0: none).
        **spec_fields: other RiskSpec fields: ``as_of`` (the book's snapshot, default the last
            date), ``seed`` (drawn and reported when omitted; Monte Carlo days and the Z2
            simulations derive from it), ``n_scenarios`` (Monte Carlo paths per day, default
            2,000), ``distribution``, ``df``, ``mean``, ``covariance``, ``historical_weighting``,
            ``base_currency``, ...

    Returns:
        A BacktestResult with the daily series and the statistics of every method.

    Raises:
        InputError: invalid parameters or dates. InsufficientHistoryError: too little history
        or missing closes in a window. NoPositionsError: no position can be priced.
    """
    names = _methods(methods)
    if isinstance(null_simulations, bool) or not isinstance(null_simulations, int | np.integer):
        raise InputError(f"null_simulations must be an integer >= 0; got {null_simulations!r}.")
    if null_simulations < 0:
        raise InputError(f"null_simulations must be >= 0; got {null_simulations}.")
    specs, seed = _specs(names, window, confidence, spec_fields)
    spec = specs[names[0]]
    start, end = _date(start, "start"), _date(end, "end")
    if progress is True:
        progress = TextProgress()
    elif progress is False:
        progress = None
    index, universe, book, pnl, bad_print_flags = _setup(portfolio, history, spec)
    rows, notes = _days(history, index, universe, spec.window, start, end)
    setup = BacktestSetup(
        history, index, portfolio, universe, book, pnl, rows, spec.window, seed, spec.base_currency
    )
    realised = pnl[rows]
    results = tuple(
        _statistics(
            m,
            ROLLERS[m](setup, specs[m], progress, executor),
            realised,
            spec.confidence,
            seed,
            int(null_simulations),
        )
        for m in names
    )
    if bad_print_flags:  # found once for the whole run, flagged on every method
        results = tuple(
            dataclasses.replace(r, data_quality=(*bad_print_flags, *r.data_quality))
            for r in results
        )
    first = int(rows[0]) - spec.window
    last = int(rows[-1]) + 1
    parameters = {
        "methods": list(names),
        "window": spec.window,
        "confidence": list(spec.confidence),
        "horizon_days": 1,
        "null_simulations": int(null_simulations),
    }
    if "historical" in names:
        parameters["historical_weighting"] = spec.historical_weighting
    if "parametric" in names or "montecarlo" in names:
        for name in ("distribution", "mean", "covariance"):
            parameters[name] = getattr(spec, name)
        if spec.distribution == "student-t":
            parameters["df"] = spec.df
    if "montecarlo" in names:
        parameters["n_scenarios"] = spec.n_scenarios
        parameters["sampling"] = spec.sampling
    notes = [
        f"hypothetical P&L: the book as of {history.date_at(index)} held constant (today's "
        "positions and prices) under each day's factor returns from t to t+1",
        "exception: the realised loss exceeds the VaR forecast for that day",
        *notes,
    ]
    if len(book.options):
        notes.append(
            "options at constant time to expiry: today's T, revalued at T - 1/252 on every day"
        )
    if null_simulations:
        notes.append(
            f"Z2 p-values: {null_simulations} backtests simulated from each method's own daily "
            "loss distributions (historical: the window; Monte Carlo: the day's paths; "
            "parametric: the fitted law)"
        )
    dates = history.dates
    return BacktestResult(
        as_of=history.date_at(index).isoformat(),
        base_currency=spec.base_currency,
        window=spec.window,
        confidence=spec.confidence,
        dates=tuple(str(d) for d in dates[rows]),
        pnl_dates=tuple(str(d) for d in dates[rows + 1]),
        realised_pnl=np.array(realised),
        methods=results,
        portfolio={
            "name": portfolio.name,
            "n_positions": len(portfolio),
            "n_included": book.n_positions,
            "market_value": book.market_value,
        },
        excluded_positions=tuple(e.to_dict() for e in book.excluded),
        parameters=parameters,
        notes=tuple(notes),
        provenance={
            "seed": seed,
            "data_snapshot_id": history.snapshot_id(last, last - first, universe),
            "code_version": __version__,
        },
    )
