"""Builders for small, exactly known histories and books used across the tests."""

from __future__ import annotations

import datetime as dt

import numpy as np

from riskengine import Equity, EuropeanOption, FactorHistory, Portfolio, Position


def history_from_returns(returns, symbols=None, start_prices=None, start="2020-01-01"):
    """A FactorHistory whose daily simple returns are exactly ``returns`` (n_obs, n_factors).

    Prices are the cumulative product from ``start_prices`` on consecutive calendar days.
    """
    r = np.atleast_2d(np.asarray(returns, dtype=float))
    if r.shape[0] == 1 and np.ndim(returns) == 1:
        r = r.T
    n_obs, k = r.shape
    symbols = tuple(symbols or [f"S{i}" for i in range(k)])
    p0 = np.asarray(start_prices if start_prices is not None else np.full(k, 100.0), float)
    prices = np.vstack([p0, p0 * np.cumprod(1.0 + r, axis=0)])
    dates = np.datetime64(start, "D") + np.arange(n_obs + 1)
    return FactorHistory(dates, symbols, prices)


def gaussian_history(n_obs=750, k=3, seed=1, vols=(0.01, 0.02, 0.015), corr=0.3):
    """A history of k factors with correlated normal daily returns (a fixed draw)."""
    rng = np.random.default_rng(seed)
    c = np.full((k, k), corr) + (1 - corr) * np.eye(k)
    sd = np.asarray(vols[:k])
    cov = c * np.outer(sd, sd)
    r = rng.multivariate_normal(np.zeros(k), cov, size=n_obs)
    return history_from_returns(r)


def stock_book(quantities: dict[str, float], name="book") -> Portfolio:
    return Portfolio(
        tuple(Position(f"p{i}", Equity(s), q) for i, (s, q) in enumerate(quantities.items())),
        name,
    )


def option(underlying, strike, days, kind="call", vol=0.3, rate=0.02, div=0.0, as_of=None):
    as_of = as_of or dt.date(2022, 1, 1)
    return EuropeanOption(
        underlying=underlying,
        strike=strike,
        expiry=as_of + dt.timedelta(days=days),
        option_type=kind,
        implied_vol=vol,
        rate=rate,
        dividend_yield=div,
    )


def black_scholes(s, k, t, vol, r, q, kind):
    """Independent textbook Black-Scholes-Merton (scipy.stats.norm), for oracles in tests."""
    from scipy.stats import norm

    s = np.asarray(s, float)
    if t <= 0:
        return np.maximum(s - k, 0.0) if kind == "call" else np.maximum(k - s, 0.0)
    d1 = (np.log(s / k) + (r - q + 0.5 * vol**2) * t) / (vol * np.sqrt(t))
    d2 = d1 - vol * np.sqrt(t)
    if kind == "call":
        return s * np.exp(-q * t) * norm.cdf(d1) - k * np.exp(-r * t) * norm.cdf(d2)
    return k * np.exp(-r * t) * norm.cdf(-d2) - s * np.exp(-q * t) * norm.cdf(-d1)


ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
