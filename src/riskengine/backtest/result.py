"""The backtest's frozen result: the daily series per method and their statistics, with JSON,
CSV and table views."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass

import numpy as np

from riskengine.backtest.stats import LikelihoodRatio, TrafficLight, Transitions
from riskengine.errors import InputError

SCHEMA_VERSION = 1


def _num(x):
    """A JSON-safe float (NaN and infinities become None)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(a) -> list:
    return [_num(x) for x in np.asarray(a, dtype=float).ravel()]


@dataclass(frozen=True)
class BacktestStatistics:
    """The tests of one method at one confidence over the backtest's days.

    Attributes:
        n_obs: days T.
        n_exceptions: days whose realised loss exceeded the VaR.
        expected_exceptions: T (1 - c).
        kupiec: proportion of failures, chi2(1).
        independence: Christoffersen independence, chi2(1).
        conditional_coverage: Christoffersen conditional coverage, chi2(2).
        transitions: the consecutive-day counts behind the independence test.
        traffic_light: Basel traffic light on the last 250 days (None with fewer days).
        z2: Acerbi-Szekely Z2 of the ES forecasts (negative: risk underestimated).
        z2_p_value: P(Z2 <= observed) under the model's own daily distributions, simulated
            (``z2_simulations`` draws); NaN without simulations.
    """

    confidence: float
    n_obs: int
    n_exceptions: int
    expected_exceptions: float
    kupiec: LikelihoodRatio
    independence: LikelihoodRatio
    conditional_coverage: LikelihoodRatio
    transitions: Transitions
    traffic_light: TrafficLight | None
    z2: float
    z2_p_value: float
    z2_simulations: int

    @property
    def exception_rate(self) -> float:
        return self.n_exceptions / self.n_obs

    def to_dict(self) -> dict:
        return {
            "confidence": self.confidence,
            "n_obs": self.n_obs,
            "n_exceptions": self.n_exceptions,
            "expected_exceptions": self.expected_exceptions,
            "exception_rate": self.exception_rate,
            "kupiec_pof": _lr(self.kupiec),
            "christoffersen_independence": _lr(self.independence),
            "conditional_coverage": _lr(self.conditional_coverage),
            "transitions": self.transitions.to_dict(),
            "traffic_light": None if self.traffic_light is None else self.traffic_light.to_dict(),
            "z2": {
                "statistic": _num(self.z2),
                "p_value": _num(self.z2_p_value),
                "n_simulations": self.z2_simulations,
            },
        }


def _lr(lr: LikelihoodRatio) -> dict:
    return {"statistic": _num(lr.statistic), "df": lr.df, "p_value": _num(lr.p_value)}


@dataclass(frozen=True)
class MethodBacktest:
    """One method's daily forecasts and their statistics.

    Attributes:
        method: "historical", "parametric" or "montecarlo".
        value_at_risk, expected_shortfall: shape (n_days, n_confidences), forecasts made at the
            close of each day for the next day.
        exceptions: shape (n_days, n_confidences), realised loss > VaR.
        traffic_light_exceptions: shape (n_days, n_confidences), exceptions in the 250 days
            ending that day (-1 before 250 days).
        traffic_light_zone: shape (n_days, n_confidences), "green", "yellow", "red" ("" before
            250 days).
        statistics: one per confidence, in request order.
        parameters, notes, data_quality: the method's (see ``rolling.RolledMethod``).
    """

    method: str
    value_at_risk: np.ndarray
    expected_shortfall: np.ndarray
    exceptions: np.ndarray
    traffic_light_exceptions: np.ndarray
    traffic_light_zone: np.ndarray
    statistics: tuple[BacktestStatistics, ...]
    parameters: dict
    notes: tuple[str, ...] = ()
    data_quality: tuple[dict, ...] = ()

    def __post_init__(self):
        for a in (
            self.value_at_risk,
            self.expected_shortfall,
            self.exceptions,
            self.traffic_light_exceptions,
            self.traffic_light_zone,
        ):
            a.setflags(write=False)

    def statistic(self, confidence: float) -> BacktestStatistics:
        for s in self.statistics:
            if math.isclose(s.confidence, confidence):
                return s
        raise InputError(
            f"no statistics at confidence {confidence}; the backtest has "
            f"{', '.join(str(s.confidence) for s in self.statistics)}."
        )

    def to_dict(self) -> dict:
        series = [
            {
                "confidence": s.confidence,
                "value_at_risk": _nums(self.value_at_risk[:, j]),
                "expected_shortfall": _nums(self.expected_shortfall[:, j]),
                "exception": self.exceptions[:, j].astype(bool).tolist(),
                "traffic_light_exceptions": [
                    None if k < 0 else int(k) for k in self.traffic_light_exceptions[:, j]
                ],
                "traffic_light_zone": [z or None for z in self.traffic_light_zone[:, j].tolist()],
            }
            for j, s in enumerate(self.statistics)
        ]
        return {
            "method": self.method,
            "parameters": self.parameters,
            "notes": list(self.notes),
            "data_quality": list(self.data_quality),
            "statistics": [s.to_dict() for s in self.statistics],
            "series": series,
        }


