"""``Contributions``: where a book's VaR and ES come from, by position and by tag."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# The order of the numbers in a row (``ContributionTable.row``, ``Contributions.to_dict``).
MEASURES = ("marginal_var", "component_var", "component_es", "incremental_var", "standalone_var")


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(a: np.ndarray) -> list[float | None]:
    """``[_num(x) for x in a]``, at the speed of ``tolist`` when every value is finite."""
    out = a.tolist()
    if not np.isfinite(a).all():
        out = [x if math.isfinite(x) else None for x in out]
    return out


@dataclass(frozen=True)
class ContributionTable:
    """Risk contributions of ``n_units`` units (positions, or tag groups) per confidence.

    Attributes:
        exposure: shape (n_units,), first-order P&L per unit return of the unit's own factor(s)
            in the base currency (dollar delta; options with greeks at T - h/252).
        marginal_var: shape (n_confidence, n_units), dVaR/d(exposure): component_var / exposure
            (NaN where the exposure is 0).
        component_var, component_es: shape (n_confidence, n_units), Euler allocations: they add
            up to VaR and ES over the positions.
        incremental_var: shape (n_confidence, n_units), VaR - VaR of the book without the unit
            (None when not computed).
        standalone_var: shape (n_confidence, n_units), VaR of the unit alone (None when not
            computed).
    """

    exposure: np.ndarray
    marginal_var: np.ndarray
    component_var: np.ndarray
    component_es: np.ndarray
    incremental_var: np.ndarray | None = None
    standalone_var: np.ndarray | None = None

    @classmethod
    def of(cls, exposure, component_var, component_es, incremental_var=None, standalone_var=None):
        exposure = np.asarray(exposure, float)
        cv = np.atleast_2d(np.asarray(component_var, float))
        with np.errstate(divide="ignore", invalid="ignore"):
            marginal = np.where(exposure != 0, cv / np.where(exposure != 0, exposure, 1.0), np.nan)

        def opt(x):
            return None if x is None else np.atleast_2d(np.asarray(x, float))

        return cls(
            exposure,
            marginal,
            cv,
            np.atleast_2d(np.asarray(component_es, float)),
            opt(incremental_var),
            opt(standalone_var),
        )

    def columns(self, j: int) -> list[list]:
        """The values of ``row(j, u)`` for every unit u, column by column: exposure, then
        ``MEASURES`` (for lists of thousands of rows, built from whole columns)."""
        n = self.exposure.size
        out = [self.exposure.tolist()]
        for name in MEASURES:
            arr = getattr(self, name)
            out.append([None] * n if arr is None else _nums(arr[j]))
        return out

    def row(self, j: int, u: int) -> dict:
        """The numbers of unit ``u`` at confidence number ``j`` (None where not available)."""
        out: dict[str, float | None] = {"exposure": float(self.exposure[u])}
        for name in MEASURES:
            arr = getattr(self, name)
            out[name] = None if arr is None else _num(arr[j, u])
        return out


@dataclass(frozen=True)
class Contributions:
    """Marginal, component, incremental and standalone VaR (and component ES) of a book.

    Attributes:
        confidence, value_at_risk, expected_shortfall: per confidence, the report's totals.
        position_ids, symbols: the included positions, in book order.
        positions: their ContributionTable.
        tag_keys, tag_values, tag_sizes: one entry per tag group ``key=value`` (value None:
            the positions without that key), sorted by key then value; the group's position
            count.
        tags: the groups' ContributionTable (components are sums over the group's positions;
            incremental and standalone VaR those of the group as a whole).
        estimator: how each number was computed (``to_dict()["estimator"]``).
        diagnostics: per confidence, estimator details (e.g. the kernel bandwidth).
    """

    confidence: tuple[float, ...]
    value_at_risk: tuple[float, ...]
    expected_shortfall: tuple[float, ...]
    position_ids: tuple[str, ...]
    symbols: tuple[str, ...]
    positions: ContributionTable
    tag_keys: tuple[str, ...] = ()
    tag_values: tuple[str | None, ...] = ()
    tag_sizes: tuple[int, ...] = ()
    tags: ContributionTable | None = None
    estimator: dict = field(default_factory=dict)
    diagnostics: tuple[dict, ...] = ()

    def _level(self, confidence: float) -> int:
        for j, c in enumerate(self.confidence):
            if math.isclose(c, confidence, rel_tol=0, abs_tol=1e-12):
                return j
        raise KeyError(
            f"no contributions at confidence {confidence}; computed: "
            f"{', '.join(str(c) for c in self.confidence)}"
        )

    def position(self, position_id: str, confidence: float | None = None) -> dict:
        """One position's numbers at ``confidence`` (default: the first one)."""
        j = 0 if confidence is None else self._level(confidence)
        try:
            u = self.position_ids.index(position_id)
        except ValueError:
            raise KeyError(
                f"no position {position_id!r} among the included positions; excluded positions "
                "have no contributions"
            ) from None
        return {"id": position_id, "symbol": self.symbols[u]} | self.positions.row(j, u)

    def tag(self, key: str, value: str | None, confidence: float | None = None) -> dict:
        """One tag group's numbers at ``confidence`` (default: the first one)."""
        j = 0 if confidence is None else self._level(confidence)
        tags = self.tags  # None only when there are no tag groups
        for u, (k, v) in enumerate(zip(self.tag_keys, self.tag_values, strict=True)):
            if k == key and v == value and tags is not None:
                return {"key": k, "value": v, "n_positions": self.tag_sizes[u]} | tags.row(j, u)
        raise KeyError(f"no tag group {key}={value}")

    def diversification_benefit(self, confidence: float | None = None) -> float | None:
        """Sum of the positions' standalone VaRs minus the book's VaR (None if not computed)."""
        j = 0 if confidence is None else self._level(confidence)
        if self.positions.standalone_var is None:
            return None
        return float(self.positions.standalone_var[j].sum() - self.value_at_risk[j])

    def summary(self) -> list[dict]:
        out = []
        for j, c in enumerate(self.confidence):
            sa = self.positions.standalone_var
            total_sa = None if sa is None else float(sa[j].sum())
            out.append(
                {
                    "confidence": c,
                    "value_at_risk": self.value_at_risk[j],
                    "expected_shortfall": self.expected_shortfall[j],
                    "sum_component_var": float(self.positions.component_var[j].sum()),
                    "sum_component_es": float(self.positions.component_es[j].sum()),
                    "sum_standalone_var": total_sa,
                    "diversification_benefit": self.diversification_benefit(c),
                }
                | (self.diagnostics[j] if j < len(self.diagnostics) else {})
            )
        return out

    def to_frame(self, by: str = "position"):
        """The contributions as a pandas DataFrame (``riskengine[pandas]``): ``by="position"``
        indexed by (confidence, id), ``by="tag"`` by (confidence, key, value), ``by="summary"``
        by confidence; the columns are those of ``to_dict()``'s rows."""
        from riskengine.frames import rows_frame

        index: dict[str, str | list[str]] = {
            "position": ["confidence", "id"],
            "tag": ["confidence", "key", "value"],
            "summary": "confidence",
        }
        if by not in index:
            raise ValueError(f"by {by!r} is not one of: {', '.join(index)}")
        rows = self.summary() if by == "summary" else self.to_dict()[f"by_{by}"]
        return rows_frame(rows, index=index[by])

    def _repr_html_(self) -> str:
        from riskengine.frames import notebook_html

        rows = self.to_dict()
        return notebook_html(
            "riskengine risk contributions",
            [
                ("summary", self.summary()),
                ("by position", rows["by_position"]),
                ("by tag", rows["by_tag"]),
            ],
        )

    def to_dict(self) -> dict:
        """``{"estimator", "summary", "by_position", "by_tag"}``: one row per (confidence,
        position) and per (confidence, tag group), confidence-major (docs/formats.md)."""
        # Rows as dict displays from whole columns: a 5,000-position book has 5,000 per level.
        by_position = []
        for j, c in enumerate(self.confidence):
            by_position += [
                {
                    "confidence": c,
                    "id": pid,
                    "symbol": sym,
                    "exposure": e,
                    "marginal_var": mv,
                    "component_var": cv,
                    "component_es": ce,
                    "incremental_var": iv,
                    "standalone_var": sv,
                }
                for pid, sym, e, mv, cv, ce, iv, sv in zip(
                    self.position_ids, self.symbols, *self.positions.columns(j), strict=True
                )
            ]
        by_tag = []
        if self.tags is not None:
            for j, c in enumerate(self.confidence):
                by_tag += [
                    {"confidence": c, "key": k, "value": v, "n_positions": size} | row
                    for k, v, size, row in zip(
                        self.tag_keys,
                        self.tag_values,
                        self.tag_sizes,
                        (self.tags.row(j, u) for u in range(len(self.tag_keys))),
                        strict=True,
                    )
                ]
        return {
            "estimator": dict(self.estimator),
            "summary": self.summary(),
            "by_position": by_position,
            "by_tag": by_tag,
        }

    def _how(self) -> str:
        e = self.estimator
        if e.get("component_var") == "kernel":
            return (
                "Euler; component VaR by Gaussian kernel at the VaR, component ES by tail weights"
            )
        if "model" in e:
            return f"analytic Euler allocation, {e['model']} model"
        return "Euler allocation"

    def format_table(self, max_positions: int = 20) -> str:
        """A readable waterfall per confidence: the positions with the largest component VaR
        (at most ``max_positions``), the tag groups and the totals."""
        lines = []
        head = (
            f"{'':<28} {'exposure':>14} {'marginal':>9} {'component VaR':>15} {'share':>7} "
            f"{'component ES':>15} {'incremental':>14} {'standalone':>14}"
        )

        def fmt(x, width, spec=",.2f"):
            return f"{'-':>{width}}" if x is None else f"{x:>{width}{spec}}"

        def line(label, row, var):
            share = row["component_var"] / var if var else None
            return (
                f"{label[:28]:<28} {fmt(row['exposure'], 14)} {fmt(row['marginal_var'], 9, '.4f')} "
                f"{fmt(row['component_var'], 15)} {fmt(share, 7, '.1%')} "
                f"{fmt(row['component_es'], 15)} {fmt(row['incremental_var'], 14)} "
                f"{fmt(row['standalone_var'], 14)}"
            )

        n = len(self.position_ids)
        for j, c in enumerate(self.confidence):
            var, es = self.value_at_risk[j], self.expected_shortfall[j]
            lines.append("")
            lines.append(f"contributions at {c:g}: VaR {var:,.2f}, ES {es:,.2f} ({self._how()})")
            lines.append("by position" + head[len("by position") :])
            order = np.argsort(-self.positions.component_var[j], kind="stable")
            shown = order[: max(0, max_positions)]
            for u in shown:
                sym = self.symbols[u]
                label = self.position_ids[u] + (f" ({sym})" if sym != self.position_ids[u] else "")
                lines.append(line(label, self.positions.row(j, u), var))
            if n > shown.size:
                rest = order[shown.size :]
                lines.append(
                    f"  ... {rest.size} more positions (component VaR "
                    f"{self.positions.component_var[j, rest].sum():,.2f}); --format json lists "
                    "all"
                )
            if self.tags is not None and len(self.tag_keys):
                lines.append("by tag")
                for u, (k, v) in enumerate(zip(self.tag_keys, self.tag_values, strict=True)):
                    label = f"{k}={v}" if v is not None else f"{k} (none)"
                    lines.append(line(label, self.tags.row(j, u), var))
            s = self.summary()[j]
            lines.append(
                f"total: component VaR {s['sum_component_var']:,.2f} (VaR {var:,.2f}), "
                f"component ES {s['sum_component_es']:,.2f} (ES {es:,.2f})"
            )
            if s["sum_standalone_var"] is not None:
                lines.append(
                    f"sum of standalone VaRs {s['sum_standalone_var']:,.2f}, diversification "
                    f"benefit {s['diversification_benefit']:,.2f}"
                )
        return "\n".join(lines)
