"""The two baselines riskengine is measured against, written independently of riskengine's
pricing and scenario code (only the instrument descriptions and the history are shared):

* ``python_loop``: plain Python, no NumPy in the hot path. Paths are drawn with
  ``random.Random.gauss`` and correlated by a lower-triangular Cholesky factor held as lists;
  then for each position, for each path, the position's P&L is added (options by a
  ``math.erf`` Black-Scholes). Cost is linear in the path count, so it is timed on a subset of
  paths and scaled (the caller says so).
* ``numpy_naive``: vectorised NumPy/SciPy as one would first write it: all normals at once,
  ``Z @ L.T`` with the Cholesky factor, every option priced on every path by a straightforward
  Black-Scholes on (n_paths, n_options) arrays, summed; linear positions through their
  per-underlying exposure.

Both use the same model as riskengine's Monte Carlo (zero-mean normal, sample covariance with
ddof=1 of the window's daily simple returns, S = S_now (1 + r), options revalued at
T - h/252 with unchanged implied volatility), with different random numbers. Each stage is
timed separately so the caller can compare like with like (cold: covariance + simulation +
revaluation; warm covariance: simulation + revaluation; warm scenarios: revaluation only).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from operator import mul

import numpy as np
from scipy.special import ndtr

from riskengine import EuropeanOption, FactorHistory, Portfolio

TRADING_DAYS = 252.0
CALENDAR_DAYS = 365.0
_SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class BookArrays:
    """The book against the history's last close, as plain arrays (n_columns = all symbols)."""

    spot: np.ndarray  # (n_columns,)
    exposure: np.ndarray  # (n_columns,) sum of quantity * multiplier * S_now of linear positions
    linear: tuple[tuple[int, float], ...]  # (column, quantity * multiplier * S_now) per position
    opt_col: np.ndarray  # (n_options,)
    opt_units: np.ndarray
    strike: np.ndarray
    t_h: np.ndarray  # years to expiry at the horizon, T - h/252
    vol: np.ndarray
    rate: np.ndarray
    div: np.ndarray
    is_call: np.ndarray
    value_now: np.ndarray  # per unit, at (S_now, T)


def book_arrays(history: FactorHistory, portfolio: Portfolio, horizon_days: int = 1):
    """Compile ``portfolio`` (stocks and European options on spot) for the baselines."""
    col = {s: j for j, s in enumerate(history.symbols)}
    spot = np.asarray(history.prices[-1], dtype=float)
    as_of = history.last_date
    exposure = np.zeros(spot.size)
    linear, rows = [], []
    for p in portfolio.positions:
        inst = p.instrument
        units = p.quantity * p.multiplier
        if isinstance(inst, EuropeanOption):
            t_now = (inst.expiry - as_of).days / CALENDAR_DAYS
            t_h = t_now - horizon_days / TRADING_DAYS
            if t_h <= 0 or inst.underlying_type != "spot":
                raise ValueError(f"baseline prices live options on spot only; got {p.id}")
            rows.append(
                (
                    col[inst.underlying],
                    units,
                    inst.strike,
                    t_now,
                    t_h,
                    inst.implied_vol,
                    inst.rate,
                    inst.dividend_yield,
                    inst.option_type == "call",
                )
            )
        else:
            j = col[inst.symbol]
            linear.append((j, units * spot[j]))
            exposure[j] += units * spot[j]
    a = np.array(rows, dtype=float).T
    opt_col = a[0].astype(np.intp)
    is_call = a[8].astype(bool)
    value_now = black_scholes(spot[opt_col], a[2], a[3], a[5], a[6], a[7], is_call)
    return BookArrays(
        spot,
        exposure,
        tuple(linear),
        opt_col,
        a[1],
        a[2],
        a[4],
        a[5],
        a[6],
        a[7],
        is_call,
        value_now,
    )


