"""The revaluation stage: ``revalue(book, scenario_set, executor) -> PnL``.

Oracles: the linear P&L in closed form (units x spot x return, summed); the book revalued on
all the rows at once; the option grid's error bound against full revaluation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskengine.instruments import Equity, EuropeanOption, Portfolio, Position
from riskengine.pricing.compiled import compile_book
from riskengine.pricing.grid import build_option_grid
from riskengine.revaluation import PnL, revalue
from riskengine.scale.local import LocalExecutor
from riskengine.scenarios.set import ScenarioSet

AS_OF = dt.date(2024, 6, 28)
COLUMN_OF = {"AAA": 0, "BBB": 1, "CCC": 2}
SPOT = np.array([100.0, 40.0, 250.0])
UNITS = {"AAA": 10.0, "BBB": -25.0, "CCC": 3.0}


def _equities() -> Portfolio:
    return Portfolio(tuple(Position(s, Equity(s), q) for s, q in UNITS.items()))


def _with_options() -> Portfolio:
    call = EuropeanOption("AAA", 105.0, dt.date(2024, 9, 20), "call", 0.3)
    put = EuropeanOption("CCC", 240.0, dt.date(2024, 8, 16), "put", 0.25)
    return Portfolio((*_equities().positions, Position("c", call, 5.0), Position("p", put, -2.0)))


def _blocks(n: int, block_size: int, seed: int = 1) -> tuple[ScenarioSet, np.ndarray]:
    """A scenario set of ``n`` rows in blocks of ``block_size``, and all its rows."""
    rows = np.random.default_rng(seed).normal(0.0, 0.02, size=(n, 3))
    return ScenarioSet(n, block_size, lambda i: rows[i * block_size : (i + 1) * block_size]), rows


@pytest.mark.parametrize("rows_per_task", [None, 1, 7, 64, 1000])
@pytest.mark.parametrize("workers", [1, 2])
def test_linear_pnl_is_units_times_spot_times_return(rows_per_task, workers):
    book = compile_book(_equities(), AS_OF, COLUMN_OF, SPOT, 1)
    scen, rows = _blocks(203, 50)
    pnl = revalue(book, scen, LocalExecutor(workers), rows_per_task=rows_per_task)
    units = np.array([UNITS[s] for s in COLUMN_OF])
    want = (rows * SPOT) @ units
    assert isinstance(pnl, PnL) and pnl.exact and pnl.error_bound is None
    assert pnl.total.shape == (203,) and pnl.n_scenarios == 203 and pnl.weights is None
    np.testing.assert_allclose(pnl.total, want, rtol=1e-12, atol=1e-9)


def test_totals_do_not_depend_on_the_cut_or_the_executor():
    """The same bits however the blocks are cut into tasks and whoever runs them: each row's
    P&L is the book's revaluation of that row."""
    book = compile_book(_with_options(), AS_OF, COLUMN_OF, SPOT, 10)
    scen, rows = _blocks(517, 128)
    whole = np.concatenate([book.pnl(rows[i : i + 128]) for i in range(0, 517, 128)])
    for workers in (1, 2):
        for cut in (None, 128, 1000):
            got = revalue(book, scen, LocalExecutor(workers), rows_per_task=cut).total
            np.testing.assert_array_equal(got, whole)
    np.testing.assert_allclose(whole, book.pnl(rows), rtol=1e-12, atol=1e-9)


def test_an_engine_revalues_whole_blocks_within_its_error_bound():
    book = compile_book(_with_options(), AS_OF, COLUMN_OF, SPOT, 10)
    scen, rows = _blocks(400, 100)
    grid = build_option_grid(book, np.full(3, -0.2), np.full(3, 0.2))
    seen = []

    def engine(number, block):
        seen.append((number, block.shape[0]))
        return grid.pnl(block, book.linear_exposure)

    pnl = revalue(book, scen, LocalExecutor(1), engine=engine, error_bound=grid.error_bound)
    assert sorted(seen) == [(0, 100), (1, 100), (2, 100), (3, 100)]
    assert not pnl.exact and pnl.error_bound == grid.error_bound
    assert np.max(np.abs(pnl.total - book.pnl(rows))) <= grid.error_bound
    with pytest.raises(ValueError, match="whole blocks"):
        revalue(book, scen, LocalExecutor(1), engine=engine, rows_per_task=10)


def test_weights_come_with_the_scenario_set():
    book = compile_book(_equities(), AS_OF, COLUMN_OF, SPOT, 1)
    rows = np.random.default_rng(3).normal(0.0, 0.01, size=(20, 3))
    w = np.full(20, 1 / 20)
    pnl = revalue(book, ScenarioSet(20, 20, lambda i: rows, w), LocalExecutor(1))
    assert pnl.weights is w and pnl.scenarios.n_scenarios == 20
