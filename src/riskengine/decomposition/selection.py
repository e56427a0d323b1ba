"""Standalone and incremental VaR on scenarios without a P&L cube.

Both need a whole loss vector per unit (a position, or a tag group): the unit's own losses
(standalone VaR) and the book's losses without it, L + pnl_unit (incremental VaR = VaR - VaR of
the book without the unit, on the same scenarios). Only the VaR order statistic of each vector
is needed, and it is among the vector's m largest values: m = n - ceil(c n) + 1 with equal
weights (101 of 10,000 scenarios at 99%), or, with scenario weights, one more than the number
of the smallest weights it takes to exceed 1 - c (whatever the order, the VaR is then among the
m largest). Every unit has a floor, a lower bound of its m-th largest value: the smallest of
its values over the m scenarios with the largest book losses (revalued with the components
anyway; the m-th largest over a subset bounds that over all).

1. **The columns** (one pass): for each factor column of a position on one factor (stocks,
   futures, options in the base currency), its smallest and largest return and the scenarios
   of the VaR order statistics of r and -r. The columns are gathered a part at a time and
   partitioned when the scenarios are held in memory; otherwise they are streamed once, each
   keeping its values above a floor.
2. **Incremental VaR of a position on one factor: the tail prefix.** Its P&L is a monotone
   function of its factor's return, so it is at most U (its P&L at the column's smallest or
   largest return). The book without it loses L_s + p(s) <= L_s + U, so only scenarios with
   L_s >= floor - U can hold a value above its floor: a prefix of the scenarios sorted by
   decreasing book loss, a few more than m for a position that is a small part of the book.
   Positions are revalued on their prefix only (grouped by its length), and the VaR read off
   by a partition: the cost is ~ positions x m, not positions x scenarios.
3. **Standalone VaR of a position on one factor**: its loss is monotone in its factor's
   return, so its VaR is its loss in the scenario that holds the VaR order statistic of the
   return (if the loss rises with it) or of minus the return: the larger of the two (step 1
   found both scenarios; the position is revalued on those only).
4. **Every other unit** (tag groups, positions on two factors converted at an FX factor, and
   positions whose prefix would exceed a quarter of the scenarios): the scenarios are streamed
   once, chunk by chunk (position P&L of ``CHUNK_ELEMENTS`` values at a time), and each unit
   keeps only its values above its floor; kept values are compacted to m per unit (raising the
   floors) when they exceed ``KEEP_BYTES``.

The numbers are those of the full cube, bit for bit: each value is the same sum L_s + p(s) (or
-p(s)), and every step keeps a superset of the values that decide the VaR. Memory is
O(m x units + chunk), never O(n x units); when m x units alone would exceed the budget (very
many paths), the streamed units are split and the scenarios streamed once per part. VaR is read
off the kept values with the definition of ``core.measures`` (inverted CDF of the losses, on
the weighted empirical distribution when weighted).
"""

from __future__ import annotations

import itertools

import numpy as np

from riskengine.core.measures import var_index
from riskengine.revaluation import PnL

CHUNK_ELEMENTS = 1 << 19  # scenario x position values revalued at a time (4 MiB)
KEEP_BYTES = 48 << 20  # kept values and their scenario numbers, compaction included
_EPS = 1e-9  # as core.measures
_ENTRY_BYTES = 16  # unit (int32), value, scenario (int32)
_BATCH = 2  # chunks per worker between two merges of the kept values
_CELLS = 1 << 20  # (unit, entry) cells per block of a compaction
COLUMN_BYTES = 64 << 20  # scenario returns of single-factor columns gathered at a time
PREFIX_BYTES = 64 << 20  # returns of the tail prefix held at once
PREFIX_ELEMENTS = 1 << 21  # position x scenario values of the tail prefix evaluated at a time
_PREFIX_SHARE = 4  # the tail prefix of a pruned unit holds at most 1/4 of the scenarios


