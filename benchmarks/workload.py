"""The deterministic seed workload of the benchmarks: 500 synthetic underlyings over 2,700
business days, and a book of 5,000 positions on them (4,000 stocks long and short, 1,000
European calls and puts); ``workload(n_underlyings, n_positions)`` makes the same at other sizes.

The history comes from a statistical factor model calibrated on the bundled real data
(``data/us_equities_daily.csv``, 20 US stocks, 2007-2022):

1. PCA of the 20 stocks' daily simple returns; the first ``N_FACTORS`` principal components
   are the factors, ``F = R V`` their realised daily returns (2007-2022, with 2008 and 2020 in
   it), ``V`` the fitted loadings, and ``E = R - F V'`` the residuals.
2. Factor returns for the synthetic dates are a stationary block bootstrap of the realised rows
   of ``F`` (mean block ``BLOCK_DAYS`` days), which keeps their covariance, fat tails and
   volatility clustering. Each bootstrapped day also carries that day's cross-sectional
   residual scale, so idiosyncratic volatility clusters with the factors.
3. Each synthetic name's loadings are drawn from a normal fitted to the 20 fitted loading
   vectors (mean and covariance); its idiosyncratic volatility from a lognormal fitted to the
   20 residual volatilities; its idiosyncratic shocks are standardised Student-t (df 5).
4. Prices start from a lognormal level and compound the simple returns.

Everything derives from ``SEED`` through one ``numpy.random.Generator`` per purpose, so a run
gives the same bits every time on a given machine (LAPACK's eigen-decomposition may differ in
the last bits across CPUs; eigenvector signs are normalised). Nothing is written to disk: the
result is cached in memory for the life of the process.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from pathlib import Path

import numpy as np

from riskengine import EuropeanOption, FactorHistory, Portfolio, Position, load_prices
from riskengine.instruments import Equity

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "us_equities_daily.csv"

SEED = 20_240_601
N_UNDERLYINGS = 500
N_RETURNS = 2_700  # daily returns; the history has one more close
LAST_DATE = "2024-12-31"
N_FACTORS = 5
BLOCK_DAYS = 20
IDIO_DF = 5.0
N_LINEAR = 4_000
N_OPTIONS = 1_000
OPTION_MULTIPLIER = 100.0
RATE = 0.04


def _calibrate(returns: np.ndarray):
    """PCA factor model of ``returns`` (n_obs, n_stocks).

    Returns:
        (factor_returns (n_obs, k), loadings (n_stocks, k), residual_vol (n_stocks,),
        residual_scale (n_obs,)): the realised factor returns, the fitted loadings, each stock's
        residual volatility and each day's root-mean-square standardised residual.
    """
    cov = np.cov(returns, rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1][:N_FACTORS]
    v = vecs[:, order]
    v *= np.where(v.sum(axis=0) < 0, -1.0, 1.0)  # deterministic signs
    factors = returns @ v
    resid = returns - factors @ v.T
    resid_vol = resid.std(axis=0, ddof=1)
    scale = np.sqrt(np.mean((resid / resid_vol) ** 2, axis=1))
    return factors, v, resid_vol, scale


def _block_bootstrap(n_obs: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a stationary (geometric block length) bootstrap, shape (n_out,)."""
    idx = np.empty(n_out, dtype=np.intp)
    i = 0
    while i < n_out:
        start = int(rng.integers(n_obs))
        length = int(rng.geometric(1.0 / BLOCK_DAYS))
        take = min(length, n_out - i)
        idx[i : i + take] = (start + np.arange(take)) % n_obs
        i += take
    return idx


