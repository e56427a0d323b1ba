"""``FrtbReport``: the internal-model capital of a book with every intermediate number (the CLI's
``riskengine frtb --format json`` prints ``to_dict``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

SCHEMA_VERSION = 1
OUT_OF_SCOPE = (
    "volatility risk factors (implied volatilities are held constant, DESIGN §2): no vega in any "
    "ES",
    "non-modellable risk factors: their stressed expected shortfall add-on (SES) is not "
    "computed (capital = IMCC only)",
    "the default risk charge (DRC)",
    "the standardised approach (MAR20-MAR23) and the capital floor against it",
    "interest rate and credit spread risk factors (out of riskengine's scope)",
)


def _clean(x):
    """JSON-safe: non-finite floats become None, NumPy scalars and arrays plain Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):
        return _clean(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass(frozen=True)
class FrtbReport:
    """The FRTB internal-model capital of a book (docs/frtb.md).

    Attributes:
        as_of: the book's snapshot date (ISO).
        base_currency: the currency of every amount.
        parameters: confidence, base horizon, window, averaging days, rho, backtest window,
            liquidity horizons.
        portfolio: name, n_positions, n_included, market_value.
        factors: per risk factor: factor, risk_class, liquidity_horizon, source, reduced (in
            the reduced set).
        stressed_window: start, end, searched (found by the search or given),
            expected_shortfall (ES_R,S), and the search's series (window end dates and ES_R,S).
        expected_shortfall: "reduced_stressed", "full_current", "reduced_current" -> class
            ("all" and each risk class) -> by_bucket (ES_T(P, j), j = 1..5) and
            liquidity_adjusted.
        ratio: reduced_to_full (ES_R,C / ES_F,C today), its average over the averaging days,
            the floor 0.75 and below_floor.
        imcc: unconstrained (IMCC(C)), by_class (IMCC(C_i)), rho, value (today), average and
            the daily series.
        capital: the charge, the multiplier m_c, its add-on, the 99% exceptions behind it, the
            last IMCC, the average IMCC and which of the two binds.
        desk_tests: the backtest exceptions at 99% and 97.5% and the desk's zone, the P&L
            attribution test (Spearman, KS, zone).
        out_of_scope: what the charge leaves out.
        excluded_positions, notes, provenance: as in ``RiskReport``.
    """

    as_of: str
    base_currency: str
    parameters: dict
    portfolio: dict
    factors: tuple[dict, ...]
    stressed_window: dict
    expected_shortfall: dict
    ratio: dict
    imcc: dict
    capital: dict
    desk_tests: dict
    out_of_scope: tuple[str, ...] = OUT_OF_SCOPE
    excluded_positions: tuple[dict, ...] = ()
    notes: tuple[str, ...] = ()
    provenance: dict | None = None

    def to_dict(self) -> dict:
        return _clean(
            {
                "schema_version": SCHEMA_VERSION,
                "kind": "frtb",
                "as_of": self.as_of,
                "base_currency": self.base_currency,
                "parameters": self.parameters,
                "portfolio": self.portfolio,
                "capital": self.capital,
                "imcc": self.imcc,
                "stressed_window": self.stressed_window,
                "ratio": self.ratio,
                "expected_shortfall": self.expected_shortfall,
                "factors": list(self.factors),
                "desk_tests": self.desk_tests,
                "out_of_scope": list(self.out_of_scope),
                "excluded_positions": list(self.excluded_positions),
                "notes": list(self.notes),
                "provenance": self.provenance or {},
            }
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def format_table(self) -> str:
        """A readable summary for the terminal."""
        p, pf, cap, im = self.parameters, self.portfolio, self.capital, self.imcc
        sw, ratio, desk = self.stressed_window, self.ratio, self.desk_tests
        lines = [
            f"riskengine FRTB internal-model capital  as_of {self.as_of}  base "
            f"{self.base_currency}",
            f"book {pf.get('name')}: {pf.get('n_included')} of {pf.get('n_positions')} "
            f"positions, market value {pf.get('market_value'):,.2f}",
            f"ES at {p['confidence']:.1%}, base horizon {p['base_horizon_days']} days, "
            f"windows of {p['window']} daily returns",
            "",
            f"capital charge          {cap['charge']:>16,.2f}   (binding: {cap['binding']})",
            f"  IMCC today            {cap['imcc_last']:>16,.2f}",
            f"  m_c x average IMCC    {cap['multiplier'] * cap['average_imcc']:>16,.2f}   "
            f"m_c {cap['multiplier']:.2f} ({cap['exceptions_99']} exceptions at 99%), "
            f"average of {im['days']} days {cap['average_imcc']:,.2f}",
            "",
            f"IMCC = {im['rho']} x IMCC(C) + {1 - im['rho']} x sum IMCC(C_i)",
            f"  IMCC(C)               {im['unconstrained']:>16,.2f}",
        ]
        for c, v in im["by_class"].items():
            lines.append(f"  IMCC({c})".ljust(24) + f"{v:>16,.2f}")
        how = "found by search" if sw["searched"] else "given"
        lines += [
            "",
            f"stressed window {sw['start']} .. {sw['end']} ({how}): ES_R,S "
            f"{sw['expected_shortfall']:,.2f}",
            f"ES_R,C / ES_F,C today {ratio['reduced_to_full']:.3f}, average over "
            f"{ratio['days']} days {ratio['average']:.3f}"
            + (
                "  BELOW 0.75: the reduced set does not explain the book"
                if ratio["below_floor"]
                else ""
            ),
            "",
            "liquidity-adjusted ES by bucket (LH >= 10, 20, 40, 60, 120 days)",
        ]
        names = {
            "reduced_stressed": "ES_R,S",
            "full_current": "ES_F,C",
            "reduced_current": "ES_R,C",
        }
        for key, label in names.items():
            for c, e in self.expected_shortfall[key].items():
                buckets = "  ".join(f"{x:>12,.0f}" for x in e["by_bucket"])
                lines.append(f"  {label} {c:<10} {buckets}   = {e['liquidity_adjusted']:>14,.2f}")
        lines += ["", "risk factors"]
        for f in self.factors:
            lines.append(
                f"  {f['factor']:<10} {f['risk_class']:<10} LH {f['liquidity_horizon']:>3}  "
                f"{'reduced' if f['reduced'] else '       '}  {f['source']}"
            )
        bt, pla = desk["backtest"], desk["pla"]
        lines += [
            "",
            f"desk tests over {desk['days']} days ({desk['pnl']} P&L)",
            f"  backtest: {bt['exceptions']['0.99']} exceptions at 99% (limit 12), "
            f"{bt['exceptions']['0.975']} at 97.5% (limit 30): {bt['zone']}",
            f"  P&L attribution ({pla['model']}): Spearman {pla['spearman']:.4f}, KS "
            f"{pla['ks']:.4f}: {pla['zone']}",
        ]
        if self.excluded_positions:
            lines.append("")
            lines.append(f"excluded positions ({len(self.excluded_positions)}):")
            lines += [
                f"  {e['id']} ({e['symbol']}): {e['reason']}" for e in self.excluded_positions
            ]
        lines += ["", "out of scope:"] + [f"  - {x}" for x in self.out_of_scope]
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)
