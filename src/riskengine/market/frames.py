"""Price histories from and to pandas (``riskengine[pandas]``): ``FactorHistory.from_frame`` and
``FactorHistory.to_frame`` call these."""

from __future__ import annotations

import numpy as np

from riskengine.errors import PriceDataError
from riskengine.frames import pandas

_DATE = ("date", "day", "timestamp")
_SYMBOL = ("symbol", "ticker")
_CLOSE = ("close", "price", "adj close", "adj_close")


def _days(values, what: str) -> np.ndarray:
    """Dates as datetime64[D]; timestamps must fall on midnight (daily closes)."""
    pd = pandas()
    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(values))
    except (ValueError, TypeError) as exc:
        raise PriceDataError(f"{what}: the dates cannot be read as dates ({exc}).") from None
    if stamps.hasnans:
        raise PriceDataError(f"{what}: a date is missing (NaT); every row needs its date.")
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    if (stamps != stamps.normalize()).any():
        bad = stamps[stamps != stamps.normalize()][0]
        raise PriceDataError(
            f"{what}: {bad} is not a date: riskengine reads daily closes, one row per day; "
            "resample intraday prices to daily closes first."
        )
    return stamps.values.astype("datetime64[D]")


def _prices(values, symbols, days, what: str) -> np.ndarray:
    try:
        prices = np.array(values, dtype=np.float64)
    except (ValueError, TypeError):
        raise PriceDataError(
            f"{what}: the prices are not all numbers; convert the columns to floats (empty: NaN)."
        ) from None
    bad = ~np.isnan(prices) & ~(np.isfinite(prices) & (prices > 0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        value = float(prices[i, j])
        raise PriceDataError(
            f"{what}: the close of {symbols[j]} on {days[i]} is {value!r}; a close must be a "
            "positive finite number (NaN: no close that day)."
        )
    return prices


def history_from_frame(
    frame, *, symbol: str | None = None, what: str = "the DataFrame"
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """(dates, symbols, prices) of a frame (``FactorHistory.from_frame`` makes the history);
    ``what`` names the source in errors."""
    pd = pandas()
    if isinstance(frame, pd.Series):
        name = symbol if symbol is not None else frame.name
        if name is None or str(name).strip() == "":
            raise PriceDataError(
                "the Series has no name: give the asset's symbol, from_frame(series, symbol=...)."
            )
        frame = frame.to_frame(str(name))
        what = f"the Series {name!r}"
    elif not isinstance(frame, pd.DataFrame):
        raise PriceDataError(
            f"from_frame takes a pandas DataFrame or Series; got {type(frame).__name__}."
        )
    keys = {str(c).strip().lower(): c for c in frame.columns}
    sym = next((keys[k] for k in _SYMBOL if k in keys), None)
    date_column = next((keys[k] for k in _DATE if k in keys), None)
    if sym is None and date_column is not None:  # wide, with the dates as a column
        frame = frame.set_index(date_column)
    if sym is not None:  # long: date, symbol, close
        date = next((keys[k] for k in _DATE if k in keys), None)
        close = next((keys[k] for k in _CLOSE if k in keys), None)
        if date is None or close is None:
            raise PriceDataError(
                f"{what}: a long frame needs the columns date, symbol and close; got "
                f"{', '.join(map(str, frame.columns))}."
            )
        if frame.duplicated([date, sym]).any():
            d, s = frame.loc[frame.duplicated([date, sym]), [date, sym]].iloc[0]
            raise PriceDataError(f"{what}: {s} has two closes on {d}; keep one.")
        frame = frame.pivot(index=date, columns=sym, values=close)
    if frame.shape[1] == 0:
        raise PriceDataError(f"{what}: no symbol columns; one column per asset, dates as index.")
    symbols = tuple(str(c) for c in frame.columns)
    if len(set(symbols)) != len(symbols):
        raise PriceDataError(f"{what}: a symbol appears twice among the columns; keep one.")
    days = _days(frame.index, what)
    order = np.argsort(days, kind="stable")
    days = days[order]
    if np.any(np.diff(days) == np.timedelta64(0, "D")):
        i = int(np.argmax(np.diff(days) == np.timedelta64(0, "D")))
        raise PriceDataError(f"{what}: the date {days[i]} appears twice; keep one row per day.")
    prices = _prices(frame.to_numpy(dtype=object)[order], symbols, days, what)
    return days, symbols, prices


def history_to_frame(history):
    """See ``FactorHistory.to_frame``."""
    pd = pandas()
    index = pd.DatetimeIndex(history.dates.astype("datetime64[ns]"), name="date")
    return pd.DataFrame(
        np.array(history.prices, copy=True), index=index, columns=list(history.symbols)
    )


def read_parquet_frame(path, what: str):
    """A Parquet file as a DataFrame (``riskengine[parquet]``)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from riskengine.frames import PARQUET_HINT

        raise ImportError(PARQUET_HINT) from None
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise PriceDataError(f"cannot read {what}: {exc}.") from None
