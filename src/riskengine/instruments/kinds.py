"""Instruments describe; engines value. Every class here is a frozen description: the
instruments, their option bounds and a position (``Portfolio`` is in ``instruments.types``)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from riskengine.errors import InputError


@dataclass(frozen=True)
class Equity:
    """A stock or ETF; its risk factor is its own price series ``symbol``."""

    symbol: str
    currency: str = "USD"

    @property
    def factor(self) -> str:
        return self.symbol


@dataclass(frozen=True)
class FxSpot:
    """An FX spot holding: ``quantity`` units of the base currency of pair ``symbol``.

    The pair ``EURUSD`` is quoted as USD per 1 EUR, so its value is in USD (``currency``).
    """

    symbol: str

    @property
    def factor(self) -> str:
        return self.symbol

    @property
    def currency(self) -> str:
        return self.symbol[3:6]


@dataclass(frozen=True)
class Future:
    """A futures contract on the price series ``symbol`` (the futures price itself).

    Value is zero (daily settled); P&L = quantity * multiplier * change in the futures price.
    """

    symbol: str
    currency: str = "USD"

    @property
    def factor(self) -> str:
        return self.symbol


@dataclass(frozen=True)
class Bound:
    """The accepted range of an option parameter and the way out when a value is outside."""

    low: float
    high: float
    interval: str
    fix: str


# The accepted ranges of an option's parameters (docs/formats.md): an implied volatility above
# 1,000% or a rate beyond +/-100% a year is a typo (25 for 0.25, basis points for a decimal),
# not a market; Black-Scholes values of such inputs overflow or lose every digit.
OPTION_BOUNDS = {
    "implied_vol": Bound(
        0.0,
        10.0,
        "(0, 10]",
        "Write the implied volatility as an annualised decimal: 0.25 means 25%; 10 (1,000%) "
        "is the largest accepted.",
    ),
    "rate": Bound(
        -1.0,
        1.0,
        "[-1, 1]",
        "Write the rate as a continuously compounded decimal: 0.04 means 4%.",
    ),
    "dividend_yield": Bound(
        -1.0,
        1.0,
        "[-1, 1]",
        "Write the dividend yield as a continuous decimal: 0.02 means 2%.",
    ),
}


def _real(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class EuropeanOption:
    """A European call or put on ``underlying``.

    Priced by Black-Scholes-Merton on a spot underlying (continuous ``dividend_yield``) or
    Black-76 when ``underlying_type`` is "future". ``rate`` and ``dividend_yield`` are
    continuously compounded decimals; ``implied_vol`` is an annualised decimal (0.25 = 25%).
    """

    underlying: str
    strike: float
    expiry: dt.date
    option_type: Literal["call", "put"]
    implied_vol: float
    rate: float = 0.0
    dividend_yield: float = 0.0
    underlying_type: Literal["spot", "future"] = "spot"
    currency: str = "USD"
    symbol: str = ""

    def __post_init__(self):
        for name in ("strike", "implied_vol"):
            v = getattr(self, name)
            if not (_real(v) and v > 0):
                raise InputError(
                    f"option on {self.underlying}: {name} must be a positive number; got {v!r}."
                )
        for name, bound in OPTION_BOUNDS.items():
            v = getattr(self, name)
            if not (_real(v) and bound.low <= v <= bound.high):
                raise InputError(
                    f"option on {self.underlying}: {name} = {v!r} is outside {bound.interval}. "
                    f"{bound.fix}"
                )
        if not isinstance(self.expiry, dt.date):
            raise InputError(
                f"option on {self.underlying}: expiry {self.expiry!r} is not a date; "
                "give a datetime.date (YYYY-MM-DD in a file)."
            )
        if self.option_type not in ("call", "put"):
            raise InputError(
                f"option on {self.underlying}: option_type must be 'call' or 'put'; "
                f"got {self.option_type!r}."
            )

    @property
    def factor(self) -> str:
        return self.underlying


Instrument = Equity | FxSpot | Future | EuropeanOption

INSTRUMENT_TYPES = ("equity", "fx", "future", "option")


@dataclass(frozen=True)
class Position:
    """``quantity`` units (or contracts) of ``instrument``; negative is short.

    ``multiplier`` scales the quantity (contract size); ``tags`` are free key=value labels.
    """

    id: str
    instrument: Instrument
    quantity: float
    multiplier: float = 1.0
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def symbol(self) -> str:
        inst = self.instrument
        if isinstance(inst, EuropeanOption):
            return inst.symbol or inst.underlying
        return inst.symbol

    def scaled(self, factor: float) -> Position:
        """The same position with its quantity multiplied by ``factor``."""
        return Position(
            self.id, self.instrument, self.quantity * factor, self.multiplier, self.tags
        )
