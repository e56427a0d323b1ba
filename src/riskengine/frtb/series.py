"""Daily P&L series a user supplies to the desk tests: actual P&L (for the backtest) and the risk
model's P&L (for the P&L attribution test), aligned to the desk-test days."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from riskengine.errors import InputError


def load_pnl_series(path: str | Path) -> dict[str, float]:
    """A CSV file with a header ``date,pnl`` (ISO dates, P&L positive for a gain, base currency).

    Raises:
        InputError: an unreadable file, a missing column, a bad date or number, a date twice.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the P&L file {str(path)!r}: {exc}.") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if fields[:2] != ["date", "pnl"]:
        raise InputError(
            f"P&L file {p.name} needs the header date,pnl; got {','.join(fields) or 'none'}."
        )
    out: dict[str, float] = {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        try:
            day = dt.date.fromisoformat(row["date"]).isoformat()
        except ValueError:
            raise InputError(
                f"P&L file {p.name} line {line}: date {row['date']!r} is not YYYY-MM-DD."
            ) from None
        try:
            value = float(row["pnl"])
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(
                f"P&L file {p.name} line {line}: pnl {row['pnl']!r} is not a finite number."
            )
        if day in out:
            raise InputError(f"P&L file {p.name} line {line}: date {day} appears twice.")
        out[day] = value
    return out


def aligned(series, dates: list[str], name: str) -> np.ndarray | None:
    """``series`` on ``dates``: None, a mapping date -> P&L (a file's path is read first), or a
    sequence of one value per date.

    Raises:
        InputError: a date missing from the mapping, a sequence of another length, a
            non-finite value.
    """
    if series is None:
        return None
    if isinstance(series, str | Path):
        series = load_pnl_series(series)
    if isinstance(series, Mapping):
        by_date = {str(k)[:10] if not isinstance(k, dt.date) else k.isoformat(): v
                   for k, v in series.items()}  # fmt: skip
        missing = [d for d in dates if d not in by_date]
        if missing:
            raise InputError(
                f"{name} has no P&L for {len(missing)} of the {len(dates)} desk-test days, the "
                f"first {missing[0]}; the days run from {dates[0]} to {dates[-1]}."
            )
        values = np.array([by_date[d] for d in dates], dtype=float)
    else:
        values = np.asarray(series, dtype=float)
        if values.shape != (len(dates),):
            raise InputError(
                f"{name} must hold one P&L per desk-test day ({len(dates)}, {dates[0]} to "
                f"{dates[-1]}); got shape {values.shape}."
            )
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} holds a value that is not a finite number.")
    return values
