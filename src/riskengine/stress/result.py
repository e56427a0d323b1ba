"""Results of stress runs: one scenario (``StressResult``) and a whole run (``StressReport``).

Every amount is in the base currency; P&L is positive for a gain (a loss is negative P&L).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riskengine.errors import NonFiniteResultError

if TYPE_CHECKING:
    from riskengine.stress.reverse import ReverseStressResult
    from riskengine.stress.worst import WorstWindowResult

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PositionPnL:
    """One position's P&L under a scenario.

    Attributes:
        id, symbol: the position.
        factor: its own risk factor (the symbol, or an option's underlying).
        pnl: full-revaluation P&L in the base currency, gain positive.
        shock: the relative return applied to ``factor``.
        fx_shock: the return of the FX factor converting it (0 in the base currency).
        vol_shift: the implied-volatility change in volatility points (options; None else).
    """

    id: str
    symbol: str
    factor: str
    pnl: float
    shock: float
    fx_shock: float = 0.0
    vol_shift: float | None = None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "symbol": self.symbol,
            "factor": self.factor,
            "pnl": self.pnl,
            "shock": self.shock,
            "fx_shock": self.fx_shock,
            "vol_shift": self.vol_shift,
        }


def position_rows(positions, indent: str = "  ") -> list[str]:
    """The per-position table lines of a result (the FX column only when an FX factor
    moves)."""
    has_fx = any(p.fx_shock for p in positions)
    fx_head = f" {'fx':>8}" if has_fx else ""
    lines = [
        f"{indent}{'id':<16} {'symbol':<24} {'factor':<8} {'shock':>8}{fx_head} "
        f"{'vol pts':>7} {'P&L':>16}"
    ]
    for p in positions:
        vol = f"{p.vol_shift:>+7.2f}" if p.vol_shift is not None else f"{'':>7}"
        fx = f" {p.fx_shock:>+8.2%}" if has_fx else ""
        lines.append(
            f"{indent}{p.id[:16]:<16} {p.symbol[:24]:<24} {p.factor[:8]:<8} {p.shock:>+8.2%}"
            f"{fx} {vol} {p.pnl:>16,.2f}"
        )
    return lines


@dataclass(frozen=True)
class StressResult:
    """Today's book under one stress scenario (an instant shock, full revaluation).

    Attributes:
        scenario: the scenario's name.
        kind: "historical" or "hypothetical".
        description: the scenario's description.
        as_of: ISO date of the snapshot the book is valued at.
        base_currency: currency of every amount.
        pnl: the book's P&L, sum of ``positions``' P&L (a loss is negative).
        portfolio: name, position counts and market value (of the included positions).
        positions: per included position, in book order.
        definition: historical: start, end and the closes used (``base_date``, ``end_date``);
            hypothetical: the shocks as written.
        factor_returns: historical: the return of each factor the book uses; hypothetical: {}.
        excluded_positions: [{"id", "symbol", "reason"}].
        notes: statements the numbers depend on.
        warnings: what the user should look at before trusting the number: shocks kept although
            they reach no position of the book (``keep_idle_shocks``).
    """

    scenario: str
    kind: str
    description: str
    as_of: str
    base_currency: str
    pnl: float
    portfolio: dict
    positions: tuple[PositionPnL, ...]
    definition: dict
    factor_returns: dict
    excluded_positions: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        if not math.isfinite(self.pnl):
            raise NonFiniteResultError(
                f"the P&L of scenario {self.scenario!r} is {self.pnl} (it overflowed): no report "
                "carries a non-finite number. Check the shocks and the positions' quantities "
                "for values far beyond real ones."
            )

    @property
    def loss(self) -> float:
        """The loss as a positive amount (-pnl)."""
        return -self.pnl

    def position(self, position_id: str) -> PositionPnL:
        for p in self.positions:
            if p.id == position_id:
                return p
        raise KeyError(f"no position {position_id!r} in the result of {self.scenario!r}")

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "type": self.kind,
            "description": self.description,
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "pnl": self.pnl,
            "portfolio": dict(self.portfolio),
            "definition": dict(self.definition),
            "factor_returns": dict(self.factor_returns),
            "positions": [p.to_dict() for p in self.positions],
            "excluded_positions": [dict(e) for e in self.excluded_positions],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_frame(self):
        """Each position's P&L under the scenario: a pandas DataFrame indexed by position id
        (``riskengine[pandas]``)."""
        from riskengine.frames import rows_frame

        return rows_frame([p.to_dict() for p in self.positions], index="id")

    def headline(self) -> str:
        d = self.definition
        if self.kind == "historical":
            what = f"closes {d['base_date']} -> {d['end_date']}"
        else:
            what = " ".join(d["shocks"])
        return f"{self.scenario} ({self.kind}: {what})"

    def format_table(self) -> str:
        pf = self.portfolio
        mv = pf.get("market_value") or 0.0
        share = f" ({self.pnl / mv:+.2%} of market value)" if mv else ""
        lines = [
            f"stress {self.headline()}  as_of {self.as_of}  base {self.base_currency}",
            f"book {pf.get('name')}: {pf.get('n_included')} of {pf.get('n_positions')} "
            f"positions, market value {mv:,.2f}",
            f"P&L {self.pnl:,.2f}{share}",
            "",
            *position_rows(self.positions),
        ]
        lines += _excluded_lines(self.excluded_positions)
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)


def _excluded_lines(excluded) -> list[str]:
    if not excluded:
        return []
    return [f"excluded positions ({len(excluded)}):"] + [
        f"  {e['id']} {e['symbol']}: {e['reason']}" for e in excluded
    ]


@dataclass(frozen=True)
class StressReport:
    """A stress run: scenarios, and optionally the worst window and a reverse stress.

    Attributes:
        as_of: ISO date of the snapshot.
        base_currency: currency of every amount.
        portfolio: name, position counts and market value.
        results: one ``StressResult`` per scenario run, in request order.
        skipped: [{"scenario", "reason"}] for scenarios that could not be run (e.g. a window
            outside the history): one bad scenario does not stop the others.
        worst_window: the worst h-day window of the history, or None.
        reverse_stress: the most likely scenario losing a given amount, or None.
    """

    as_of: str
    base_currency: str
    portfolio: dict
    results: tuple[StressResult, ...] = ()
    skipped: tuple[dict, ...] = ()
    worst_window: WorstWindowResult | None = None
    reverse_stress: ReverseStressResult | None = None

    def result(self, scenario: str) -> StressResult:
        for r in self.results:
            if r.scenario == scenario:
                return r
        raise KeyError(
            f"no result for {scenario!r}; run: {', '.join(r.scenario for r in self.results)}"
        )

    def to_frame(self):
        """One row per scenario (``riskengine[pandas]``), indexed by scenario: its type,
        description, P&L and P&L as a share of the book's value."""
        from riskengine.frames import rows_frame

        rows = []
        for r in self.results:
            value = r.portfolio.get("market_value") or 0.0
            rows.append(
                {
                    "scenario": r.scenario,
                    "type": r.kind,
                    "description": r.description,
                    "pnl": r.pnl,
                    "pnl_share": r.pnl / value if value else None,
                }
            )
        return rows_frame(rows, index="scenario")

    def to_dict(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "as_of": self.as_of,
            "base_currency": self.base_currency,
            "portfolio": dict(self.portfolio),
            "scenarios": [r.to_dict() for r in self.results],
            "skipped": [dict(s) for s in self.skipped],
            "worst_window": self.worst_window.to_dict() if self.worst_window else None,
            "reverse_stress": self.reverse_stress.to_dict() if self.reverse_stress else None,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        pf = self.portfolio
        mv = pf.get("market_value") or 0.0
        lines = [
            f"riskengine stress  as_of {self.as_of}  base {self.base_currency}",
            f"book {pf.get('name')}: {pf.get('n_positions')} positions, market value {mv:,.2f}",
            "instant shocks at as_of, full revaluation (options keep today's time to expiry)",
        ]
        if self.results:
            lines += [
                "",
                f"{'scenario':<24} {'type':<12} {'window / shocks':<44} {'P&L':>16} {'% value':>8}",
            ]
            for r in self.results:
                d = r.definition
                what = (
                    f"{d['base_date']} -> {d['end_date']}"
                    if r.kind == "historical"
                    else " ".join(d["shocks"])
                )
                mv_r = r.portfolio.get("market_value") or 0.0
                share = f"{r.pnl / mv_r:>+8.2%}" if mv_r else f"{'':>8}"
                what = what if len(what) <= 44 else what[:41] + "..."
                lines.append(
                    f"{r.scenario[:24]:<24} {r.kind:<12} {what:<44} {r.pnl:>16,.2f} {share}"
                )
            common = set.intersection(*(set(r.notes) for r in self.results))
            for r in self.results:
                lines += ["", r.headline(), *position_rows(r.positions)]
                lines += _excluded_lines(r.excluded_positions)
                lines += [f"note: {n}" for n in r.notes if n not in common]
                lines += [f"WARNING: {w}" for w in r.warnings]
            lines += [""] + [f"note: {n}" for n in self.results[0].notes if n in common]
        for s in self.skipped:
            lines.append(f"skipped {s['scenario']}: {s['reason']}")
        if self.worst_window is not None:
            lines += ["", self.worst_window.format_table()]
        if self.reverse_stress is not None:
            lines += ["", self.reverse_stress.format_table()]
        return "\n".join(lines)