def kept_count(n: int, confidences, weights: np.ndarray | None) -> int:
    """How many of the largest values of a loss vector hold its VaR at every confidence."""
    c = min(confidences)
    if weights is None:
        return n - var_index(n, c)
    w = np.sort(np.asarray(weights, float) / np.sum(weights))
    j = int(np.searchsorted(np.cumsum(w), 1.0 - c + _EPS, side="right")) + 1
    return min(n, j + 1)


def below(seed: np.ndarray) -> np.ndarray:
    """A floor just below ``seed`` (values equal to the seed pass ``value > floor``), with a
    relative margin for sums whose last bits depend on how rows were batched."""
    seed = np.asarray(seed, float)
    return np.nextafter(seed - 1e-9 * np.abs(seed), -np.inf)


def _top_m(values: np.ndarray, scen: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's m largest values in descending order (and their scenarios), rows padded
    with -inf (scenario -1) on the right."""
    width = values.shape[1]
    if width > m:
        keep = np.argpartition(values, width - m, axis=1)[:, width - m :]
        values = np.take_along_axis(values, keep, axis=1)
        scen = np.take_along_axis(scen, keep, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1), np.take_along_axis(scen, order, axis=1)


def _var_at(values, scen, n, confidences, weights) -> list[tuple[np.ndarray, np.ndarray]]:
    """(VaR, its scenario) per row and confidence, from each row's m largest values
    (descending, shape (n_rows, m))."""
    rows = np.arange(values.shape[0])
    out = []
    if weights is None:
        for c in confidences:
            at = n - 1 - var_index(n, c)
            out.append((values[:, at], scen[:, at]))
        return out
    w = (np.asarray(weights, float) / np.sum(weights))[np.maximum(scen, 0)]
    w[scen < 0] = 0.0
    before = np.cumsum(w, axis=1) - w  # weight strictly above each kept value
    for c in confidences:
        # the VaR is the last value whose weight at or below it still reaches c
        at = np.sum(1.0 - before >= c - _EPS, axis=1) - 1
        out.append((values[rows, at], scen[rows, at]))
    return out


class LargestValues:
    """Per unit, every offered value above the unit's floor (with its scenario number); once
    the kept entries exceed ``limit``, only each unit's m largest stay and the floors rise."""

    def __init__(self, n_units: int, m: int, floor: np.ndarray | None = None, limit: int = 0):
        self.n_units, self.m = n_units, m
        self.floor = np.full(n_units, -np.inf) if floor is None else np.array(floor, float)
        self.limit = max(limit, 2 * m * n_units)
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._size = 0

    def candidates(self, x: np.ndarray, first: int, negate: bool = False):
        """The entries of ``x`` (or of -x), shape (rows, n_units), scenarios first, first + 1,
        ..., above the floors: (units, values, scenarios). Reads the floors only (thread-safe)."""
        above = (x < -self.floor) if negate else (x > self.floor)
        rows, units = np.nonzero(above)
        values = x[rows, units]
        scen = (first + rows).astype(np.int32 if first + x.shape[0] < 2**31 else np.int64)
        return units.astype(np.int32), -values if negate else values, scen

    def add(self, entries) -> None:
        """Keep ``candidates``' entries; compact when the kept entries exceed the limit."""
        if entries[0].size == 0:
            return
        self._parts.append(entries)
        self._size += entries[0].size
        if self._size > self.limit:
            self._compact()

    def offer(self, x: np.ndarray, first: int) -> None:
        """Values ``x`` of shape (rows, n_units) for scenarios first, first + 1, ..."""
        self.add(self.candidates(x, first))

    def _compact(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keep each unit's m largest: (values, scenarios) of shape (n_units, m), descending,
        padded with -inf (scenario -1), and the count kept per unit. Units are handled in
        blocks of at most ``_CELLS`` (unit, entry) cells, so compaction needs O(entries)
        memory."""
        if self._parts:
            unit, value, scen = (np.concatenate(a) for a in zip(*self._parts, strict=True))
        else:
            unit = scen = np.zeros(0, np.int64)
            value = np.zeros(0)
        self._parts = []
        order = np.argsort(unit, kind="stable")  # each unit's entries side by side
        unit, value, scen = unit[order], value[order], scen[order]
        del order
        count = np.bincount(unit, minlength=self.n_units)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        vals = np.full((self.n_units, self.m), -np.inf)
        scns = np.full((self.n_units, self.m), -1, dtype=np.int64)
        u0 = 0
        while u0 < self.n_units:
            widest = np.maximum.accumulate(np.maximum(count[u0:], 1))
            cells = widest * np.arange(1, widest.size + 1)
            u1 = u0 + max(1, int(np.searchsorted(cells, _CELLS, side="right")))
            e0, e1 = start[u0], start[u1 - 1] + count[u1 - 1]
            width = int(widest[u1 - u0 - 1])
            v = np.full((u1 - u0, width), -np.inf)
            sc = np.full((u1 - u0, width), -1, dtype=np.int64)
            at = (unit[e0:e1] - u0, np.arange(e0, e1) - start[unit[e0:e1]])
            v[at], sc[at] = value[e0:e1], scen[e0:e1]
            v, sc = _top_m(v, sc, self.m)
            vals[u0:u1, : v.shape[1]], scns[u0:u1, : v.shape[1]] = v, sc
            u0 = u1
        kept = np.minimum(count, self.m)
        full = kept == self.m
        self.floor[full] = np.maximum(self.floor[full], vals[full, self.m - 1])
        u, j = np.nonzero(vals > -np.inf)
        self._parts = [(u.astype(np.int32), vals[u, j], scns[u, j])]
        self._size = u.size
        return vals, scns, kept

    def var_at(self, n: int, confidences, weights) -> list[tuple[np.ndarray, np.ndarray]]:
        """(VaR, its scenario) of each unit's n values at each confidence."""
        vals, scns, kept = self._compact()
        if np.any(kept < self.m):
            raise RuntimeError("a unit kept fewer values than its VaR needs (floor too high)")
        return _var_at(vals, scns, n, confidences, weights)


def single_factor(revalue) -> tuple[np.ndarray, np.ndarray]:
    """(positions, their factor's scenario column) of the positions whose P&L is a monotone
    function of one factor's return: linear positions and options priced in the base
    currency."""
    book = revalue.book
    pos = [revalue.linear_at[book.linear_fx_column < 0]]
    col = [book.linear_column[book.linear_fx_column < 0]]
    o = book.options
    if len(o):
        pos.append(revalue.option_at[o.fx_column < 0])
        col.append(o.column[o.fx_column < 0])
    return np.concatenate(pos).astype(np.intp), np.concatenate(col).astype(np.intp)


def stream_vars(
    revalue,
    pnl: PnL,
    members: np.ndarray,
    confidences,
    totals,
    *,
    seeds: dict | None = None,
    standalone: bool = True,
    incremental: bool = True,
    chunk_elements: int = CHUNK_ELEMENTS,
    keep_bytes: int = KEEP_BYTES,
    executor=None,
) -> dict:
    """Standalone and incremental VaR of every position and tag group, on the scenarios.

    Args:
        revalue: a ``PositionPnl`` of the book (returns -> position P&L).
        pnl: the book's P&L on the scenario set (the method's revaluation), whose scenarios
            are streamed.
        members: shape (n_positions, n_groups), 0/1 membership of the tag groups.
        totals: the book's VaR at each confidence (incremental VaR = total - VaR without).
        seeds: optional {"standalone": s, "incremental": s}, each of shape (n_positions +
            n_groups,): a lower bound of each unit's m-th largest loss (``kept_count``). With
            the incremental one, positions of bounded P&L are evaluated on the tail prefix only.
        executor: optional ``LocalExecutor``: chunks are revalued in parallel, a few at a time
            (the result does not depend on it).

    Returns:
        dict with "standalone_var", "incremental_var" (lists per confidence of shape
        (n_positions,), or None) and "group_standalone_var", "group_incremental_var" (of shape
        (n_groups,), or None).
    """
    source = pnl.scenarios
    n = source.n_scenarios
    n_pos, n_groups = revalue.n_positions, members.shape[1]
    out: dict = {f"{p}{k}_var": None for p in ("", "group_") for k in ("standalone", "incremental")}
    if not (standalone or incremental):
        return out
    weights = source.weights
    m = kept_count(n, confidences, weights)
    n_units = n_pos + n_groups
    seeds = seeds or {}
    losses = -np.asarray(pnl.total, dtype=float)
    kinds = [k for k, on in (("incremental", incremental), ("standalone", standalone)) if on]
    results = {k: [np.full(n_units, np.nan) for _ in confidences] for k in kinds}
    mono_pos, mono_col = single_factor(revalue)
    factor_cols = np.unique(mono_col)
    prune = incremental and "incremental" in seeds and n_pos > 0
    # 1. one pass over the scenarios: the range of each single-factor column (its positions'
    #    P&L bounds) and the returns at the VaR order statistics of r and -r (their
    #    standalone VaR)
    lo = hi = var_ends = None
    if factor_cols.size and (prune or standalone):
        lo, hi, var_ends = _column_pass(source, factor_cols, m, confidences, keep_bytes, executor)
    # 2. incremental VaR of positions with bounded P&L, on the scenarios of the tail prefix
    pruned = np.zeros(0, np.intp)
    if prune:
        bound = _pnl_upper_bounds(revalue, mono_pos, factor_cols, lo, hi, losses)
        pruned, counts, prefix = _tail_prefix(
            losses, below(seeds["incremental"][:n_pos]), bound, m, revalue.book.n_columns
        )
        found = _prefix_vars(revalue, source, losses, prefix, pruned, counts, confidences, executor)
        for j, v in enumerate(found):
            results["incremental"][j][pruned] = v
    # 3. every other unit: the scenarios streamed once (or once per part of the units)
    streams: list[tuple[str, np.ndarray]] = []
    if incremental:
        streams.append(("incremental", np.setdiff1d(np.arange(n_units), pruned)))
    if standalone:
        streams.append(("standalone", np.setdiff1d(np.arange(n_units), mono_pos)))
    _stream_units(
        revalue, source, losses, members, streams, results, m, seeds, confidences,
        chunk_elements, keep_bytes, executor,
    )  # fmt: skip
    if standalone and var_ends is not None:
        for j, (up, down) in enumerate(var_ends):
            results["standalone"][j][mono_pos] = _monotone_var(
                revalue, mono_pos, factor_cols, up, down
            )
    for k in kinds:
        alone = results[k]
        if k == "incremental":
            alone = [t - v for t, v in zip(totals, alone, strict=True)]
        out[f"{k}_var"] = [a[:n_pos] for a in alone]
        out[f"group_{k}_var"] = [a[n_pos:] for a in alone]
    return out


def _column_pass(source, cols, m, confidences, keep_bytes, executor):
    """Over every scenario, for each column of ``cols``: its smallest and largest return
    (lo, hi, shape (len(cols),)) and, per confidence, the returns at the VaR order statistics
    of r and of -r ((up, down), each of shape (len(cols),)): the return of the scenario a
    position rising (falling) with the column loses its VaR in.

    When the scenarios are held in memory (or the columns fit in ``COLUMN_BYTES`` at once),
    the columns are gathered a part at a time and each is partitioned; otherwise the scenarios
    are streamed once and each column keeps its values above a floor (``LargestValues``)."""
    n, n_cols = source.n_scenarios, cols.size
    weights = source.weights
    itemsize = source.block(0).dtype.itemsize
    per = max(1, COLUMN_BYTES // (itemsize * n))
    if not (source.stored or per >= n_cols):
        return _column_stream(source, cols, m, confidences, keep_bytes, executor)
    ats = [n - 1 - var_index(n, c) for c in confidences]  # ranks from the top

    def work(start):
        """(lo, hi, up and down returns per confidence) of the columns of one part."""
        x = np.concatenate(
            [source.block(b)[:, cols[start : start + per]] for b in range(source.n_blocks)]
        ).T  # (columns, n_scenarios)
        if weights is None:
            kth = sorted({n - 1 - at for at in ats} | set(ats))
            part = np.partition(x, kth, axis=1)
            found = [(part[:, n - 1 - at], part[:, at]) for at in ats]
        else:
            scen = np.broadcast_to(np.arange(n), x.shape)
            sides = [_var_at(*_top_m(s * x.astype(float), scen, m), n, confidences, weights)
                     for s in (1.0, -1.0)]  # fmt: skip
            found = [(u, -d) for (u, _), (d, _) in zip(*sides, strict=True)]
        return x.min(axis=1), x.max(axis=1), found

    starts = range(0, n_cols, per)
    parts = list(executor.map(work, starts) if executor is not None else map(work, starts))
    lo = np.concatenate([p[0] for p in parts])
    hi = np.concatenate([p[1] for p in parts])
    ends = [
        tuple(np.concatenate([p[2][j][side] for p in parts]) for side in (0, 1))
        for j in range(len(confidences))
    ]
    return lo, hi, ends


def _column_stream(source, cols, m, confidences, keep_bytes, executor):
    """``_column_pass`` by one streamed pass over the scenarios."""
    n_cols = cols.size
    # the floors: each column's m-th largest in the first blocks, about 10 m rows (of a
    # subset of the scenarios, so a lower bound of the m-th largest of all)
    floor = None
    first = source.rows(np.arange(min(source.n_scenarios, 10 * m)))
    if first.shape[0] >= m:
        r = first[:, cols].astype(float)
        x = np.hstack([r, -r])
        floor = below(np.partition(x, x.shape[0] - m, axis=0)[x.shape[0] - m])
    kept = LargestValues(2 * n_cols, m, floor, limit=keep_bytes // (3 * _ENTRY_BYTES))
    workers = getattr(executor, "max_workers", 1)

    def work(item):
        first, returns = item
        r = returns[:, cols].astype(float)
        return r.min(axis=0), r.max(axis=0), kept.candidates(np.hstack([r, -r]), first)

    lo, hi = np.full(n_cols, np.inf), np.full(n_cols, -np.inf)
    chunks = source.chunks(source.block_size)
    while batch := list(itertools.islice(chunks, _BATCH * workers)):
        for low, high, found in executor.map(work, batch) if executor else map(work, batch):
            np.minimum(lo, low, out=lo)
            np.maximum(hi, high, out=hi)
            kept.add(found)
    at = kept.var_at(source.n_scenarios, confidences, source.weights)
    return lo, hi, [(v[:n_cols], -v[n_cols:]) for v, _ in at]


def _pnl_upper_bounds(revalue, mono_pos, cols, lo, hi, losses) -> np.ndarray:
    """Shape (n_positions,): an upper bound of each position's P&L over the scenarios: for a
    position monotone in one factor, its P&L at that factor's smallest or largest return (with
    a margin for rounding); +inf for the others. ``lo``, ``hi``: the range of ``cols``."""
    bound = np.full(revalue.n_positions, np.inf)
    if mono_pos.size == 0 or lo is None:
        return bound
    ends = np.zeros((2, revalue.book.n_columns))
    ends[0, cols], ends[1, cols] = lo, hi
    order = np.argsort(mono_pos)
    at = mono_pos[order]
    p = revalue(ends, positions=at)
    top = np.maximum(p[0], p[1])
    scale = np.abs(p[0]) + np.abs(p[1])
    bound[at] = top + 1e-7 * scale + 1e-12 * float(np.max(np.abs(losses), initial=0.0))
    return bound


def _tail_prefix(losses, floor, bound, m, n_columns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(units, counts, scenarios): the positions whose incremental VaR can be read off the
    scenarios with the largest book losses, how many of those each needs, and the scenarios
    (by decreasing book loss).

    The book without position u loses L_s + p_u(s) <= L_s + U_u in scenario s (U_u its P&L
    bound), and only values above ``floor[u]`` (a lower bound of its m-th largest) matter: so
    only scenarios with L_s >= floor[u] - U_u. A unit is taken when those are at most a
    quarter of the scenarios and their returns fit in ``PREFIX_BYTES``."""
    n = losses.size
    order = np.argsort(-losses, kind="stable")
    descending = losses[order]
    with np.errstate(invalid="ignore"):
        threshold = floor - bound
        threshold -= 1e-9 * (np.abs(floor) + np.abs(bound))
    finite = np.isfinite(threshold)
    count = np.full(floor.size, n)
    count[finite] = np.searchsorted(-descending, -threshold[finite], side="right")
    count = np.maximum(count, m)
    cap = min(n // _PREFIX_SHARE, PREFIX_BYTES // (8 * max(n_columns, 1)))
    units = np.nonzero(finite & (count <= cap))[0]
    if units.size == 0:
        return units, units, np.zeros(0, np.intp)
    return units, count[units], order[: int(count[units].max())]


def _prefix_vars(revalue, source, losses, prefix, units, counts, confidences, executor) -> list:
    """VaR of the book without each of ``units`` (positions), unit u read off the first
    ``counts[u]`` scenarios of ``prefix`` (by decreasing book loss), which hold every value
    above its floor: per confidence, shape (len(units),).

    Units are taken in order of their counts, a task at a time: a task's units share the
    rows of its widest one, at most twice the narrowest's."""
    out = [np.full(units.size, np.nan) for _ in confidences]
    if units.size == 0:
        return out
    n = losses.size
    ascending = np.sort(prefix)
    returns = source.rows(ascending)[np.searchsorted(ascending, prefix)]
    book_loss = losses[prefix][:, None]
    weights = source.weights
    m = kept_count(n, confidences, weights)
    by_count = np.argsort(counts, kind="stable")
    tasks = []
    i = 0
    while i < units.size:
        j = i + 1
        while (
            j < units.size
            and counts[by_count[j]] <= 2 * counts[by_count[i]]
            and (j - i + 1) * counts[by_count[j]] <= PREFIX_ELEMENTS
        ):
            j += 1
        tasks.append(by_count[i:j])
        i = j

    def work(task):
        k = int(counts[task[-1]])
        u = units[np.sort(task)]
        p = revalue(returns[:k], positions=u)
        p += book_loss[:k]  # the book without the position
        if weights is None:  # the value of a fixed rank: a partition, no sort
            ranks = [k - n + var_index(n, c) for c in confidences]
            part = np.partition(p, sorted(set(ranks)), axis=0)
            return [part[r] for r in ranks]
        scen = np.broadcast_to(prefix[:k], (u.size, k))
        vals, scns = _top_m(p.T, scen, m)
        return [v for v, _ in _var_at(vals, scns, n, confidences, weights)]

    done = executor.map(work, tasks) if executor is not None else map(work, tasks)
    for task, found in zip(tasks, done, strict=True):
        for j, v in enumerate(found):
            out[j][np.sort(task)] = v
    return out


def _stream_units(
    revalue, source, losses, members, streams, results, m, seeds, confidences,
    chunk_elements, keep_bytes, executor,
) -> None:  # fmt: skip
    """The VaR of each unit of ``streams`` [(kind, units)], written into ``results``: the
    scenarios streamed once per part of the units, each unit keeping its values above its
    floor."""
    streams = [(k, u) for k, u in streams if u.size]
    if not streams:
        return
    n = source.n_scenarios
    weights = source.weights
    workers = getattr(executor, "max_workers", 1)
    unit_pnl = _UnitPnl(revalue, members, np.unique(np.concatenate([u for _, u in streams])))
    # entries kept at once, all streams together (x 3: a compaction copies them twice)
    budget = max(1, keep_bytes // (3 * _ENTRY_BYTES))
    rows = max(1, chunk_elements // max(unit_pnl.width, 1))
    part = max(1, budget // (2 * m))
    # split the work into passes over the scenarios so that each holds <= budget entries
    pieces = [(k, u[i : i + part]) for k, u in streams for i in range(0, u.size, part)]
    passes: list[list[tuple[str, np.ndarray]]] = []
    size = 0
    for item in pieces:
        if not passes or size + item[1].size > part:
            passes.append([])
            size = 0
        passes[-1].append(item)
        size += item[1].size
    for todo in passes:
        in_pass = max(1, sum(u.size for _, u in todo))
        keep = [
            (
                k,
                u,
                LargestValues(
                    u.size,
                    m,
                    below(seeds[k][u]) if k in seeds else None,
                    limit=budget * u.size // in_pass,
                ),
            )
            for k, u in todo
        ]

        def work(item, keep=keep):
            first, returns = item
            p = unit_pnl(returns)
            found = [None] * len(keep)
            for j, (k, u, kept) in enumerate(keep):  # standalone: the unit's own losses
                if k == "standalone":
                    found[j] = kept.candidates(_columns(p, unit_pnl.at[u]), first, negate=True)
            if any(k == "incremental" for k, _, _ in keep):
                p += losses[first : first + p.shape[0], None]  # now the book without the unit
                for j, (k, u, kept) in enumerate(keep):
                    if k == "incremental":
                        found[j] = kept.candidates(_columns(p, unit_pnl.at[u]), first)
            return found

        chunks = source.chunks(rows)
        while batch := list(itertools.islice(chunks, _BATCH * workers)):
            found = executor.map(work, batch) if executor is not None else map(work, batch)
            for entries in found:
                for (_, _, kept), e in zip(keep, entries, strict=True):
                    kept.add(e)
        for k, u, kept in keep:
            for j, (v, _) in enumerate(kept.var_at(n, confidences, weights)):
                results[k][j][u] = v


class _UnitPnl:
    """The P&L of the streamed units on rows of returns, shape (rows, width): the positions
    among them by their own revaluation (the same bits as ``PositionPnl``), then every tag
    group: its positions in the base currency on one factor through their summed exposure per
    column (``returns @ exposure``, equal to the sum of the positions' P&L to rounding), plus its
    other positions (options, FX-converted ones) revalued one by one. ``at[unit]`` is the
    unit's column."""

    def __init__(self, revalue, members: np.ndarray, units: np.ndarray):
        book = revalue.book
        n_pos, n_groups = revalue.n_positions, members.shape[1]
        self.revalue = revalue
        positions = units[units < n_pos]
        self.with_groups = bool(n_groups) and bool(np.any(units >= n_pos))
        others = np.zeros(0, np.intp)
        if self.with_groups:
            linear_at, _ = book.position_index
            single = book.linear_fx_column < 0
            linear = linear_at[single]
            self.exposure = np.zeros((book.n_columns, n_groups))
            np.add.at(
                self.exposure,
                book.linear_column[single],
                members[linear] * book.linear_units_value[single][:, None],
            )
            others = np.setdiff1d(np.arange(n_pos), linear)
            others = others[members[others].any(axis=1)]
        self.need = np.union1d(positions, others).astype(np.intp)
        self.others_at = np.searchsorted(self.need, others)
        self.others_members = members[others]
        self.width = self.need.size + (n_groups if self.with_groups else 0)
        self.at = np.full(n_pos + n_groups, -1, dtype=np.intp)
        self.at[self.need] = np.arange(self.need.size)
        if self.with_groups:
            self.at[n_pos:] = self.need.size + np.arange(n_groups)

    def __call__(self, returns: np.ndarray) -> np.ndarray:
        out = np.empty((returns.shape[0], self.width))
        k = self.need.size
        if k:
            self.revalue(returns, out=out[:, :k], positions=self.need)
        if self.with_groups:
            groups = returns.astype(np.float64, copy=False) @ self.exposure
            if self.others_at.size:
                groups += out[:, self.others_at] @ self.others_members
            out[:, k:] = groups
        return out


def _columns(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x[:, u], as a view when u is a run of consecutive columns."""
    if u.size and u[-1] - u[0] == u.size - 1:
        return x[:, u[0] : u[-1] + 1]
    return x[:, u]


def _monotone_var(revalue, positions, cols, up, down) -> np.ndarray:
    """max(loss at its column's return ``up``, loss at ``down``) for each of ``positions``
    (positions on one factor: their P&L reads their own column only, so two rows of returns,
    one value per column, revalue every one of them at its own scenarios)."""
    ends = np.zeros((2, revalue.book.n_columns))
    ends[0, cols], ends[1, cols] = up, down
    order = np.argsort(positions)
    p = revalue(ends, positions=positions[order])
    out = np.empty(positions.size)
    out[order] = np.maximum(-p[0], -p[1])
    return out