def covariance_root(history: FactorHistory, window: int) -> tuple[np.ndarray, str]:
    """(A, how) with A A' the sample covariance (ddof=1) of the last ``window`` daily returns:
    its Cholesky factor, or, when the matrix is singular (a window of N returns gives rank at most
    N - 1, so 500 names on 500 days are), the symmetric root V sqrt(max(lambda, 0))."""
    cov = np.cov(window_returns(history, window), rowvar=False)
    try:
        return np.linalg.cholesky(cov), "cholesky"
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        return vecs * np.sqrt(np.maximum(vals, 0.0)), "eigen"


def window_returns(history: FactorHistory, window: int) -> np.ndarray:
    """The last ``window`` daily simple returns, shape (window, n_columns)."""
    p = history.prices[-window - 1 :]
    return p[1:] / p[:-1] - 1.0


# ---------------------------------------------------------------------------- measures


def var_es(pnl: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(VaR, ES, VaR standard error) of equally weighted scenarios, losses = -pnl.

    VaR is the ceil(c n)-th smallest loss; ES the Acerbi-Tasche tail mean; the standard error
    brackets the VaR order statistic by +-sqrt(n c (1-c)) ranks (binomial count below it).
    """
    losses = np.sort(-np.asarray(pnl, dtype=float))
    n = losses.size
    k = min(max(math.ceil(confidence * n - 1e-9), 1), n) - 1
    var = losses[k]
    n_le = int(np.searchsorted(losses, var, side="right"))
    es = (losses[n_le:].sum() / n + var * (n_le / n - confidence)) / (1.0 - confidence)
    m = max(1, round(math.sqrt(n * confidence * (1.0 - confidence))))
    lo, hi = max(k - m, 0), min(k + m, n - 1)
    se = (losses[hi] - losses[lo]) / ((hi - lo) / m)
    return float(var), float(es), float(se)


# ---------------------------------------------------------------------------- NumPy


def black_scholes(s, k, t, v, r, q, is_call):
    """Black-Scholes-Merton value per unit on a spot with dividend yield q (t > 0)."""
    vst = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vst
    d2 = d1 - vst
    fs = s * np.exp(-q * t)
    fk = k * np.exp(-r * t)
    call = fs * ndtr(d1) - fk * ndtr(d2)
    put = fk * ndtr(-d2) - fs * ndtr(-d1)
    return np.where(is_call, call, put)


def numpy_revalue(book: BookArrays, returns: np.ndarray) -> np.ndarray:
    """Book P&L per path for returns of shape (n_paths, n_columns): exact linear part, every
    option fully revalued on every path."""
    pnl = returns @ book.exposure
    s = book.spot[book.opt_col] * (1.0 + returns[:, book.opt_col])
    v = black_scholes(s, book.strike, book.t_h, book.vol, book.rate, book.div, book.is_call)
    pnl += (v - book.value_now) @ book.opt_units
    return pnl


def numpy_naive(
    book: BookArrays,
    root: np.ndarray,
    n_paths: int,
    seed: int,
    confidence: float,
    *,
    horizon_days: int = 1,
    chunk: int | None = None,
) -> tuple[dict, tuple[float, float, float]]:
    """Naive vectorised Monte Carlo: returns ({stage: seconds}, (VaR, ES, SE)).

    ``chunk`` bounds memory (paths per pass) for large path counts; None = all at once.
    """
    rng = np.random.default_rng(seed)
    chunk = chunk or n_paths
    times = {"simulate": 0.0, "revalue": 0.0}
    parts = []
    for start in range(0, n_paths, chunk):
        size = min(chunk, n_paths - start)
        t0 = time.perf_counter()
        r = rng.standard_normal((size, root.shape[0])) @ root.T
        r *= math.sqrt(horizon_days)
        t1 = time.perf_counter()
        parts.append(numpy_revalue(book, r))
        t2 = time.perf_counter()
        times["simulate"] += t1 - t0
        times["revalue"] += t2 - t1
    t0 = time.perf_counter()
    pnl = np.concatenate(parts)
    measures = var_es(pnl, confidence)
    times["measure"] = time.perf_counter() - t0
    return times, measures


# ---------------------------------------------------------------------------- plain Python


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT2)


def python_paths(root: np.ndarray, n_paths: int, seed: int, horizon_days: int = 1):
    """Correlated return paths in plain Python: a list of n_paths lists of n_columns floats."""
    rng = random.Random(seed)
    n = root.shape[0]
    lower = not np.any(np.triu(root, 1))
    rows = [(root[i, : i + 1] if lower else root[i]).tolist() for i in range(n)]
    scale = math.sqrt(horizon_days)
    paths = []
    for _ in range(n_paths):
        z = [rng.gauss(0.0, 1.0) for _ in range(n)]
        paths.append([scale * sum(map(mul, row, z)) for row in rows])
    return paths


def python_revalue(book: BookArrays, paths) -> list[float]:
    """For each position, for each path: add the position's P&L (plain Python)."""
    pnl = [0.0] * len(paths)
    for j, value in book.linear:
        for i, r in enumerate(paths):
            pnl[i] += value * r[j]
    spot = book.spot.tolist()
    for o in range(book.opt_col.size):
        j = int(book.opt_col[o])
        s0, k, t = spot[j], float(book.strike[o]), float(book.t_h[o])
        v, r, q = float(book.vol[o]), float(book.rate[o]), float(book.div[o])
        units, v0, call = float(book.opt_units[o]), float(book.value_now[o]), bool(book.is_call[o])
        vst = v * math.sqrt(t)
        drift = (r - q + 0.5 * v * v) * t
        dq, dr = math.exp(-q * t), math.exp(-r * t)
        for i, path in enumerate(paths):
            s = s0 * (1.0 + path[j])
            d1 = (math.log(s / k) + drift) / vst
            d2 = d1 - vst
            if call:
                price = s * dq * _norm_cdf(d1) - k * dr * _norm_cdf(d2)
            else:
                price = k * dr * _norm_cdf(-d2) - s * dq * _norm_cdf(-d1)
            pnl[i] += units * (price - v0)
    return pnl


def python_loop(
    book: BookArrays, root: np.ndarray, n_paths: int, seed: int
) -> tuple[dict, list[float], list[list[float]]]:
    """Plain-Python Monte Carlo on ``n_paths`` paths: ({stage: seconds}, pnl, paths).

    The ``measure`` stage sorts the losses (the VaR order statistic is then one lookup)."""
    t0 = time.perf_counter()
    paths = python_paths(root, n_paths, seed)
    t1 = time.perf_counter()
    pnl = python_revalue(book, paths)
    t2 = time.perf_counter()
    sorted(-x for x in pnl)
    t3 = time.perf_counter()
    times = {"simulate": t1 - t0, "revalue": t2 - t1, "measure": t3 - t2}
    return times, pnl, paths


def simulation_floor(root: np.ndarray, n_paths: int, seed: int, executor) -> None:
    """The floor of a Monte Carlo run: only the normals and the root product, for the same
    paths, blocks, streams and workers as ``compute_risk`` (block i draws its single-precision
    normals from SeedSequence(seed).spawn(n_blocks)[i] and multiplies them by the root); no
    revaluation, no measure."""
    from riskengine.core.random import BLOCK_SIZE, block_sizes, block_streams

    root_t = np.ascontiguousarray(root.T).astype(np.float32)
    streams = block_streams(seed, n_paths, BLOCK_SIZE)
    sizes = block_sizes(n_paths, BLOCK_SIZE)

    def block(i):
        rng = np.random.Generator(np.random.PCG64(streams[i]))
        z = rng.standard_normal((sizes[i], root_t.shape[0]), dtype=np.float32)
        return (z @ root_t).shape

    executor.map(block, range(len(sizes)))
