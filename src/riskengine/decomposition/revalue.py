"""Per-position P&L on scenario rows, for the decomposition: a thin callable over
``CompiledBook.position_pnl`` (which writes straight into a preallocated output and widens
single-precision scenarios first, so the positions add up to the book's P&L to rounding)."""

from __future__ import annotations

import numpy as np

from riskengine.pricing.compiled import CompiledBook


class PositionPnl:
    """``position_pnl(returns)`` -> shape (rows, n_positions), in ``book.position_ids`` order."""

    def __init__(self, book: CompiledBook):
        self.book = book
        # column of each linear / option position in the output, in book.linear_ids /
        # book.option_ids order
        self.linear_at, self.option_at = book.position_index

    @property
    def n_positions(self) -> int:
        return self.book.n_positions

    def __call__(
        self,
        returns: np.ndarray,
        out: np.ndarray | None = None,
        *,
        positions: np.ndarray | None = None,
    ) -> np.ndarray:
        """Shape (rows, n_positions) (or (rows, len(positions)) for the ascending indices
        ``positions`` only), written into ``out`` when given."""
        return self.book.position_pnl(returns, out=out, positions=positions)
