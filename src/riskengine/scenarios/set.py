"""``ScenarioSet``: the scenarios of a run as a frozen value read block by block (layer 2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScenarioSet:
    """The scenario set a method revalues the book on (historical, weighted, filtered, Monte
    Carlo, Sobol), read block by block: the stage between the scenario generators and the
    revaluation (DESIGN §4.4).

    Decomposition reads the rows it needs (the tail, the scenarios near the VaR) or streams
    every block once; no P&L cube is ever held.

    Attributes:
        n_scenarios: scenarios (rows of the revaluation's ``PnL.total``).
        block_size: rows per block (the last one may be shorter); scenario ``s`` is row
            ``s % block_size`` of block ``s // block_size``.
        block: ``block(i)`` -> shape (rows, n_columns), the returns of block i; the same bits on
            every call (Monte Carlo: kept, or regenerated from the block's seed).
        weights: shape (n_scenarios,) scenario probabilities, or None for equal weights.
        stored: whether ``block`` reads rows held in memory (True) or draws them again on
            each call (Monte Carlo paths that are not kept): how often a consumer may read.
    """

    n_scenarios: int
    block_size: int
    block: Callable[[int], np.ndarray]
    weights: np.ndarray | None = None
    stored: bool = True

    @property
    def n_blocks(self) -> int:
        return -(-self.n_scenarios // self.block_size)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Returns of the scenarios ``index`` (ascending), shape (len(index), n_columns)."""
        index = np.asarray(index, dtype=np.intp)
        which = index // self.block_size
        parts = []
        for b in np.unique(which):
            parts.append(self.block(int(b))[index[which == b] - b * self.block_size])
        if not parts:
            return np.zeros((0, self.block(0).shape[1]))
        return np.concatenate(parts)

    def by_block(self, index: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """The scenarios ``index`` (ascending) grouped by block: [(positions in ``index``,
        block number)], so that each block is read (or regenerated) once."""
        index = np.asarray(index, dtype=np.intp)
        which = index // self.block_size
        cuts = np.flatnonzero(np.diff(which)) + 1
        return [
            (part, int(which[part[0]]))
            for part in np.split(np.arange(index.size), cuts)
            if part.size
        ]

    def chunks(self, max_rows: int) -> Iterator[tuple[int, np.ndarray]]:
        """(first scenario, returns) of consecutive pieces of at most ``max_rows`` rows, in
        scenario order: every block once."""
        step = max(1, int(max_rows))
        for b in range(self.n_blocks):
            block = self.block(b)
            for start in range(0, block.shape[0], step):
                yield b * self.block_size + start, block[start : start + step]
