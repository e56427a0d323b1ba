"""Standalone and incremental VaR on scenarios without a P&L cube: one streamed pass.

Both need a whole loss vector per unit (a position, or a tag group): the unit's own losses
(standalone VaR) and the book's losses without it, L + pnl_unit (incremental VaR = VaR - VaR of
the book without the unit, on the same scenarios). Only the VaR order statistic of each vector
is needed, and it is among the vector's m largest values: m = n - ceil(c n) + 1 with equal
weights (101 of 10,000 scenarios at 99%), or, with scenario weights, one more than the number
of the smallest weights it takes to exceed 1 - c (whatever the order, the VaR is then among the
m largest).

* **Incremental VaR** (every position and tag group) and **standalone VaR of tag groups and of
  positions on two factors** (converted at an FX factor): the scenarios are streamed once,
  chunk by chunk (position P&L of ``CHUNK_ELEMENTS`` values at a time), and each unit keeps only
  its values above a floor, a lower bound of its m-th largest value: the smallest of its values
  over the m scenarios with the largest book losses (revalued with the components anyway; the
  m-th largest over a subset bounds that over all). For the book without one position this
  floor is tight, so each unit keeps about m values. Kept values are compacted to m per unit
  (raising the floors) when they exceed ``KEEP_BYTES``.
* **Standalone VaR of a position on one factor** (stocks, futures, options in the base
  currency): its loss is a monotone function of its factor's return (linear: -v r; a European
  option's value is monotone in its underlying), so its VaR is its loss in the scenario that
  holds the VaR order statistic of the factor's return (if the loss rises with the return) or
  of minus the return (if it falls): the larger of the two losses. The pass keeps the m
  largest of r and -r per factor column; the position is then revalued on those scenarios only.

Memory is O(m x units + chunk), never O(n x units); when m x units alone would exceed the
budget (very many paths), the units are split and the scenarios streamed once per part. VaR is
read off the kept values with the definition of ``core.measures`` (inverted CDF of the losses,
on the weighted empirical distribution when weighted).
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


class DenseLargest:
    """The m largest values (and scenarios) of each of ``n_units`` streams, for streams
    without a floor: each chunk is merged into the kept values by a partial sort."""

    def __init__(self, n_units: int, m: int):
        self.m = m
        self.values = np.full((n_units, m), -np.inf)
        self.scen = np.full((n_units, m), -1, dtype=np.intp)

    def offer(self, x: np.ndarray, first: int) -> None:
        """Values ``x`` of shape (rows, n_units) for scenarios first, first + 1, ..."""
        vals = np.concatenate([self.values, x.T], axis=1)
        scen = np.broadcast_to(first + np.arange(x.shape[0]), (x.shape[1], x.shape[0]))
        scns = np.concatenate([self.scen, scen], axis=1)
        if vals.shape[1] > self.m:
            keep = np.argpartition(vals, vals.shape[1] - self.m, axis=1)[:, -self.m :]
            vals = np.take_along_axis(vals, keep, axis=1)
            scns = np.take_along_axis(scns, keep, axis=1)
        self.values, self.scen = vals, scns

    def var_at(self, n: int, confidences, weights) -> list[tuple[np.ndarray, np.ndarray]]:
        vals, scns = _top_m(self.values, self.scen, self.m)
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
            n_groups,): a lower bound of each unit's m-th largest loss (``kept_count``).
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
    # the streams: (kind, units) with units indices into positions + groups
    streams: list[tuple[str, np.ndarray]] = []
    if incremental:
        streams.append(("incremental", np.arange(n_units)))
    mono_pos = mono_col = np.zeros(0, np.intp)
    factor_cols = np.zeros(0, np.intp)
    if standalone:
        mono_pos, mono_col = single_factor(revalue)
        rest = np.setdiff1d(np.arange(n_units), mono_pos)
        streams.append(("standalone", rest))
        factor_cols, factor_of = np.unique(mono_col, return_inverse=True)
    workers = getattr(executor, "max_workers", 1)
    # entries kept at once, all streams together (x 3: a compaction copies them twice)
    budget = max(1, keep_bytes // (3 * _ENTRY_BYTES))
    rows = max(1, chunk_elements // max(n_pos, 1))
    losses = -np.asarray(pnl.total, dtype=float)
    results = {k: [np.full(n_units, np.nan) for _ in confidences] for k, _ in streams}
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
    if not passes:
        passes = [[]]
    factors = None
    for number, todo in enumerate(passes):
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
        if number == 0 and factor_cols.size:
            factors = DenseLargest(2 * factor_cols.size, m)

        def work(item, keep=keep):
            first, returns = item
            if not keep:
                return []
            p = np.empty((returns.shape[0], n_units))
            revalue(returns, out=p[:, :n_pos])
            if n_groups:
                p[:, n_pos:] = p[:, :n_pos] @ members
            found = [None] * len(keep)
            for j, (k, u, kept) in enumerate(keep):  # standalone: the unit's own losses
                if k == "standalone":
                    found[j] = kept.candidates(_columns(p, u), first, negate=True)
            if any(k == "incremental" for k, _, _ in keep):
                p += losses[first : first + p.shape[0], None]  # now the book without the unit
                for j, (k, u, kept) in enumerate(keep):
                    if k == "incremental":
                        found[j] = kept.candidates(_columns(p, u), first)
            return found

        chunks = source.chunks(rows)
        while batch := list(itertools.islice(chunks, _BATCH * workers)):
            if factors is not None and number == 0:
                for first, returns in batch:
                    r = returns[:, factor_cols].astype(float)
                    factors.offer(np.hstack([r, -r]), first)
            found = executor.map(work, batch) if executor is not None else map(work, batch)
            for entries in found:
                for (_, _, kept), e in zip(keep, entries, strict=True):
                    kept.add(e)
        for k, u, kept in keep:
            for j, (v, _) in enumerate(kept.var_at(n, confidences, weights)):
                results[k][j][u] = v
    if factors is not None:
        at = factors.var_at(n, confidences, weights)
        n_factors = factor_cols.size
        for j, (_, scen) in enumerate(at):
            up, down = scen[:n_factors][factor_of], scen[n_factors:][factor_of]
            results["standalone"][j][mono_pos] = _monotone_var(
                revalue, source, mono_pos, up, down, rows
            )
    for k, _ in streams:
        alone = results[k]
        if k == "incremental":
            alone = [t - v for t, v in zip(totals, alone, strict=True)]
        out[f"{k}_var"] = [a[:n_pos] for a in alone]
        out[f"group_{k}_var"] = [a[n_pos:] for a in alone]
    return out


def _columns(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x[:, u], as a view when u is a run of consecutive columns."""
    if u.size and u[-1] - u[0] == u.size - 1:
        return x[:, u[0] : u[-1] + 1]
    return x[:, u]


def _monotone_var(revalue, source, positions, up, down, rows) -> np.ndarray:
    """max(loss at scenario ``up``, loss at scenario ``down``) for each of ``positions``."""
    need = np.unique(np.concatenate([up, down]))
    out = np.full(positions.size, -np.inf)
    for at, number in source.by_block(need):  # each block read once
        block = source.block(number)
        for start in range(0, at.size, rows):
            idx = need[at[start : start + rows]]
            p = revalue(block[idx - number * source.block_size])
            for scen in (up, down):
                j = np.searchsorted(idx, scen)
                here = (j < idx.size) & (idx[np.minimum(j, idx.size - 1)] == scen)
                out[here] = np.maximum(out[here], -p[j[here], positions[here]])
    return out
