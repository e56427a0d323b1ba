"""Monte Carlo VaR and ES: correlated scenarios in blocks (``MonteCarloScenarios``), options
revalued on a bounded-error grid or fully (``revalue``), measured by the estimator of the
sampling (``core.measures``).

Plain sampling reports the i.i.d. standard errors of ``empirical_estimates``. Antithetic pairs
are not independent: ``grouped_estimates`` estimates the variance of the linearised estimators
(VaR through the fraction of losses below it, ES through its influence function) from the pair
totals. Sobol scrambles are independent replicates of one randomised quasi-Monte Carlo estimate:
``replicate_estimates`` takes VaR and ES from all the points and the standard error from the
spread of the per-scramble estimates.
"""

from __future__ import annotations

import itertools

import numpy as np

from riskengine.core.factor_model import FactorCovariance
from riskengine.core.measures import (
    empirical_estimates,
    grouped_estimates,
    replicate_estimates,
)
from riskengine.core.random import draw_seed
from riskengine.methods.base import (
    VEGA_NOTE,
    MethodContext,
    MethodResult,
    covariance_flags,
    measures_of,
)
from riskengine.pricing.grid import GridCoordinates, GridLocations, OptionGrid, build_option_grid
from riskengine.revaluation import BlockEngine, revalue
from riskengine.scenarios.monte_carlo import (
    MonteCarloDesign,
    MonteCarloModel,
    MonteCarloScenarios,
    check_sobol_paths,
    principal_root,
)

GRID_TAIL_PROBABILITY = 1e-5  # returns beyond the grid are revalued exactly

# the estimator of each sampling: (P&L, scenarios, confidences) -> estimates
_ESTIMATORS = {
    "plain": lambda pnl, scen, cs: empirical_estimates(pnl, cs, standard_errors=True),
    "antithetic": lambda pnl, scen, cs: grouped_estimates(pnl, scen.path_groups(), cs),
    "sobol": lambda pnl, scen, cs: replicate_estimates(pnl, scen.path_groups(), cs),
}


def run_montecarlo(ctx: MethodContext) -> MethodResult:
    """Simulate ``n_scenarios`` h-day paths of the universe and revalue the book on each."""
    spec = ctx.spec
    design = _design(ctx)
    est = ctx.covariance(design.covariance)
    key = (*ctx.data_key(), design)  # the scenarios: the market data and the recipe
    scen = ctx.cache.scenarios.get_or_create(
        key, lambda: _scenarios(ctx, design, est), lambda s: s.nbytes if s.keeps_blocks else 0
    )
    params = {
        "distribution": spec.distribution,
        "mean": spec.mean,
        **est.report_parameters,
        "matrix_root": scen.model.root_method,
        "block_size": scen.block_size,
        "n_blocks": scen.n_blocks,
    }
    described, notes = design.describe(scen.points_per_scramble, spec.confidence)
    params |= described
    grid = _option_grid(ctx, scen, spec.revaluation, params, notes)
    pnl = revalue(
        ctx.book,
        scen.scenario_set(),
        ctx.executor,
        engine=_grid_engine(ctx, key, scen, grid),
        error_bound=None if grid is None else grid.error_bound,
    )
    estimates = _ESTIMATORS[spec.sampling](pnl.total, scen, spec.confidence)
    return MethodResult(
        measures=measures_of(estimates),
        n_scenarios=spec.n_scenarios,
        parameters=params,
        pnl=pnl.total,
        notes=tuple(notes),
        data_quality=covariance_flags(est, spec.window, ctx.universe.size),
        provenance={"seed": design.seed},
        basis=pnl,
    )


def _design(ctx: MethodContext) -> MonteCarloDesign:
    """The spec's Monte Carlo recipe, its seed drawn when the spec has none."""
    spec = ctx.spec
    sobol = spec.sampling == "sobol"
    if sobol:
        check_sobol_paths(spec.n_scenarios, spec.n_scrambles)  # before any work
    return MonteCarloDesign(
        # the log model is fitted to log returns (covariance, and the mean when mean="sample")
        covariance=ctx.covariance_model(spec.return_model),
        distribution=spec.distribution,
        df=spec.df if spec.distribution == "student-t" else None,
        horizon_days=spec.horizon_days,
        n_scenarios=spec.n_scenarios,
        seed=spec.seed if spec.seed is not None else draw_seed(),
        sampling=spec.sampling,
        n_scrambles=spec.n_scrambles if sobol else None,
    )


