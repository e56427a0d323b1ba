"""``TradeImpact``: a book's VaR and ES with and without a proposed trade (computed by
``riskengine.whatif.incremental_var``, which runs the pipeline twice on the same scenarios)."""

from __future__ import annotations

from dataclasses import dataclass


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
