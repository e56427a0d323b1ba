"""One exception tree for riskengine.

Every message names the thing, the value and the way out, e.g.
``InsufficientHistoryError("historical VaR needs >= 100 scenarios at confidence 0.99; got 37.
Lengthen --window or import more history.")``.
"""

from __future__ import annotations


class RiskEngineError(Exception):
    """Base of every error riskengine raises on purpose."""


class InputError(RiskEngineError, ValueError):
    """A parameter or an input file is invalid (a field, its value, and how to fix it)."""


class PriceDataError(InputError):
    """A price history file is malformed or holds impossible values."""


class PortfolioFormatError(InputError):
    """A portfolio (book) file is malformed."""


class DataQualityError(InputError):
    """The data holds values that cannot be real (a bad print) and the policy is to refuse."""


class NonFiniteResultError(RiskEngineError):
    """A measure came out infinite or NaN: refused rather than reported (a report never
    carries a non-finite number)."""


class InsufficientHistoryError(RiskEngineError):
    """Too few observations for the requested window, horizon or confidence."""


class UnknownSymbolError(RiskEngineError, KeyError):
    """A symbol is not present in the price history."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class NotPositiveSemidefiniteError(InputError):
    """A user-supplied covariance matrix is not positive semi-definite beyond tolerance."""


class NoPositionsError(RiskEngineError):
    """Every position in the book was excluded, so there is nothing to compute."""


class NotFoundError(RiskEngineError):
    """A stored thing (portfolio, job, report) does not exist for this tenant."""


class TooLargeError(InputError):
    """A request or a portfolio exceeds a configured size limit."""
