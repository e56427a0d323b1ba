"""Vectorised generalised Black-Scholes-Merton pricing (cost-of-carry form).

With spot (or futures price) S, strike K, time t (years), volatility v, rate r and carry b:

    d1 = (ln(S/K) + (b + v^2/2) t) / (v sqrt t),  d2 = d1 - v sqrt t
    call = S e^{(b-r)t} N(d1) - K e^{-rt} N(d2),  put = K e^{-rt} N(-d2) - S e^{(b-r)t} N(-d1)

b = r - q gives Black-Scholes-Merton on a stock with continuous dividend yield q; b = 0 gives
Black-76 on a futures price. At t <= 0 the value is intrinsic, max(+-(S - K), 0). Every argument
broadcasts; ``is_call`` is a boolean array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

_SQRT_2PI = np.sqrt(2.0 * np.pi)
_TINY = 1e-300


def _d1_d2(spot, strike, t, vol, carry):
    vst = vol * np.sqrt(t)
    d1 = (np.log(np.maximum(spot, _TINY) / strike) + (carry + 0.5 * vol * vol) * t) / vst
    return d1, d1 - vst, vst


def bsm_price(spot, strike, t, vol, rate, carry, is_call):
    """Option value per unit; shapes broadcast. ``t`` <= 0 gives intrinsic value."""
    spot, strike, t, vol, rate, carry, is_call = np.broadcast_arrays(
        np.asarray(spot, float), strike, t, vol, rate, carry, is_call
    )
    live = t > 0
    tt = np.where(live, t, 1.0)
    d1, d2, _ = _d1_d2(spot, strike, tt, vol, carry)
    sign = np.where(is_call, 1.0, -1.0)
    df_s = np.exp((carry - rate) * tt)
    df_k = np.exp(-rate * tt)
    value = sign * (spot * df_s * ndtr(sign * d1) - strike * df_k * ndtr(sign * d2))
    intrinsic = np.maximum(sign * (spot - strike), 0.0)
    return np.where(live, value, intrinsic)


@dataclass(frozen=True)
class OptionGreeks:
    """Per-unit value and sensitivities: delta dV/dS, gamma d2V/dS2, vega dV/dvol (per 1.00
    of volatility, i.e. per 100 vol points)."""

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray


def bsm_greeks(spot, strike, t, vol, rate, carry, is_call) -> OptionGreeks:
    """Price, delta, gamma and vega; at t <= 0 delta is the exercise indicator, gamma and vega 0."""
    spot, strike, t, vol, rate, carry, is_call = np.broadcast_arrays(
        np.asarray(spot, float), strike, t, vol, rate, carry, is_call
    )
    live = t > 0
    tt = np.where(live, t, 1.0)
    d1, d2, vst = _d1_d2(spot, strike, tt, vol, carry)
    sign = np.where(is_call, 1.0, -1.0)
    df_s = np.exp((carry - rate) * tt)
    df_k = np.exp(-rate * tt)
    pdf = np.exp(-0.5 * d1 * d1) / _SQRT_2PI
    price = sign * (spot * df_s * ndtr(sign * d1) - strike * df_k * ndtr(sign * d2))
    delta = sign * df_s * ndtr(sign * d1)
    gamma = df_s * pdf / (np.maximum(spot, _TINY) * vst)
    vega = spot * df_s * pdf * np.sqrt(tt)
    itm = (sign * (spot - strike)) > 0
    return OptionGreeks(
        price=np.where(live, price, np.maximum(sign * (spot - strike), 0.0)),
        delta=np.where(live, delta, np.where(itm, sign, 0.0)),
        gamma=np.where(live, gamma, 0.0),
        vega=np.where(live, vega, 0.0),
    )
