"""``decompose``: a method's result -> the book's risk contributions (``Contributions``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from riskengine.decomposition import empirical
from riskengine.decomposition.local import local_terms
from riskengine.decomposition.parametric import decompose_parametric
from riskengine.decomposition.result import Contributions, ContributionTable
from riskengine.decomposition.revalue import PositionPnl
from riskengine.decomposition.selection import kept_count, stream_vars
from riskengine.instruments.types import Portfolio
from riskengine.methods.base import MethodContext, MethodResult, ParametricModel
from riskengine.pricing.compiled import tag_labels
from riskengine.revaluation import PnL


def tag_groups(
    position_ids, portfolio: Portfolio
) -> tuple[tuple[str, ...], tuple[str | None, ...], np.ndarray]:
    """The tag groups of the included positions, as ``book_exposures`` forms them.

    For each tag key (sorted), one group per value (sorted), plus a group of the positions
    without that key (value None) when there are any; a key repeated on one position counts
    with its first value.

    Returns:
        (keys, values, members) with members of shape (n_positions, n_groups), 0/1.
    """
    tags = {p.id: p.tags for p in portfolio.positions if p.tags}
    return _groups(position_ids, tags)


def _groups(position_ids, tags, labels_of=None):
    """``tag_groups`` from ``tag_labels``'s ``tags`` (a mapping or one tuple per position)
    or from its result ``labels_of``."""
    if not any(tags.values() if isinstance(tags, dict) else tags):
        return (), (), np.zeros((len(position_ids), 0))
    if labels_of is None:
        labels_of = tag_labels(position_ids, tags)
    n = len(position_ids)
    keys: list[str] = []
    values: list[str | None] = []
    codes = []
    for key, labels, code in labels_of:
        codes.append(code + len(keys))
        keys += [key] * len(labels)
        values += labels
    members_t = np.zeros((len(keys), n))  # built transposed, as np.array(columns).T was
    for code in codes:
        members_t[code, np.arange(n)] = 1.0
    return tuple(keys), tuple(values), members_t.T


def decompose(
    ctx: MethodContext,
    result: MethodResult,
    portfolio: Portfolio,
    *,
    standalone: bool = True,
    incremental: bool = True,
) -> Contributions:
    """Euler contributions of every included position and tag group to the run's VaR and ES.

    Args:
        ctx: the run's context (book, spec).
        result: the method's result: its basis is the revaluation (``PnL``: historical, Monte
            Carlo) or the fitted ``ParametricModel`` (parametric).
        portfolio: the book (for symbols and tags).
        standalone, incremental: whether to compute standalone and incremental VaR (for
            scenario methods, one streamed revaluation of every position on every scenario).

    Returns:
        Contributions at each of the run's confidences.
    """
    book = ctx.book
    confidences = [m.confidence for m in result.measures]
    totals_var = tuple(m.value_at_risk for m in result.measures)
    totals_es = tuple(m.expected_shortfall for m in result.measures)
    ids = book.position_ids
    if len(book.position_tags) == len(ids):  # compiled with its symbols and tags
        symbols = book.position_symbols
        keys, values, members = _groups(ids, book.position_tags, book.tag_labels)
    else:
        symbol_of = {p.id: p.symbol for p in portfolio.positions}
        symbols = tuple(symbol_of.get(i, "") for i in ids)
        keys, values, members = tag_groups(ids, portfolio)
    terms = local_terms(book, book.columns)
    exposure = terms.exposure
    group_exposure = exposure @ members
    try:
        numbers_of = _BY_BASIS[type(result.basis)]
    except KeyError:
        raise ValueError(
            "decompose needs a method result with its basis: the revaluation (PnL) or a "
            f"parametric model; got {type(result.basis).__name__}"
        ) from None
    numbers, diagnostics, estimator = numbers_of(
        ctx, result.basis, terms, members, confidences, totals_var, standalone, incremental
    )

    def stack(name):
        x = numbers.get(name)
        return None if x is None else np.array(x).reshape(len(confidences), -1)

    cv, ce = stack("component_var"), stack("component_es")
    positions = ContributionTable.of(
        exposure, cv, ce, stack("incremental_var"), stack("standalone_var")
    )
    tags = ContributionTable.of(
        group_exposure,
        cv @ members,
        ce @ members,
        stack("group_incremental_var"),
        stack("group_standalone_var"),
    )
    return Contributions(
        confidence=tuple(confidences),
        value_at_risk=totals_var,
        expected_shortfall=totals_es,
        position_ids=ids,
        symbols=symbols,
        positions=positions,
        tag_keys=keys,
        tag_values=values,
        tag_sizes=tuple(int(x) for x in members.sum(axis=0)),
        tags=tags,
        estimator=estimator,
        diagnostics=diagnostics,
    )


def _parametric_numbers(
    ctx, model: ParametricModel, terms, members, confidences, totals_var, standalone, incremental
):
    """Analytic components, incremental and standalone VaR of the parametric model."""
    numbers = decompose_parametric(
        ctx.book,
        model,
        terms,
        members,
        confidences,
        standalone=standalone,
        incremental=incremental,
        executor=ctx.executor,
    )
    return numbers, (), _parametric_estimator(model.quantile)


def _scenario_numbers(
    ctx, pnl: PnL, terms, members, confidences, totals_var, standalone, incremental
):
    """Components, then incremental and standalone VaR streamed over every scenario."""
    book = ctx.book
    revalue = PositionPnl(book)
    kinds = [k for k, on in (("standalone", standalone), ("incremental", incremental)) if on]
    m = kept_count(pnl.n_scenarios, confidences, pnl.weights)
    # Floors for the streamed selection: the smallest value of a unit over the m scenarios with
    # the largest book losses (revalued with the components anyway) is a lower bound of its
    # m-th largest value over all scenarios.
    losses = -np.asarray(pnl.total, dtype=float)
    n = losses.size
    worst = np.sort(np.argpartition(losses, n - m)[n - m :]) if kinds else np.zeros(0, int)
    is_worst = np.zeros(n, dtype=bool)
    is_worst[worst] = True

    def seed(idx, p):  # per chunk: each unit's smallest loss on the worst scenarios
        here = is_worst[idx]
        if not here.any():
            return None
        p = p[here]
        if members.shape[1]:
            p = np.hstack([p, p @ members])
        return {
            "standalone": (-p).min(axis=0),
            "incremental": (losses[idx[here], None] + p).min(axis=0),
        }

    numbers, diagnostics, found = _scenario_components(
        ctx, revalue, pnl, confidences, totals_var, worst, seed if kinds else None
    )
    seeds = {k: np.full(book.n_positions + members.shape[1], np.inf) for k in kinds}
    for f in found:
        for k in kinds if f is not None else ():
            np.minimum(seeds[k], f[k], out=seeds[k])
    numbers |= stream_vars(
        revalue,
        pnl,
        members,
        confidences,
        totals_var,
        seeds=seeds,
        standalone=standalone,
        incremental=incremental,
        executor=ctx.executor,
    )
    return numbers, diagnostics, _scenario_estimator(pnl)


def _scenario_components(ctx, revalue, pnl: PnL, confidences, totals_var, extra, on_chunk):
    """Component VaR (kernel) and ES (tail weights) per position, with their diagnostics."""
    sl = empirical.SortedLosses.of(pnl.total, pnl.weights)
    bandwidth = empirical.silverman_bandwidth(sl)
    parts = []
    for c in confidences:
        parts.append(empirical.es_weights(sl, c))
        parts.append(empirical.kernel_weights(sl, c, bandwidth))
    union = np.unique(np.concatenate([extra] + [idx for idx, _ in parts]))
    omega = np.zeros((union.size, len(parts)))
    for col, (idx, weight) in enumerate(parts):
        np.add.at(omega[:, col], np.searchsorted(union, idx), weight)
    sums, found = empirical.position_sums(
        revalue, pnl, union, omega, on_chunk=on_chunk, executor=ctx.executor
    )
    out: dict = {"component_var": [], "component_es": []}
    diagnostics = []
    for j, (c, var) in enumerate(zip(confidences, totals_var, strict=True)):
        theta = parts[2 * j][1]
        kappa = parts[2 * j + 1][1]
        out["component_es"].append(-sums[2 * j] / (1.0 - c))
        kernel_mass = float(kappa.sum())
        means = -sums[2 * j + 1] / kernel_mass if kernel_mass > 0 else 0.0 * sums[0]
        component, how = empirical.scale_to(means, var)
        out["component_var"].append(component)
        total = float(means.sum())
        diagnostics.append(
            {
                "kernel_bandwidth": bandwidth,
                "kernel_scenarios": int(kappa.size),
                "kernel_effective_scenarios": (
                    kernel_mass**2 / float(kappa @ kappa) if kernel_mass > 0 else 0.0
                ),
                "kernel_mean_loss": total,
                "component_var_adjustment": how,
                "tail_scenarios": int(np.count_nonzero(theta)),
            }
        )
    return out, tuple(diagnostics), found


def _scenario_estimator(pnl: PnL) -> dict:
    return {
        "component_var": "kernel",
        "component_es": "tail",
        "incremental_var": "scenarios",
        "standalone_var": "scenarios",
        "kernel": "gaussian",
        "bandwidth_rule": "silverman",
        "kernel_cutoff_bandwidths": empirical.KERNEL_CUTOFF,
        "scenario_weights": "weighted" if pnl.weights is not None else "equal",
        "grid_reconciled": not pnl.exact,
        "description": (
            "component ES: each position's loss averaged over the scenarios with the ES "
            "estimator's weights (beyond VaR, plus the fractional weight at VaR), adding up to "
            "ES exactly; component VaR: Gaussian-kernel estimate of E[position loss | book loss "
            "= VaR], scaled to add up to VaR; incremental and standalone VaR on the same "
            "scenarios"
            + (
                "; positions revalued fully, the grid's difference on each scenario allocated "
                "to the options"
                if not pnl.exact
                else ""
            )
        ),
    }


_MODELS = {
    "normal": "delta-normal",
    "student-t": "Student-t",
    "cornish-fisher": "Cornish-Fisher with historical moments",
    "delta-gamma": "delta-gamma (Cornish-Fisher on the exact moments)",
}


def _parametric_estimator(kind: str) -> dict:
    return {
        "component_var": "analytic",
        "component_es": "analytic",
        "incremental_var": "analytic",
        "standalone_var": "analytic",
        "model": kind,
        "description": (
            f"Euler allocation u_i dVaR/du_i (and dES/du_i) of the {_MODELS[kind]} VaR and ES, "
            "derivatives of the moments included; incremental and standalone VaR from the "
            "exact moments of the book without the unit and of the unit alone"
        ),
    }


# what decomposition does with each basis of a method result
_BY_BASIS: dict[type, Callable[..., tuple[dict, tuple[dict, ...], dict]]] = {
    PnL: _scenario_numbers,
    ParametricModel: _parametric_numbers,
}
