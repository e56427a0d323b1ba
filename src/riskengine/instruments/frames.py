"""Books from and to pandas (``riskengine[pandas]``): ``Portfolio.from_frame`` and
``Portfolio.to_frame`` call these. The columns are the book fields of docs/formats.md."""

from __future__ import annotations

import datetime as dt
import math

from riskengine.errors import PortfolioFormatError
from riskengine.frames import pandas
from riskengine.instruments.kinds import Equity, EuropeanOption, Future, FxSpot, Position
from riskengine.instruments.records import KNOWN_FIELDS

COLUMNS = tuple(f for f in KNOWN_FIELDS if f != "exercise")  # riskengine's options are European


def _missing(value) -> bool:
    pd = pandas()
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _value(value):
    pd = pandas()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def frame_records(frame) -> list[dict]:
    """The position records of a DataFrame (``Portfolio.from_frame``): one dict per row, NaN
    and None left out, dates as ISO text."""
    pd = pandas()
    if not isinstance(frame, pd.DataFrame):
        raise PortfolioFormatError(
            f"Portfolio.from_frame takes a pandas DataFrame; got {type(frame).__name__}."
        )
    if frame.index.name is not None and str(frame.index.name).strip().lower() in KNOWN_FIELDS:
        frame = frame.reset_index()
    return [
        {k: _value(v) for k, v in row.items() if not _missing(v)}
        for row in frame.to_dict(orient="records")
    ]


def position_record(p: Position) -> dict:
    """The book fields of one position (docs/formats.md), None where a field does not apply."""
    inst = p.instrument
    rec: dict = dict.fromkeys(COLUMNS)
    rec |= {
        "id": p.id,
        "quantity": p.quantity,
        "multiplier": p.multiplier,
        "tags": ";".join(f"{k}={v}" for k, v in p.tags) or None,
    }
    if isinstance(inst, EuropeanOption):
        rec |= {
            "instrument_type": "option",
            "symbol": inst.symbol or None,
            "currency": inst.currency,
            "underlying": inst.underlying,
            "strike": inst.strike,
            "expiry": inst.expiry.isoformat(),
            "option_type": inst.option_type,
            "implied_vol": inst.implied_vol,
            "rate": inst.rate,
            "dividend_yield": inst.dividend_yield,
            "underlying_type": inst.underlying_type,
        }
    elif isinstance(inst, FxSpot):
        rec |= {"instrument_type": "fx", "symbol": inst.symbol, "currency": inst.currency}
    elif isinstance(inst, Future):
        rec |= {"instrument_type": "future", "symbol": inst.symbol, "currency": inst.currency}
    elif isinstance(inst, Equity):
        rec |= {"instrument_type": "equity", "symbol": inst.symbol, "currency": inst.currency}
    return rec


def portfolio_to_frame(portfolio):
    """See ``Portfolio.to_frame``."""
    pd = pandas()
    frame = pd.DataFrame.from_records(
        [position_record(p) for p in portfolio.positions], columns=list(COLUMNS)
    )
    return frame.set_index("id")
