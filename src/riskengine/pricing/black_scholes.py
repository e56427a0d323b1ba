"""Vectorised generalised Black-Scholes-Merton pricing (cost-of-carry form).

With spot (or futures price) S, strike K, time t (years), volatility v, rate r and carry b:

    d1 = (ln(S/K) + (b + v^2/2) t) / (v sqrt t),  d2 = d1 - v sqrt t
    call = S e^{(b-r)t} N(d1) - K e^{-rt} N(d2),  put = K e^{-rt} N(-d2) - S e^{(b-r)t} N(-d1)

b = r - q gives Black-Scholes-Merton on a stock with continuous dividend yield q; b = 0 gives
Black-76 on a futures price. At t <= 0 the value is intrinsic, max(+-(S - K), 0). Every argument
broadcasts; ``is_call`` is a boolean array.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtr

_SQRT_2PI = np.sqrt(2.0 * np.pi)
_TINY = 1e-300


def bsm_price(spot, strike, t, vol, rate, carry, is_call):
    """Option value per unit; shapes broadcast. ``t`` <= 0 gives intrinsic value."""
    return OptionTerms.of(strike, t, vol, rate, carry, is_call).price(spot)


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
    return OptionTerms.of(strike, t, vol, rate, carry, is_call).greeks(spot)


@dataclass(frozen=True)
class OptionTerms:
    """The per-option constants of the formula, computed once, to price many spots fast.

    For options with fixed strike, time, volatility, rate and carry, every scenario only changes
    the spot: ``price(spot)`` evaluates d1 from the precomputed drift and vol*sqrt(t), prices the
    call and obtains the put by parity (P = C - S e^{(b-r)t} + K e^{-rt}). Options at or past
    expiry (t <= 0) are worth their intrinsic value. Arrays broadcast against ``spot``: shape
    (n_options,) prices spots of shape (..., n_options); use ``reshape`` for other layouts.
    """

    strike: np.ndarray
    live: np.ndarray
    is_put: np.ndarray
    log_strike_less_drift: np.ndarray  # ln K - (b + v^2/2) t
    vst: np.ndarray  # v sqrt(t)
    inv_vst: np.ndarray
    sqrt_t: np.ndarray
    df_s: np.ndarray  # e^{(b-r)t}
    k_df: np.ndarray  # K e^{-rt}
    sign: np.ndarray  # +1 call, -1 put

    @classmethod
    def of(cls, strike, t, vol, rate, carry, is_call) -> OptionTerms:
        strike, t, vol, rate, carry, is_call = (
            np.asarray(a, dtype=float if i < 5 else bool)
            for i, a in enumerate(np.broadcast_arrays(strike, t, vol, rate, carry, is_call))
        )
        live = t > 0
        tt = np.where(live, t, 1.0)
        vst = vol * np.sqrt(tt)
        return cls(
            strike=strike,
            live=live,
            is_put=~is_call,
            log_strike_less_drift=np.log(strike) - (carry + 0.5 * vol * vol) * tt,
            vst=vst,
            inv_vst=1.0 / vst,
            sqrt_t=np.sqrt(tt),
            df_s=np.exp((carry - rate) * tt),
            k_df=strike * np.exp(-rate * tt),
            sign=np.where(is_call, 1.0, -1.0),
        )

    def reshape(self, *shape) -> OptionTerms:
        return OptionTerms(*(getattr(self, f.name).reshape(*shape) for f in fields(self)))

    def take(self, index) -> OptionTerms:
        return OptionTerms(*(getattr(self, f.name)[index] for f in fields(self)))

    def _d1(self, spot):
        """d1 at ``spot``: a new array of the broadcast shape (at least one dimension)."""
        d1 = np.maximum(np.atleast_1d(spot), _TINY)
        np.log(d1, out=d1)
        if d1.shape == np.broadcast_shapes(d1.shape, self.log_strike_less_drift.shape):
            d1 -= self.log_strike_less_drift
        else:
            d1 = d1 - self.log_strike_less_drift
        d1 *= self.inv_vst
        return d1

    def _scalar(self, spot, x):
        """``x`` (at least 1-d) as the plain formula would give it: a scalar for a scalar
        spot and scalar terms."""
        if x.ndim == 1 and x.size == 1 and spot.ndim == 0 and self.strike.ndim == 0:
            return x[0]
        return x

    def _finish(self, spot, value):
        if not self.live.all():
            intrinsic = np.maximum(self.sign * (spot - self.strike), 0.0)
            value = np.where(self.live, value, intrinsic)
        return value

    # The formulas below work in place on their temporaries (a price is ~10 passes over
    # arrays of scenarios x options): the same operations in the same order as written out,
    # hence the same values. Put parity adds k_df - s_df to the puts only: adding 0 to a call
    # changes nothing (a call's value is never -0).

    def price(self, spot) -> np.ndarray:
        """Per-unit values at ``spot`` (broadcast against the option arrays)."""
        spot = np.asarray(spot, float)
        d1 = self._d1(spot)
        s_df = np.atleast_1d(spot) * self.df_s
        value = ndtr(d1)
        value *= s_df
        d1 -= self.vst  # now d2
        n2 = ndtr(d1, out=d1)
        n2 *= self.k_df
        value -= n2
        if self.is_put.any():
            np.subtract(self.k_df, s_df, out=s_df)
            np.add(value, s_df, out=value, where=self.is_put)
        return self._scalar(spot, self._finish(spot, value))

    def price_delta(self, spot) -> tuple[np.ndarray, np.ndarray]:
        """(price, delta) at ``spot``: ``greeks(spot)``'s without gamma and vega."""
        spot = np.asarray(spot, float)
        d1 = self._d1(spot)
        n1 = ndtr(d1)
        s_df = np.atleast_1d(spot) * self.df_s
        value = s_df * n1
        d1 -= self.vst
        n2 = ndtr(d1, out=d1)
        n2 *= self.k_df
        value -= n2
        delta = n1
        delta *= self.df_s
        if self.is_put.any():
            np.subtract(self.k_df, s_df, out=s_df)
            np.add(value, s_df, out=value, where=self.is_put)
            np.subtract(delta, self.df_s, out=delta, where=self.is_put)
        if not self.live.all():
            itm = self.sign * (spot - self.strike) > 0
            delta = np.where(self.live, delta, np.where(itm, self.sign, 0.0))
        return self._scalar(spot, self._finish(spot, value)), self._scalar(spot, delta)

    def greeks(self, spot) -> OptionGreeks:
        """Price, delta, gamma and vega at ``spot`` (as ``bsm_greeks``)."""
        spot = np.asarray(spot, float)
        d1 = np.log(np.maximum(spot, _TINY)) - self.log_strike_less_drift
        d1 *= self.inv_vst
        n1 = ndtr(d1)
        pdf = np.exp(-0.5 * d1 * d1) / _SQRT_2PI
        s_df = spot * self.df_s
        value = s_df * n1 - self.k_df * ndtr(d1 - self.vst)
        delta = self.df_s * n1
        if self.is_put.any():
            value += np.where(self.is_put, self.k_df - s_df, 0.0)
            delta -= np.where(self.is_put, self.df_s, 0.0)
        gamma = self.df_s * pdf / (np.maximum(spot, _TINY) * self.vst)
        vega = s_df * pdf * self.sqrt_t
        if not self.live.all():
            itm = self.sign * (spot - self.strike) > 0
            delta = np.where(self.live, delta, np.where(itm, self.sign, 0.0))
            gamma = np.where(self.live, gamma, 0.0)
            vega = np.where(self.live, vega, 0.0)
        return OptionGreeks(self._finish(spot, value), delta, gamma, vega)