@dataclass(frozen=True)
class BacktestResult:
    """A backtest of today's book held constant, one or more methods side by side.

    Attributes:
        as_of: ISO date of the book's snapshot (today's positions, prices and times to expiry).
        base_currency: currency of every amount.
        window: N daily returns per forecast.
        confidence: the levels, in request order.
        dates: ISO date t of each forecast (the close it is made at).
        pnl_dates: ISO date t + 1 of each realised P&L.
        realised_pnl: shape (n_days,), the book's hypothetical P&L from t to t + 1.
        methods: one MethodBacktest per method, in request order.
        portfolio: name, position counts, market value at as_of.
        excluded_positions: [{"id", "symbol", "reason"}].
        parameters: the run's parameters (every RiskSpec field that applies, null simulations).
        notes: statements the numbers depend on.
        provenance: seed, data snapshot id (last close used + hash), code version.
    """

    as_of: str
    base_currency: str
    window: int
    confidence: tuple[float, ...]
    dates: tuple[str, ...]
    pnl_dates: tuple[str, ...]
    realised_pnl: np.ndarray
    methods: tuple[MethodBacktest, ...]
    portfolio: dict
    excluded_positions: tuple[dict, ...] = ()
    parameters: dict | None = None
    notes: tuple[str, ...] = ()
    provenance: dict | None = None

    def __post_init__(self):
        self.realised_pnl.setflags(write=False)

    @property
    def n_days(self) -> int:
        return len(self.dates)

    def method(self, name: str) -> MethodBacktest:
        for m in self.methods:
            if m.method == name:
                return m
        raise InputError(
            f"method {name!r} is not in this backtest; it has: "
            f"{', '.join(m.method for m in self.methods)}."
        )

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "backtest",
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "horizon_days": 1,
            "window": self.window,
            "confidence": list(self.confidence),
            "start": self.dates[0],
            "end": self.dates[-1],
            "n_days": self.n_days,
            "portfolio": self.portfolio,
            "excluded_positions": list(self.excluded_positions),
            "parameters": self.parameters or {},
            "notes": list(self.notes),
            "provenance": self.provenance or {},
            "series": {
                "date": list(self.dates),
                "pnl_date": list(self.pnl_dates),
                "realised_pnl": _nums(self.realised_pnl),
            },
            "methods": [m.to_dict() for m in self.methods],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_frame(self):
        """The daily series as a pandas DataFrame indexed by ``date`` (the forecast day;
        ``riskengine[pandas]``): ``pnl_date``, ``pnl`` (the hypothetical P&L of the next day),
        then per method and confidence ``<method>_var_<c>``, ``<method>_es_<c>`` and
        ``<method>_exception_<c>``."""
        from riskengine.frames import pandas

        pd = pandas()
        columns: dict = {"pnl_date": list(self.pnl_dates), "pnl": self.realised_pnl}
        for m in self.methods:
            for j, c in enumerate(self.confidence):
                columns[f"{m.method}_var_{c:g}"] = m.value_at_risk[:, j]
                columns[f"{m.method}_es_{c:g}"] = m.expected_shortfall[:, j]
                columns[f"{m.method}_exception_{c:g}"] = m.exceptions[:, j].astype(bool)
        return pd.DataFrame(columns, index=pd.Index(list(self.dates), name="date"))

    def statistics_frame(self):
        """One row per (method, confidence): exceptions, expected, Kupiec, Christoffersen and
        conditional-coverage p-values, traffic-light zone, Z2 (``riskengine[pandas]``)."""
        from riskengine.frames import rows_frame

        rows = []
        for m in self.methods:
            for s in m.statistics:
                d = s.to_dict()
                rows.append(
                    {
                        "method": m.method,
                        "confidence": s.confidence,
                        "n_obs": d["n_obs"],
                        "n_exceptions": d["n_exceptions"],
                        "expected_exceptions": d["expected_exceptions"],
                        "kupiec_p": d["kupiec_pof"]["p_value"],
                        "christoffersen_p": d["christoffersen_independence"]["p_value"],
                        "conditional_coverage_p": d["conditional_coverage"]["p_value"],
                        "traffic_light": (d["traffic_light"] or {}).get("zone"),
                        "z2": d["z2"]["statistic"],
                        "z2_p": d["z2"]["p_value"],
                    }
                )
        return rows_frame(rows, index=["method", "confidence"])

    def _repr_html_(self) -> str:
        from riskengine.frames import notebook_html

        rows = [
            {"method": m.method} | {k: v for k, v in s.to_dict().items() if not isinstance(v, dict)}
            for m in self.methods
            for s in m.statistics
        ]
        return notebook_html(
            f"riskengine backtest, {self.n_days} days {self.dates[0]} .. {self.dates[-1]}, "
            f"window {self.window}",
            [("statistics", rows)],
        )

    def to_csv(self) -> str:
        """One row per day, method and confidence (long format)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(
            [
                "date",
                "pnl_date",
                "method",
                "confidence",
                "realised_pnl",
                "value_at_risk",
                "expected_shortfall",
                "exception",
                "traffic_light_exceptions",
                "traffic_light_zone",
            ]
        )
        pnl = self.realised_pnl
        for m in self.methods:
            for j, c in enumerate(self.confidence):
                var, es = m.value_at_risk[:, j], m.expected_shortfall[:, j]
                exc, tl, zone = (
                    m.exceptions[:, j],
                    m.traffic_light_exceptions[:, j],
                    m.traffic_light_zone[:, j],
                )
                for i, d in enumerate(self.dates):
                    w.writerow(
                        [
                            d,
                            self.pnl_dates[i],
                            m.method,
                            c,
                            repr(float(pnl[i])),
                            repr(float(var[i])),
                            repr(float(es[i])),
                            int(exc[i]),
                            "" if tl[i] < 0 else int(tl[i]),
                            zone[i],
                        ]
                    )
        return out.getvalue()

    def format_table(self) -> str:
        """The statistics as a text table."""
        p = self.portfolio
        head = [
            f"Backtest of {p.get('name')!r} held as of {self.as_of} "
            f"({p.get('n_included')} of {p.get('n_positions')} positions, "
            f"{self.base_currency}): 1-day VaR/ES, window {self.window}",
            f"{self.n_days} days: forecasts {self.dates[0]} .. {self.dates[-1]}, "
            f"P&L {self.pnl_dates[0]} .. {self.pnl_dates[-1]}",
            "",
        ]
        source = (self.parameters or {}).get("source")
        if source is not None:  # a series given by the user (backtest_series)
            head[:2] = [
                f"Backtest of the series {source!r} ({self.base_currency}): "
                f"{self.n_days} days, {self.dates[0]} .. {self.dates[-1]}"
            ]
        cols = (
            f"{'method':<11} {'conf':>6} {'exc':>5} {'expect':>7}  {'Kupiec LR (p)':<16}"
            f"{'indep. LR (p)':<16}{'cond.cov LR (p)':<17}{'traffic light 250d':<22}"
            f"{'Z2 (p)':<16}"
        )
        lines = [*head, cols, "-" * len(cols)]
        for m in self.methods:
            for s in m.statistics:
                tl = s.traffic_light
                if tl is None:
                    light = "n/a (< 250 days)"
                else:
                    light = f"{tl.zone} {tl.n_exceptions}/{tl.n_obs}"
                    if tl.plus_factor is not None:
                        light += f" +{tl.plus_factor:.2f}"
                lines.append(
                    f"{m.method:<11} {s.confidence:>6g} {s.n_exceptions:>5d} "
                    f"{s.expected_exceptions:>7.1f}  {_lr_cell(s.kupiec):<16}"
                    f"{_lr_cell(s.independence):<16}{_lr_cell(s.conditional_coverage):<17}"
                    f"{light:<22}{_pair(s.z2, s.z2_p_value):<16}"
                )
        lines.append("")
        lines.append(
            "exception: realised loss > VaR. LR tests: chi-square p-values. Z2 < 0: ES "
            "underestimated; p simulated under each method's own daily distributions."
        )
        return "\n".join(line.rstrip() for line in lines)


def _pair(x: float, p: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if not math.isfinite(p):
        return f"{x:.2f}"
    return f"{x:.2f} ({p:.3f})" if p >= 0.001 else f"{x:.2f} ({p:.0e})"


def _lr_cell(lr: LikelihoodRatio) -> str:
    return _pair(lr.statistic, lr.p_value)
