"""Backtest a VaR/ES series made elsewhere: the same statistics and traffic light as the engine's
own backtest (``run_backtest``), on your dates, P&L and forecasts.

``backtest_series`` (Python) and ``riskengine backtest --series FILE`` (a CSV or Parquet file
with ``date``, ``pnl`` and one ``var_<c>`` (and optionally ``es_<c>``) column per confidence:
``var_99``, ``var_97.5``, ``es_0.975``; docs/backtest.md#your-own-series).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from riskengine.backtest.result import BacktestResult
from riskengine.backtest.rolling import RolledMethod
from riskengine.backtest.run import _statistics
from riskengine.core.measures import check_confidence
from riskengine.errors import InputError
from riskengine.version import __version__

SERIES_METHOD = "series"
_COLUMN = re.compile(r"^(var|es)[_ ]?(\d+(?:\.\d+)?)$")


def _confidence(raw: str) -> float:
    """``99`` or ``97.5`` (percent) or ``0.99`` (a fraction)."""
    x = float(raw)
    return x / 100.0 if x > 1 else x


def _levels(series, name: str, n: int) -> dict[float, np.ndarray]:
    if not isinstance(series, Mapping) or not series:
        raise InputError(
            f"{name} must map each confidence to its daily forecasts, e.g. {{0.99: [...]}}; "
            f"got {type(series).__name__}."
        )
    out: dict[float, np.ndarray] = {}
    for c, values in series.items():
        level = check_confidence(float(c))
        arr = np.asarray(values, dtype=float)
        if arr.shape != (n,):
            raise InputError(
                f"{name} at {level}: {arr.shape[0] if arr.ndim == 1 else arr.shape} values for "
                f"{n} days; give one forecast per day."
            )
        if not np.all(np.isfinite(arr)):
            day = int(np.argmax(~np.isfinite(arr)))
            raise InputError(f"{name} at {level}: day {day + 1} is {arr[day]!r}, not a number.")
        out[level] = arr
    return out


def backtest_series(
    dates,
    pnl,
    value_at_risk: Mapping,
    expected_shortfall: Mapping | None = None,
    *,
    base_currency: str = "USD",
    name: str = "series",
) -> BacktestResult:
    """Backtest VaR (and ES) forecasts made elsewhere against the P&L they forecast.

    Row t holds the P&L of day ``dates[t]`` and the forecasts made for that day (at the close
    before it). The statistics are those of ``run_backtest``: exceptions (loss > VaR, strict),
    Kupiec POF, Christoffersen independence, conditional coverage, the Basel traffic light over
    the last 250 days, and the Acerbi-Szekely Z2 statistic when ES is given (no simulated
    p-value: the forecasts' loss distributions are not known).

    Args:
        dates: the P&L days (ISO strings or dates), increasing.
        pnl: shape (n_days,), the realised P&L (gain positive).
        value_at_risk: confidence -> shape (n_days,), the VaR forecast of each day (a positive
            loss amount).
        expected_shortfall: optional, confidence -> shape (n_days,), the ES forecasts at the
            same confidences.
        base_currency: the currency of the amounts (for the report).
        name: what the series is called in the report.

    Returns:
        A ``BacktestResult`` with one method, ``"series"``.

    Raises:
        InputError: lengths that differ, a value that is not a number, a confidence outside
            (0, 1), ES at a confidence without VaR, dates not increasing.
    """
    days = [str(d)[:10] for d in dates]
    n = len(days)
    if n == 0:
        raise InputError("the series has no days.")
    if any(b <= a for a, b in zip(days, days[1:], strict=False)):
        i = next(i for i, (a, b) in enumerate(zip(days, days[1:], strict=False)) if b <= a)
        raise InputError(f"dates must increase: {days[i + 1]} follows {days[i]}.")
    realised = np.asarray(pnl, dtype=float)
    if realised.shape != (n,):
        raise InputError(f"pnl has {realised.size} values for {n} days; give one per day.")
    if not np.all(np.isfinite(realised)):
        day = int(np.argmax(~np.isfinite(realised)))
        raise InputError(f"pnl on {days[day]} is {realised[day]!r}, not a number.")
    var = _levels(value_at_risk, "value_at_risk", n)
    es = _levels(expected_shortfall, "expected_shortfall", n) if expected_shortfall else {}
    extra = sorted(set(es) - set(var))
    if extra:
        raise InputError(
            f"expected_shortfall at {', '.join(map(str, extra))} has no VaR at that confidence; "
            "give both (the Z2 test needs the VaR)."
        )
    levels = tuple(var)
    var_m = np.column_stack([var[c] for c in levels])
    es_m = np.column_stack([es.get(c, np.full(n, np.nan)) for c in levels])
    rolled = RolledMethod(var_m, es_m, None, {"source": name})  # type: ignore[arg-type]
    method = _statistics(SERIES_METHOD, rolled, realised, levels, 0, 0)
    notes = [
        f"{name}: forecasts and P&L as given; each row's VaR is the forecast for that row's P&L",
        "exception: the realised loss exceeds the VaR forecast for that day",
    ]
    if not es:
        notes.append("no ES given: no Acerbi-Szekely Z2 statistic")
    return BacktestResult(
        as_of=days[-1],
        base_currency=str(base_currency).upper(),
        window=0,
        confidence=levels,
        dates=tuple(days),
        pnl_dates=tuple(days),
        realised_pnl=realised,
        methods=(method,),
        portfolio={"name": name, "n_positions": 0, "n_included": 0, "market_value": None},
        parameters={"methods": [SERIES_METHOD], "confidence": list(levels), "source": name},
        notes=tuple(notes),
        provenance={"seed": None, "data_snapshot_id": None, "code_version": __version__},
    )


def load_series(path: str | Path) -> BacktestResult:
    """``backtest_series`` on a file: CSV, or Parquet (``riskengine[parquet]``), with the
    columns ``date``, ``pnl``, and ``var_<c>`` / ``es_<c>`` per confidence (``var_99``,
    ``var_97.5``, ``var_0.99``).

    Raises:
        InputError: an unreadable file, a missing column, a cell that is not a number, naming
            the file, the line and the column.
    """
    p = Path(path)
    columns = _parquet_columns(p) if p.suffix.lower() == ".parquet" else _csv_columns(p)
    keys = {k.strip().lower(): k for k in columns}
    for need in ("date", "pnl"):
        if need not in keys:
            raise InputError(
                f"series file {p.name}: no {need!r} column; the columns are date, pnl and "
                f"var_<c> (and es_<c>) per confidence; got {', '.join(columns)}."
            )
    var: dict[float, list] = {}
    es: dict[float, list] = {}
    for key, col in keys.items():
        m = _COLUMN.match(key)
        if m:
            target = var if m.group(1) == "var" else es
            target[_confidence(m.group(2))] = columns[col]
    if not var:
        raise InputError(
            f"series file {p.name}: no VaR column; name them var_<confidence>, e.g. var_99 or "
            f"var_0.975; got {', '.join(columns)}."
        )
    return backtest_series(
        columns[keys["date"]], columns[keys["pnl"]], var, es or None, name=p.name
    )


def _csv_columns(p: Path) -> dict[str, list]:
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the series file {str(p)!r}: {exc}.") from None
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"series file {p.name} is empty; give a header date,pnl,var_99,...")
    header = [h.strip() for h in rows[0]]
    columns: dict[str, list] = {h: [] for h in header}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputError(
                f"series file {p.name} line {line}: {len(row)} fields for {len(header)} columns."
            )
        for h, cell in zip(header, row, strict=True):
            cell = cell.strip()
            if h.lower() == "date":
                columns[h].append(cell)
                continue
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise InputError(
                    f"series file {p.name} line {line}: {h} = {cell!r} is not a number."
                )
            columns[h].append(value)
    return columns


def _parquet_columns(p: Path) -> dict[str, list]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from riskengine.frames import PARQUET_HINT

        raise ImportError(PARQUET_HINT) from None
    table = pq.read_table(p)
    out = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        out[name] = [str(v)[:10] if name.lower() == "date" else v for v in values]
    return out
