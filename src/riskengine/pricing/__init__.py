"""Pricing engines: instruments x market arrays -> values and greeks."""

from riskengine.pricing.black_scholes import OptionGreeks, bsm_greeks, bsm_price

__all__ = ["OptionGreeks", "bsm_greeks", "bsm_price"]
