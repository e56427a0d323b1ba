"""The what-if: VaR and ES of a book with and without a proposed trade, on the same scenarios
(layer 5: it runs the orchestrator twice)."""

from __future__ import annotations

from riskengine._moved import moved_names
from riskengine.cache import RiskCache
from riskengine.core.random import draw_seed
from riskengine.decomposition.trade import TradeImpact
from riskengine.errors import InputError
from riskengine.instruments.types import Portfolio, Position
from riskengine.pipeline import compute_risk
from riskengine.spec import RiskSpec


def trade_impact(
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


# the function's name until this release (a per-position measure has that name too)
__getattr__ = moved_names(
    "riskengine.whatif", {"incremental_var": ("riskengine.whatif", "trade_impact")}
)
