"""Incremental VaR of a proposed trade: the book's VaR with and without it, same scenarios."""

from __future__ import annotations

from dataclasses import dataclass

from riskengine.core.random import draw_seed
from riskengine.errors import InputError
from riskengine.instruments.types import Portfolio, Position


@dataclass(frozen=True)
class TradeImpact:
    """VaR and ES of a book before and after adding a trade, per confidence.

    ``incremental_var`` = VaR after - VaR before (positive: the trade adds risk). Both runs use
    the same scenarios (the same seed for Monte Carlo) and the same model parameters.

    Attributes:
        confidence: the levels.
        value_at_risk_before, value_at_risk_after: VaR of the book, of the book with the trade.
        expected_shortfall_before, expected_shortfall_after: the same for ES.
        excluded_trade_positions: [{"id", "symbol", "reason"}] for trade positions that could
            not be priced (they add nothing).
        seed: the Monte Carlo seed of both runs (None for other methods).
    """

    confidence: tuple[float, ...]
    value_at_risk_before: tuple[float, ...]
    value_at_risk_after: tuple[float, ...]
    expected_shortfall_before: tuple[float, ...]
    expected_shortfall_after: tuple[float, ...]
    excluded_trade_positions: tuple[dict, ...] = ()
    seed: int | None = None

    @property
    def incremental_var(self) -> tuple[float, ...]:
        return tuple(
            a - b for a, b in zip(self.value_at_risk_after, self.value_at_risk_before, strict=True)
        )

    @property
    def incremental_es(self) -> tuple[float, ...]:
        return tuple(
            a - b
            for a, b in zip(
                self.expected_shortfall_after, self.expected_shortfall_before, strict=True
            )
        )

    def to_dict(self) -> dict:
        return {
            "results": [
                {
                    "confidence": c,
                    "value_at_risk_before": vb,
                    "value_at_risk_after": va,
                    "incremental_var": va - vb,
                    "expected_shortfall_before": eb,
                    "expected_shortfall_after": ea,
                    "incremental_es": ea - eb,
                }
                for c, vb, va, eb, ea in zip(
                    self.confidence,
                    self.value_at_risk_before,
                    self.value_at_risk_after,
                    self.expected_shortfall_before,
                    self.expected_shortfall_after,
                    strict=True,
                )
            ],
            "excluded_trade_positions": [dict(e) for e in self.excluded_trade_positions],
            "seed": self.seed,
        }


def incremental_var(
    portfolio: Portfolio,
    history,
    trade_positions,
    spec=None,
    *,
    market=None,
    cache=None,
    executor=None,
    **overrides,
) -> TradeImpact:
    """VaR and ES of ``portfolio`` with and without ``trade_positions`` on the same scenarios.

    Args:
        portfolio: the book.
        history: the price history (as ``compute_risk``).
        trade_positions: the proposed trade, one Position or several; their ids must not be
            ids of the book.
        spec, market, executor, overrides: as ``compute_risk``. A Monte Carlo run without a
            seed draws one and uses it for both runs.
        cache: shared by both runs (default: a fresh one), so the scenarios are generated once.

    Returns:
        A TradeImpact; ``incremental_var`` is VaR(book + trade) - VaR(book).
    """
    from riskengine.cache import RiskCache
    from riskengine.pipeline import RiskSpec, compute_risk

    trade = (trade_positions,) if isinstance(trade_positions, Position) else tuple(trade_positions)
    if not trade:
        raise InputError("trade_positions is empty; give at least one Position to add.")
    ids = {p.id for p in portfolio.positions}
    clash = [p.id for p in trade if p.id in ids]
    if clash:
        raise InputError(
            f"trade position id {clash[0]!r} is already a position of {portfolio.name!r}; "
            "give the trade's positions new ids (e.g. a 'trade-' prefix)."
        )
    spec = (spec or RiskSpec()).replace(**overrides) if overrides else (spec or RiskSpec())
    if spec.method == "montecarlo" and spec.seed is None:
        spec = spec.replace(seed=draw_seed())
    cache = cache or RiskCache()
    kw = {"market": market, "cache": cache, "executor": executor}
    after = compute_risk(
        Portfolio(portfolio.positions + trade, portfolio.name), history, spec, **kw
    )
    if len(portfolio):
        before = compute_risk(portfolio, history, spec, **kw)
        var_b = tuple(m.value_at_risk for m in before.measures)
        es_b = tuple(m.expected_shortfall for m in before.measures)
    else:
        var_b = es_b = tuple(0.0 for _ in after.measures)
    trade_ids = {p.id for p in trade}
    return TradeImpact(
        confidence=tuple(m.confidence for m in after.measures),
        value_at_risk_before=var_b,
        value_at_risk_after=tuple(m.value_at_risk for m in after.measures),
        expected_shortfall_before=es_b,
        expected_shortfall_after=tuple(m.expected_shortfall for m in after.measures),
        excluded_trade_positions=tuple(e for e in after.excluded_positions if e["id"] in trade_ids),
        seed=spec.seed if spec.method == "montecarlo" else None,
    )
