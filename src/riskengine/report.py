"""The one report schema: ``RiskReport`` (CLI ``--format json`` and the API return it)."""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from riskengine.errors import NonFiniteResultError

if TYPE_CHECKING:
    from riskengine.decomposition import Contributions
    from riskengine.pricing.exposures import Exposures

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RiskMeasure:
    """VaR and ES at one confidence, positive loss amounts in the base currency.

    Standard errors are the sampling errors of the scenario estimates: Monte Carlo, and
    historical simulation on independent (non-overlapping) scenarios; None for parametric closed
    forms and overlapping h-day historical scenarios.
    """

    confidence: float
    value_at_risk: float
    expected_shortfall: float
    value_at_risk_standard_error: float | None = None
    expected_shortfall_standard_error: float | None = None

    def __post_init__(self):
        for name in ("value_at_risk", "expected_shortfall"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise NonFiniteResultError(
                    f"{name} at confidence {self.confidence} is {value} (the P&L overflowed or "
                    "is undefined): no report carries a non-finite number. Check the positions' "
                    "quantities and the prices for values far beyond real ones."
                )
        for name in ("value_at_risk_standard_error", "expected_shortfall_standard_error"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                object.__setattr__(self, name, None)  # no error bar rather than a wrong one

    def to_dict(self) -> dict:
        return {
            "confidence": self.confidence,
            "value_at_risk": self.value_at_risk,
            "expected_shortfall": self.expected_shortfall,
            "value_at_risk_standard_error": self.value_at_risk_standard_error,
            "expected_shortfall_standard_error": self.expected_shortfall_standard_error,
        }


@dataclass(frozen=True)
class RiskReport:
    """Everything that shaped a risk number, and the number.

    Attributes:
        method: "historical", "parametric" or "montecarlo".
        as_of: ISO date of the market snapshot.
        base_currency: currency of every amount.
        measures: one RiskMeasure per requested confidence, in request order.
        parameters: every parameter of the method (confidence, horizon_days, window, ...).
        n_scenarios: scenarios behind the numbers (None for closed forms).
        portfolio: name, position counts and market value.
        excluded_positions: [{"id", "symbol", "reason"}] for positions left out.
        data_quality: [{"code", "message"}] flags (e.g. a repaired covariance).
        notes: modelling statements the numbers depend on (e.g. vega not modelled).
        provenance: seed, data snapshot id, code version.
        pnl_histogram: {"edges": [...], "counts": [...]} of the scenario P&L, or None.
        pnl_density: the fitted P&L density of the parametric method
            (``core.distributions.pnl_density``: its distribution, mean, standard deviation
            and shape, and a curve ``pnl``, ``density``), or None.
        exposures: the book's sensitivities and exposures (``riskengine.pricing.exposures``):
            totals, by underlying and by tag; None only for a report built without them.
        contributions: marginal, component, incremental and standalone VaR and component ES
            by position and by tag (``riskengine.decomposition``); None unless requested
            (``RiskSpec.contributions``).
    """

    method: str
    as_of: str
    base_currency: str
    measures: tuple[RiskMeasure, ...]
    parameters: dict
    n_scenarios: int | None
    portfolio: dict
    excluded_positions: tuple[dict, ...] = ()
    data_quality: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: dict = field(default_factory=dict)
    pnl_histogram: dict | None = None
    pnl_density: dict | None = None
    exposures: Exposures | None = None
    contributions: Contributions | None = None

    def measure(self, confidence: float) -> RiskMeasure:
        for m in self.measures:
            if math.isclose(m.confidence, confidence, rel_tol=0, abs_tol=1e-12):
                return m
        raise KeyError(
            f"no measure at confidence {confidence}; computed: "
            f"{', '.join(str(m.confidence) for m in self.measures)}"
        )

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "results": [m.to_dict() for m in self.measures],
            "parameters": dict(self.parameters),
            "n_scenarios": self.n_scenarios,
            "portfolio": dict(self.portfolio),
            "excluded_positions": [dict(e) for e in self.excluded_positions],
            "data_quality": [dict(f) for f in self.data_quality],
            "notes": list(self.notes),
            "provenance": dict(self.provenance),
            "pnl_histogram": self.pnl_histogram,
            "pnl_density": self.pnl_density,
            "exposures": self.exposures.to_dict() if self.exposures is not None else None,
            "contributions": (
                self.contributions.to_dict() if self.contributions is not None else None
            ),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_frame(self):
        """VaR and ES by confidence: a pandas DataFrame indexed by ``confidence`` with
        ``value_at_risk``, ``expected_shortfall`` and their standard errors
        (``riskengine[pandas]``). Contributions and exposures have their own ``to_frame()``."""
        from riskengine.frames import rows_frame

        return rows_frame([m.to_dict() for m in self.measures], index="confidence")

    def _repr_html_(self) -> str:
        from riskengine.frames import notebook_html

        p = self.parameters
        title = (
            f"riskengine {self.method} VaR/ES, as of {self.as_of}, {p.get('horizon_days')}-day, "
            f"{self.base_currency}; book {self.portfolio.get('name')} "
            f"({self.portfolio.get('n_included')} positions)"
        )
        tables = [("VaR and ES (positive losses)", [m.to_dict() for m in self.measures])]
        if self.contributions is not None:
            tables.append(("contributions: summary", self.contributions.summary()))
        tables.append(("notes", [{"note": n} for n in self.notes]))
        return notebook_html(title, tables)

    def format_table(self) -> str:
        """A readable summary for the terminal."""
        lines = []
        p = self.parameters
        lines.append(
            f"riskengine {self.method} VaR/ES  as_of {self.as_of}  base {self.base_currency}  "
            f"horizon {p.get('horizon_days')}d  window {p.get('window')}"
        )
        model = [
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in p.items()
            if k not in ("confidence", "horizon_days", "window", "n_scenarios") and v is not None
        ]
        lines.extend(
            textwrap.wrap(
                ", ".join(model), 96, initial_indent="model: ", subsequent_indent="       "
            )
        )
        pf = self.portfolio
        lines.append(
            f"book {pf.get('name')}: {pf.get('n_included')} of {pf.get('n_positions')} positions, "
            f"market value {pf.get('market_value'):,.2f}"
            + (f", {self.n_scenarios:,} scenarios" if self.n_scenarios else "")
        )
        lines.append("")
        has_se = any(m.value_at_risk_standard_error is not None for m in self.measures)
        head = f"{'confidence':>10}  {'VaR':>16}  {'ES (CVaR)':>16}"
        if has_se:
            head += f"  {'VaR s.e.':>12}  {'ES s.e.':>12}"
        lines.append(head)
        for m in self.measures:
            row = (
                f"{m.confidence:>10.4g}  {m.value_at_risk:>16,.2f}  {m.expected_shortfall:>16,.2f}"
            )
            if has_se:
                row += (
                    f"  {m.value_at_risk_standard_error or 0:>12,.2f}"
                    f"  {m.expected_shortfall_standard_error or 0:>12,.2f}"
                )
            lines.append(row)
        if self.excluded_positions:
            lines.append("")
            lines.append(f"excluded positions ({len(self.excluded_positions)}):")
            for e in self.excluded_positions:
                lines.append(f"  {e['id']} {e['symbol']}: {e['reason']}")
        for f in self.data_quality:
            lines.append(f"data quality [{f['code']}]: {f['message']}")
        for n in self.notes:
            lines.append(f"note: {n}")
        prov = self.provenance
        lines.append(
            "provenance: " + ", ".join(f"{k}={v}" for k, v in prov.items() if v is not None)
        )
        if self.contributions is not None:
            lines.append(self.contributions.format_table())
        return "\n".join(lines)


@dataclass(frozen=True)
class ExposureReport:
    """The exposures of a book at a snapshot (``riskengine exposures``, ``compute_exposures``).

    Attributes:
        as_of: ISO date of the market snapshot.
        base_currency: currency of every amount.
        portfolio: name, position counts and market value (as in ``RiskReport``).
        exposures: totals, by underlying and by tag (``riskengine.pricing.exposures``).
        excluded_positions: [{"id", "symbol", "reason"}] for positions left out.
    """

    as_of: str
    base_currency: str
    portfolio: dict
    exposures: Exposures
    excluded_positions: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "portfolio": dict(self.portfolio),
            "excluded_positions": [dict(e) for e in self.excluded_positions],
            "exposures": self.exposures.to_dict(),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        """A readable summary for the terminal: one row per factor, per tag and the total."""
        pf = self.portfolio
        ex = self.exposures
        lines = [
            f"riskengine exposures  as_of {self.as_of}  base {self.base_currency}",
            f"book {pf.get('name')}: {pf.get('n_included')} of {pf.get('n_positions')} "
            f"positions, market value {pf.get('market_value'):,.2f}",
            "dollar delta = units x delta x S (a 1% move gains 1% of it); dollar gamma: its "
            "change per 1% move; vega: per 1 vol point",
            "",
        ]
        head = (
            f"{'':<24}  {'delta units':>14}  {'dollar delta':>16}  {'dollar gamma':>14}  "
            f"{'vega':>12}  {'gross':>16}  {'net':>16}"
        )

        def row(label, units, line) -> str:
            u = f"{units:>14,.2f}" if units is not None else f"{'':>14}"
            return (
                f"{label[:24]:<24}  {u}  {line.dollar_delta:>16,.2f}  "
                f"{line.dollar_gamma:>14,.2f}  {line.vega:>12,.2f}  "
                f"{line.gross_exposure:>16,.2f}  {line.net_exposure:>16,.2f}"
            )

        lines.append("by underlying" + head[len("by underlying") :])
        for f in ex.by_underlying:
            lines.append(row(f.factor, f.delta_units, f.line))
        if ex.by_tag:
            lines.append("")
            lines.append("by tag")
            for t in ex.by_tag:
                label = f"{t.key}={t.value}" if t.value is not None else f"{t.key} (none)"
                lines.append(row(label, None, t.line))
        lines.append("")
        lines.append(row("total", None, ex.total))
        if self.excluded_positions:
            lines.append("")
            lines.append(f"excluded positions ({len(self.excluded_positions)}):")
            for e in self.excluded_positions:
                lines.append(f"  {e['id']} {e['symbol']}: {e['reason']}")
        return "\n".join(lines)