def _history(seed: int, n_underlyings: int = N_UNDERLYINGS) -> FactorHistory:
    real = load_prices(DATA)
    real_returns = real.prices[1:] / real.prices[:-1] - 1.0
    factors, loadings, resid_vol, resid_scale = _calibrate(real_returns)

    streams = np.random.SeedSequence(seed).spawn(5)
    rng_boot, rng_load, rng_vol, rng_idio, rng_level = (
        np.random.Generator(np.random.PCG64(s)) for s in streams
    )
    rows = _block_bootstrap(factors.shape[0], N_RETURNS, rng_boot)
    f = factors[rows]  # (n_returns, k)
    day_scale = resid_scale[rows]

    b = rng_load.multivariate_normal(
        loadings.mean(axis=0), np.cov(loadings, rowvar=False), size=n_underlyings
    )
    log_vol = np.log(resid_vol)
    vol = np.exp(rng_vol.normal(log_vol.mean(), log_vol.std(ddof=1), n_underlyings))

    t = rng_idio.standard_t(IDIO_DF, (N_RETURNS, n_underlyings)) * np.sqrt(
        (IDIO_DF - 2.0) / IDIO_DF
    )
    returns = f @ b.T + t * day_scale[:, None] * vol
    np.clip(returns, -0.9, None, out=returns)

    level = np.exp(rng_level.normal(np.log(60.0), 0.8, n_underlyings))
    prices = np.empty((N_RETURNS + 1, n_underlyings))
    prices[0] = level
    prices[1:] = level * np.cumprod(1.0 + returns, axis=0)

    dates = np.busday_offset(
        np.datetime64(LAST_DATE, "D"), -np.arange(N_RETURNS + 1)[::-1], roll="backward"
    )
    width = max(3, len(str(n_underlyings - 1)))
    symbols = tuple(f"SYN{i:0{width}d}" for i in range(n_underlyings))
    return FactorHistory(dates.astype("datetime64[D]"), symbols, prices)


def _portfolio(
    history: FactorHistory, seed: int, n_linear: int = N_LINEAR, n_options: int = N_OPTIONS
) -> Portfolio:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(6)[5]))
    spot = history.prices[-1]
    last = history.last_date
    recent = history.prices[-61:]
    realised_vol = np.std(recent[1:] / recent[:-1] - 1.0, axis=0, ddof=1) * np.sqrt(252.0)
    symbols = history.symbols
    positions = []

    n_underlyings = len(symbols)
    und = rng.integers(n_underlyings, size=n_linear)
    side = np.where(rng.random(n_linear) < 0.6, 1.0, -1.0)
    notional = np.exp(rng.normal(np.log(250_000.0), 1.0, n_linear))
    qty = side * np.maximum(np.round(notional / spot[und]), 1.0)
    for i in range(n_linear):
        positions.append(Position(f"EQ{i:04d}", Equity(symbols[und[i]]), float(qty[i])))

    und = rng.integers(n_underlyings, size=n_options)
    is_call = rng.random(n_options) < 0.5
    moneyness = rng.uniform(0.8, 1.2, n_options)
    days = rng.integers(7, 731, size=n_options)
    vol = np.clip(realised_vol[und] * rng.uniform(0.9, 1.4, n_options), 0.08, 1.5)
    dividend = rng.uniform(0.0, 0.03, n_options)
    contracts = np.where(rng.random(n_options) < 0.5, 1.0, -1.0) * rng.integers(
        1, 101, size=n_options
    )
    for i in range(n_options):
        option = EuropeanOption(
            underlying=symbols[und[i]],
            strike=round(float(spot[und[i]] * moneyness[i]), 2),
            expiry=last + dt.timedelta(days=int(days[i])),
            option_type="call" if is_call[i] else "put",
            implied_vol=round(float(vol[i]), 4),
            rate=RATE,
            dividend_yield=round(float(dividend[i]), 4),
        )
        positions.append(
            Position(f"OPT{i:04d}", option, float(contracts[i]), multiplier=OPTION_MULTIPLIER)
        )
    return Portfolio(tuple(positions), name="seed-workload")


@functools.cache
def seed_workload(seed: int = SEED) -> tuple[FactorHistory, Portfolio]:
    """The benchmark history (500 names x 2,701 closes) and book (5,000 positions).

    Deterministic in ``seed``; generated once per process and kept in memory.
    """
    return workload(N_UNDERLYINGS, N_LINEAR + N_OPTIONS, seed)


@functools.cache
def workload(
    n_underlyings: int, n_positions: int, seed: int = SEED
) -> tuple[FactorHistory, Portfolio]:
    """The same recipe at another size: ``n_underlyings`` names x 2,701 closes and a book of
    ``n_positions`` (four fifths stocks, one fifth options, as the seed book). At 500 names
    and 5,000 positions it is the seed workload, bit for bit.

    Deterministic in its arguments; generated once per process and kept in memory.
    """
    n_options = n_positions // 5
    history = _history(seed, n_underlyings)
    return history, _portfolio(history, seed, n_positions - n_options, n_options)


def fingerprint(history: FactorHistory, portfolio: Portfolio) -> str:
    """A short hash of the history's bits and the book's positions (to check determinism)."""
    h = hashlib.sha256(history.content_hash.encode())
    h.update(repr(portfolio.positions).encode())
    return h.hexdigest()[:16]