def _scenarios(ctx: MethodContext, design: MonteCarloDesign, est) -> MonteCarloScenarios:
    """The paths of ``design`` on the fitted covariance ``est`` (kept, block by block as the
    workers draw them, when they fit in the scenario cache)."""
    spec = ctx.spec
    if isinstance(est, FactorCovariance):  # factor shocks first: Sobol's best coordinates
        cov, root = est, None
    else:
        cov, root = est.matrix, est.root
    if spec.sampling == "sobol" and root is not None:
        # the PCA root for quasi-Monte Carlo, kept with the estimates
        root_key = ("principal_root", *ctx.data_key(), design.covariance)
        root = ctx.cache.covariances.get_or_create(root_key, lambda: principal_root(est.matrix))
    model = MonteCarloModel(
        est.mean,
        cov,
        spec.distribution,
        spec.df,
        spec.horizon_days,
        root=root,
        return_model=spec.return_model,
    )
    scen = MonteCarloScenarios(
        model, spec.n_scenarios, design.seed, sampling=spec.sampling, n_scrambles=spec.n_scrambles
    )
    limit = ctx.cache.scenarios.max_bytes  # None: no limit
    if limit is None or scen.nbytes <= limit:
        scen.keep_blocks()  # filled by the workers, reused by the next book
    return scen


def _option_grid(
    ctx: MethodContext, scen: MonteCarloScenarios, revaluation: str, params: dict, notes: list
) -> OptionGrid | None:
    """The option grid when the book has options and ``revaluation`` is "grid" (else None),
    with what the report says about the options' revaluation added to ``params`` and
    ``notes``. The grid depends only on the compiled book and the model's range of returns:
    a book recomputed on new paths of the same model (a new seed) reuses it from
    ``RiskCache.grids`` (keyed by the book object, which the cached grid keeps alive)."""
    book = ctx.book
    if not len(book.options):
        return None
    params["revaluation"] = revaluation
    grid = None
    if revaluation == "grid":
        lo, hi = scen.model.marginal_range(GRID_TAIL_PROBABILITY)
        key = ("option-grid", id(book), lo.tobytes(), hi.tobytes())
        grid = ctx.cache.grids.get_or_create(key, lambda: _new_grid(book, lo, hi))
        if grid.book is not book:  # an id reused by another book: never its grid
            grid = build_option_grid(book, lo, hi)
        params["revaluation_grid_points"] = grid.n_points
        params["revaluation_grid_tail_probability"] = GRID_TAIL_PROBABILITY
        params["revaluation_error_bound"] = grid.error_bound
        notes.append(
            "options revalued on a grid of returns per underlying (linear interpolation, "
            f"exact outside the grid); every scenario's P&L is within "
            f"{grid.error_bound:.4g} of full revaluation"
        )
    else:
        notes.append("options fully revalued on every path")
    notes.append(VEGA_NOTE)
    return grid


def _new_grid(book, lo: np.ndarray, hi: np.ndarray) -> OptionGrid:
    """The option grid of ``book``, started from the last one built for its book version
    (``layout``) when there is one: then only the underlyings whose price moved since are
    priced again (the same grid, bit for bit)."""
    latest = book.layout.latest if book.layout is not None else None
    previous = latest.get("option-grid") if latest is not None else None
    grid = build_option_grid(book, lo, hi, previous=previous)
    if latest is not None:
        latest["option-grid"] = grid
    return grid


def _grid_engine(
    ctx: MethodContext, key: tuple, scen: MonteCarloScenarios, grid: OptionGrid | None
) -> BlockEngine | None:
    """The grid's revaluation of a block (None without a grid: full revaluation)."""
    if grid is None:
        return None
    book = ctx.book
    locations = _grid_locations(ctx, key, scen, grid)

    def engine(number: int, block: np.ndarray) -> np.ndarray:
        located = locations.block(number, block) if locations is not None else None
        return grid.pnl(block, book.linear_exposure, located)

    return engine


def _grid_locations(ctx: MethodContext, key: tuple, scen, grid) -> GridLocations | None:
    """Where the scenarios fall on the option grid, kept with the scenario set: the grid's
    nodes depend only on the model's range of returns, so every book revalued on these
    scenarios reads its tables at the same nodes (located once, when the set is kept and the
    locations fit in the scenario cache too; None otherwise).

    Locating costs more than one book's interpolation: the first book revalued on a scenario
    set interpolates directly (the same numbers), and the locations are made for the second."""
    if grid is None or not scen.keeps_blocks:
        return None
    uses = ctx.cache.scenarios.get_or_create((*key, "grid-revaluations"), itertools.count)
    if next(uses) == 0:
        return None
    lo, hi = scen.model.marginal_range(GRID_TAIL_PROBABILITY)
    coords = GridCoordinates.of(lo, hi, grid.n_points)
    limit = ctx.cache.scenarios.max_bytes
    if limit is not None and scen.n_scenarios * coords.row_bytes > limit // 2:
        return None
    if not coords.matches(grid):
        return None
    return ctx.cache.scenarios.get_or_create(
        (*key, "grid-locations", GRID_TAIL_PROBABILITY, grid.n_points),
        lambda: GridLocations(coords, scen.n_blocks, scen.n_scenarios),
        lambda locations: locations.nbytes,
    )
