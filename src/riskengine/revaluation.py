"""``revalue(book, scenario_set, executor) -> PnL``: the revaluation stage (layer 3).

The book is revalued on every scenario of a ``ScenarioSet``, block by block on the executor;
only the book's P&L per scenario is kept (``PnL.total``), never the positions x scenarios
cube. Decomposition reads the rows it needs again from the scenario set (``PnL.scenarios``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from riskengine.pricing.compiled import CompiledBook
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.set import ScenarioSet

# Below this much work (scenarios x (linear positions + OPTION_WEIGHT x options)) the blocks run
# one after another on the calling thread: starting threads costs more (~3 ms) than they save.
# The numbers are the same either way (each block is revalued the same way).
INLINE_WORK = 8_000_000
OPTION_WEIGHT = 50  # an option's full revaluation costs about this many linear positions

BlockEngine = Callable[[int, np.ndarray], np.ndarray]
"""``engine(block_number, returns)`` -> shape (rows,), the book's P&L on those rows of the
block: another revaluation than ``CompiledBook.pnl`` (the Monte Carlo option grid)."""


@dataclass(frozen=True)
class PnL:
    """The book's P&L on a scenario set (gain positive, in the book's currency).

    Attributes:
        total: shape (n_scenarios,), the book's P&L per scenario, in scenario order.
        scenarios: the scenario set revalued (its blocks and weights).
        exact: whether ``total`` is the book's full revaluation (``CompiledBook.pnl``); False
            with the Monte Carlo option grid, whose P&L is within ``error_bound`` of it.
        error_bound: the largest difference from full revaluation on any scenario, when not
            exact; else None.
    """

    total: np.ndarray
    scenarios: ScenarioSet
    exact: bool = True
    error_bound: float | None = None

    @property
    def n_scenarios(self) -> int:
        return self.scenarios.n_scenarios

    @property
    def weights(self) -> np.ndarray | None:
        """Shape (n_scenarios,) scenario probabilities, or None for equal weights."""
        return self.scenarios.weights


def revalue(
    book: CompiledBook,
    scenarios: ScenarioSet,
    executor,
    *,
    rows_per_task: int | None = None,
    engine: BlockEngine | None = None,
    error_bound: float | None = None,
) -> PnL:
    """Revalue ``book`` on every scenario of ``scenarios``.

    Args:
        book: the compiled book (its columns are the scenario set's).
        scenarios: the scenario set; each task reads (or regenerates) its own block.
        executor: runs the tasks (``scale.local.LocalExecutor`` or a Dask executor); the totals
            are merged in scenario order, so the result does not depend on it.
        rows_per_task: scenarios per task (a block is cut into pieces of at most this many
            rows); None: one task per block.
        engine: ``engine(block_number, returns)`` instead of ``book.pnl(returns)`` (whole
            blocks only: ``rows_per_task`` must be None); its P&L is then not exact.
        error_bound: with ``engine``, the bound on its difference from full revaluation.

    Returns:
        The ``PnL``: shape (n_scenarios,) totals and the scenario set.
    """
    if engine is not None and rows_per_task is not None:
        raise ValueError("an engine revalues whole blocks: leave rows_per_task None")
    size, n = scenarios.block_size, scenarios.n_scenarios
    work_units = n * (len(book.linear_ids) + OPTION_WEIGHT * len(book.options))
    if isinstance(executor, LocalExecutor) and work_units <= INLINE_WORK:
        executor = executor.with_workers(1)
    tasks = [
        (b, start)
        for b in range(scenarios.n_blocks)
        for start in range(0, min(size, n - b * size), rows_per_task or size)
    ]
    block = scenarios.block

    def work(task: tuple[int, int]) -> np.ndarray:
        number, start = task
        returns = block(number)
        if rows_per_task is not None:
            returns = returns[start : start + rows_per_task]
        return book.pnl(returns) if engine is None else engine(number, returns)

    total = np.concatenate(executor.map(work, tasks))
    return PnL(total, scenarios, exact=engine is None, error_bound=error_bound)
