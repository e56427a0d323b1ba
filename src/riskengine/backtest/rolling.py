"""Rolling 1-day VaR and ES of today's book through history, one function per method.

Every method sees, on day t, the window of N daily returns ending at t, and forecasts the P&L of
the book *held constant*: today's positions at today's prices, options at today's time to
expiry revalued at T - 1/252 (``CompiledBook`` compiled once at the backtest's as-of).

* ``historical`` (equal weights): the book P&L of every daily return of the history is
  computed once, by full revaluation; each day's VaR and ES are order statistics of the sliding
  window of that series (``rolling_var_es``). Weighted variants (age, filtered) run the
  method day by day.
* ``parametric``: for a linear book and the sample covariance, rolling moments of the same
  series (``b' S_t b`` is the sample variance of ``b' r`` over the window); otherwise the
  engine's method day by day.
* ``montecarlo``: the engine's method (``riskengine.methods``) day by day, calibrated on each
  day's window, with a seed per day derived from the run's seed and the day (``day_seed``), so
  a day's numbers do not depend on the backtest's range.

Each day's forecasts are those of ``compute_risk(book, history, method=..., as_of=<as-of>,
calibration_end=<day>, seed=day_seed(seed, row))``.

``ROLLERS`` maps the method names to these functions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from riskengine.backtest.null import NullModel, ParametricNull, TailNull, WindowNull
from riskengine.cache import RiskCache
from riskengine.core.distributions import (
    cornish_fisher_var_es,
    normal_var_es,
    student_t_var_es,
)
from riskengine.core.factor_model import FactorCovariance
from riskengine.core.measures import var_index
from riskengine.core.quadratic import quadratic_moments
from riskengine.errors import InsufficientHistoryError
from riskengine.instruments.types import Portfolio
from riskengine.market.history import FactorHistory
from riskengine.market.snapshot import market_snapshot
from riskengine.methods import METHODS, MethodContext
from riskengine.pricing.compiled import CompiledBook, compile_snapshot
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.historical import age_weights

_ROWS_PER_SORT = 2048  # windows sorted at once by rolling_var_es

Progress = Callable[[str, int, int], None]


def rolling_var_es(pnl, window: int, confidences) -> tuple[np.ndarray, np.ndarray]:
    """VaR and ES (Acerbi-Tasche, equal weights) of every sliding window of a P&L series.

    The same numbers as ``core.measures.var_es`` on each window: VaR = L(ceil(c N)) of the
    window's ascending losses, ES = (E[L 1{L > VaR}] + VaR (P(L <= VaR) - c)) / (1 - c).

    Args:
        pnl: shape (n_obs,), P&L (gain positive).
        window: N, the scenarios per window.
        confidences: the levels c.

    Returns:
        (var, es), each of shape (n_obs - window + 1, n_confidences); row i is the window
        ``pnl[i : i + window]``.
    """
    losses = -np.asarray(pnl, dtype=float)
    views = sliding_window_view(losses, window)
    n_rows = views.shape[0]
    cs = list(confidences)
    var = np.empty((n_rows, len(cs)))
    es = np.empty((n_rows, len(cs)))
    for start in range(0, n_rows, _ROWS_PER_SORT):
        s = np.sort(views[start : start + _ROWS_PER_SORT], axis=1)
        for j, c in enumerate(cs):
            v = s[:, var_index(window, c)]
            above = s > v[:, None]
            n_le = window - np.count_nonzero(above, axis=1)
            tail = np.where(above, s, 0.0).sum(axis=1)
            var[start : start + len(s), j] = v
            es[start : start + len(s), j] = (tail / window + v * (n_le / window - c)) / (1.0 - c)
    return var, es


def day_seed(seed: int, row: int) -> int:
    """The Monte Carlo seed of the day at history row ``row``: 63 bits of
    ``SeedSequence(seed, spawn_key=(0, row))``."""
    state = np.random.SeedSequence(seed, spawn_key=(0, row)).generate_state(2, np.uint32)
    return int((int(state[0]) << 32 | int(state[1])) >> 1)


@dataclass(frozen=True)
class BacktestSetup:
    """What every method needs: the history, today's compiled book and the days.

    Attributes:
        history: the price history.
        index: the history row of the as-of (the book's snapshot).
        portfolio: the book.
        universe: shape (n_columns,), the history columns the book uses.
        book: the book compiled at the as-of over ``universe``, horizon 1 day.
        pnl: shape (index,), ``pnl[s]`` = the book's P&L under the daily return from row s to
            row s + 1 (NaN where one of its factors lacks a close).
        rows: shape (n_days,), the history row t of each backtest day (its window ends at t and
            its realised P&L is ``pnl[t]``).
        window: N.
        seed: the run's seed (Monte Carlo days, null simulations).
    """

    history: FactorHistory
    index: int
    portfolio: Portfolio
    universe: np.ndarray
    book: CompiledBook
    pnl: np.ndarray
    rows: np.ndarray
    window: int
    seed: int
    base_currency: str = "USD"
    _books: dict = field(default_factory=dict, repr=False, compare=False)

    def day_book(self, t: int) -> tuple[np.ndarray, CompiledBook]:
        """The scenario columns and the compiled book of day t, as ``compute_risk`` builds them
        with ``calibration_end`` at t: every factor with a complete window ending at t and a
        close at the as-of (the book's own factors always qualify on a backtest day), today's
        prices and times to expiry. Books are shared between days with the same columns."""
        as_of = self.history.date_at(self.index)
        snapshot = market_snapshot(self.history, as_of, window=self.window, calibration=t)
        key = snapshot.universe.tobytes()
        if key not in self._books:
            self._books[key] = compile_snapshot(
                self.portfolio, snapshot, 1, self.base_currency, require=False
            )
        return snapshot.universe, self._books[key]


@dataclass(frozen=True)
class RolledMethod:
    """A method's forecasts for every backtest day.

    Attributes:
        value_at_risk, expected_shortfall: shape (n_days, n_confidences).
        null: the model's day-by-day loss distributions (for simulated p-values).
        parameters: the method's parameters (those of the last day for day-dependent values).
        notes: the method's notes of the last day, and the backtest's own.
        data_quality: flags raised on any day, with the number of days.
    """

    value_at_risk: np.ndarray
    expected_shortfall: np.ndarray
    null: NullModel
    parameters: dict
    notes: tuple[str, ...] = ()
    data_quality: tuple[dict, ...] = ()


def _check_tail(window: int, confidences) -> None:
    for c in confidences:
        if window * (1.0 - c) < 1.0 - 1e-9:
            need = math.ceil(1.0 / (1.0 - c) - 1e-9)
            raise InsufficientHistoryError(
                f"historical VaR at confidence {c} needs >= {need} scenarios so that the tail "
                f"holds one; the window gives {window}. Lengthen --window or lower --confidence."
            )


DAYS_PER_TASK = 10  # days of one task when the days are split over an executor


def _day_results(setup: BacktestSetup, spec, rows) -> list:
    """``spec.method`` on each day of ``rows``, results without what only the day's context
    could use (scenario sources, models): what a worker sends back."""
    one = LocalExecutor(1)
    method = METHODS[spec.method]
    out = []
    for t in rows:
        day_spec = spec
        if spec.method == "montecarlo":
            day_spec = spec.replace(seed=day_seed(setup.seed, int(t)))
        universe, book = setup.day_book(int(t))
        ctx = MethodContext(setup.history, int(t), universe, book, day_spec, RiskCache(), one)
        out.append(dataclasses.replace(method(ctx), basis=None))
    return out


def _each_day_split(setup: BacktestSetup, spec, progress, visit, executor) -> None:
    """The days in tasks of DAYS_PER_TASK on ``executor`` (threads here, or a Dask cluster);
    ``visit(i, None, result)`` in day order. Each day's numbers do not depend on where it ran
    (a Monte Carlo day draws from its own seed)."""
    rows = [setup.rows[k : k + DAYS_PER_TASK] for k in range(0, setup.rows.size, DAYS_PER_TASK)]
    results = [r for part in executor.map(partial(_day_results, setup, spec), rows) for r in part]
    for i, result in enumerate(results):
        visit(i, None, result)
    if progress is not None:
        progress(spec.method, setup.rows.size, setup.rows.size)


def _each_day(setup: BacktestSetup, spec, progress: Progress | None, visit,
              executor=None) -> None:  # fmt: skip
    """Run ``spec.method`` on every backtest day; ``visit(i, ctx, result)`` takes each result.

    With ``executor`` (visits that do not need the day's context only), the days are split
    over it by date."""
    if executor is not None:
        _each_day_split(setup, spec, progress, visit, executor)
        return
    one = LocalExecutor(1)  # days run one after another; each day's work is small
    method = METHODS[spec.method]
    total = setup.rows.size
    for i, t in enumerate(setup.rows):
        day_spec = spec
        if spec.method == "montecarlo":
            day_spec = spec.replace(seed=day_seed(setup.seed, int(t)))
        universe, book = setup.day_book(int(t))
        ctx = MethodContext(setup.history, int(t), universe, book, day_spec, RiskCache(), one)
        visit(i, ctx, method(ctx))
        if progress is not None:
            progress(spec.method, i + 1, total)


class _Collector:
    """Gathers the measures, parameters, notes and flags of day-by-day runs."""

    def __init__(self, n_days: int, n_conf: int):
        self.var = np.empty((n_days, n_conf))
        self.es = np.empty((n_days, n_conf))
        self.parameters: dict = {}
        self.notes: tuple[str, ...] = ()
        self.flags: dict[str, tuple[int, str]] = {}

    def add(self, i: int, result) -> None:
        for j, m in enumerate(result.measures):
            self.var[i, j] = m.value_at_risk
            self.es[i, j] = m.expected_shortfall
        self.parameters = result.parameters
        self.notes = result.notes
        for flag in result.data_quality:
            n, first = self.flags.get(flag["code"], (0, flag["message"]))
            self.flags[flag["code"]] = (n + 1, first)

    def data_quality(self) -> tuple[dict, ...]:
        return tuple(
            {"code": code, "message": f"on {n} day(s); first: {msg}"}
            for code, (n, msg) in self.flags.items()
        )


def roll_historical(
    setup: BacktestSetup, spec, progress: Progress | None = None, executor=None
) -> RolledMethod:
    """Historical simulation: sliding windows of the full-revaluation P&L series (equal
    weights), or the method day by day (age-weighted or filtered scenarios)."""
    n = setup.window
    _check_tail(n, spec.confidence)
    if spec.historical_weighting == "none":
        first, last = int(setup.rows[0]), int(setup.rows[-1])
        var, es = rolling_var_es(setup.pnl[first - n : last], n, spec.confidence)
        if progress is not None:
            progress(spec.method, setup.rows.size, setup.rows.size)
        notes: tuple[str, ...] = (
            f"{n} scenarios per day: the book's P&L under each daily return of the window "
            "(full revaluation, computed once for the whole history)",
        )
        if len(setup.book.options):
            notes += ("options fully revalued in every scenario; implied volatility constant",)
        return RolledMethod(
            var,
            es,
            WindowNull(setup.pnl, setup.rows - n, n),
            {"historical_weighting": "none"},
            notes,
        )
    col = _Collector(setup.rows.size, len(spec.confidence))
    tails = []
    decay = float(spec.decay)

    def visit(i, ctx, result):
        col.add(i, result)
        w = None
        if spec.historical_weighting == "age" and decay < 1.0:
            w = age_weights(result.pnl.size, decay)
        tails.append((result.pnl, w, float(np.min(col.var[i]))))

    _each_day(setup, spec, progress, visit, executor)
    return RolledMethod(
        col.var,
        col.es,
        TailNull.from_scenarios(tails),
        col.parameters,
        col.notes,
        col.data_quality(),
    )


def roll_montecarlo(
    setup: BacktestSetup, spec, progress: Progress | None = None, executor=None
) -> RolledMethod:
    """Monte Carlo day by day: ``spec.n_scenarios`` paths per day, seed ``day_seed``."""
    col = _Collector(setup.rows.size, len(spec.confidence))
    tails = []

    def visit(i, ctx, result):
        col.add(i, result)
        tails.append((result.pnl, None, float(np.min(col.var[i]))))

    _each_day(setup, spec, progress, visit, executor)
    notes: tuple[str, ...] = (
        *col.notes,
        f"{spec.n_scenarios} paths per day; each day's seed derives from the run's seed and the "
        "day (SeedSequence(seed, spawn_key=(0, row)))",
    )
    return RolledMethod(
        col.var, col.es, TailNull.from_scenarios(tails), col.parameters, notes, col.data_quality()
    )


def rolling_moments(x, window: int) -> tuple[np.ndarray, ...]:
    """Mean, sample variance (ddof=1), population skewness and excess kurtosis of every sliding
    window of a series.

    Args:
        x: shape (n_obs,).

    Returns:
        four arrays of shape (n_obs - window + 1,); row i is the window ``x[i : i + window]``
        (skewness and kurtosis 0 for a constant window, as ``population_moments``).
    """
    views = sliding_window_view(np.asarray(x, dtype=float), window)
    n_rows = views.shape[0]
    out = [np.empty(n_rows) for _ in range(4)]
    for start in range(0, n_rows, _ROWS_PER_SORT):
        v = views[start : start + _ROWS_PER_SORT]
        m = v.mean(axis=1)
        d = v - m[:, None]
        m2 = np.mean(d * d, axis=1)
        flat = m2 <= 0
        safe = np.where(flat, 1.0, m2)
        sl = slice(start, start + len(v))
        out[0][sl] = m
        out[1][sl] = m2 * window / (window - 1)
        out[2][sl] = np.where(flat, 0.0, np.mean(d**3, axis=1) / safe**1.5)
        out[3][sl] = np.where(flat, 0.0, np.mean(d**4, axis=1) / safe**2 - 3.0)
    return tuple(out)


_LINEAR_DISTRIBUTIONS = {
    "normal": lambda m, s, c, spec, sk, ku: normal_var_es(m, s, c),
    "student-t": lambda m, s, c, spec, sk, ku: student_t_var_es(m, s, c, spec.df),
    "cornish-fisher": lambda m, s, c, spec, sk, ku: cornish_fisher_var_es(m, s, c, sk, ku),
}


def _roll_parametric_linear(setup: BacktestSetup, spec, progress) -> RolledMethod:
    """Delta-normal (or Student-t, Cornish-Fisher) for a linear book and the sample
    covariance, from rolling moments of the book's P&L series: ``b' S_t b`` is the sample
    variance (ddof=1) of ``b' r`` over the window, and the book's P&L is ``b' r`` exactly."""
    n = setup.window
    first, last = int(setup.rows[0]), int(setup.rows[-1])
    mean_x, var_x, skew, kurt = rolling_moments(setup.pnl[first - n : last], n)
    mean = mean_x if spec.mean == "sample" else np.zeros_like(mean_x)
    sd = np.sqrt(np.maximum(var_x, 0.0))
    law = _LINEAR_DISTRIBUTIONS[spec.distribution]
    var = np.empty((setup.rows.size, len(spec.confidence)))
    es = np.empty_like(var)
    for i in range(setup.rows.size):
        for j, c in enumerate(spec.confidence):
            var[i, j], es[i, j] = law(mean[i], sd[i], c, spec, skew[i], kurt[i])
    if progress is not None:
        progress(spec.method, setup.rows.size, setup.rows.size)
    params = {
        "distribution": spec.distribution,
        "mean": spec.mean,
        "approximation": "delta",
        "covariance": "sample",
    }
    if spec.distribution == "student-t":
        params["df"] = spec.df
    notes: tuple[str, ...] = (
        "linear book: sigma_t^2 = b' S_t b computed as the rolling sample variance (ddof=1) of "
        "the book's P&L series b' r over each window (the same number)",
    )
    if spec.distribution == "cornish-fisher":
        notes += (
            "Cornish-Fisher moments: population skewness and excess kurtosis of the book's P&L "
            "over each window",
        )
    null = ParametricNull(
        spec.distribution,
        mean,
        sd,
        df=float(spec.df) if spec.distribution == "student-t" else None,
        skewness=skew,
        excess_kurtosis=kurt,
    )
    return RolledMethod(var, es, null, params, notes)


def roll_parametric(
    setup: BacktestSetup, spec, progress: Progress | None = None, executor=None
) -> RolledMethod:
    # the days run here: each visit reads the day's covariance from its context (cheap days)
    """The parametric method on each window's covariance estimate.

    A linear book (no options, nothing converted at an FX factor) with the sample covariance
    takes ``_roll_parametric_linear`` (rolling variance of the book's P&L series). Otherwise
    the engine's method (``methods.parametric``) runs day by day: delta-normal
    ``sigma^2 = b' S_t b`` with ``S_t`` the window's covariance by ``spec.covariance``,
    delta-gamma (exact moments, Cornish-Fisher) for books with options. The moments of each day
    are kept for the null.
    """
    book = setup.book
    linear = not len(book.options) and not book.has_cross_terms
    if spec.covariance == "sample" and spec.factor_model == "full" and linear:
        return _roll_parametric_linear(setup, spec, progress)
    n_days = setup.rows.size
    col = _Collector(n_days, len(spec.confidence))
    mean, sd = np.empty(n_days), np.empty(n_days)
    skew, kurt = np.zeros(n_days), np.zeros(n_days)

    def visit(i, ctx, result):
        col.add(i, result)
        est = ctx.covariance()  # cached by the method's own call
        cols = ctx.book.columns
        a, b, g = ctx.book.sensitivities(cols)
        if isinstance(est, FactorCovariance):  # the book's names only
            cov = est.take(cols).matrix
        else:
            cov = est.matrix[np.ix_(cols, cols)]
        mu = est.mean[cols]
        if result.parameters.get("approximation") == "delta-gamma":
            mean[i], sd[i], skew[i], kurt[i] = quadratic_moments(a, b, g, mu, cov)
            return
        mean[i] = a + float(b @ mu)
        sd[i] = math.sqrt(max(float(b @ cov @ b), 0.0))
        if spec.distribution == "cornish-fisher":
            skew[i] = result.parameters["skewness"]
            kurt[i] = result.parameters["excess_kurtosis"]

    _each_day(setup, spec, progress, visit)
    # delta-gamma moments are turned into a quantile by the Cornish-Fisher expansion
    delta_gamma = col.parameters.get("approximation") == "delta-gamma"
    family = "cornish-fisher" if delta_gamma else spec.distribution
    null = ParametricNull(
        family,
        mean,
        sd,
        df=float(spec.df) if family == "student-t" else None,
        skewness=skew,
        excess_kurtosis=kurt,
    )
    return RolledMethod(col.var, col.es, null, col.parameters, col.notes, col.data_quality())


ROLLERS: dict[str, Callable[..., RolledMethod]] = {
    "historical": roll_historical,
    "parametric": roll_parametric,
    "montecarlo": roll_montecarlo,
}
