"""Option revaluation on an interpolation grid: cost independent of paths x options.

Every option depends on one factor, so the total P&L of all options on underlying u is a
function of one variable, the return x of u: f_u(x) = sum_j units_j (V_j(S_u (1 + x), T_j - h/252)
- V_j(S_u, T_j)). The grid prices each option on ``n_points`` equally spaced returns per
underlying once, and each scenario then costs one linear interpolation per underlying.

Error bound: a European option's value is convex in the underlying, hence in x, and linear
interpolation of a convex function f on [a, b] errs by at most (b - a)/4 * (f'(b) - f'(a)).
With f' = units * delta * S_u, the bound reported is sum_u max_i sum_j step_u/4 * |units_j| S_u
(delta_j(x_{i+1}) - delta_j(x_i)) over the intervals i of table u: a rigorous bound on the
error of every scenario's P&L (hence of VaR and ES), even for a gamma spike between nodes.
Options that expire inside the horizon are valued exactly at intrinsic (their payoff has a kink
a grid would smear). Options priced in another currency than the base one depend on two factors
(their underlying and the FX rate, X0 (1 + r_X) V(S0 (1 + r_S))): they stay out of the grid too
and are revalued exactly on every path, so they add nothing to the error bound. Returns outside
the grid are revalued exactly, so the grid range only affects speed, never correctness.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from riskengine.pricing.compiled import CompiledBook

DEFAULT_POINTS = 129
_CHUNK_ROWS = 128
_ALL_COLUMNS_SHARE = 0.75


@dataclass(frozen=True)
class OptionGrid:
    """Interpolation tables of option P&L per underlying ("table" below).

    Attributes:
        columns: shape (n_tables,), the scenario column of each table. When most columns carry
            options (``all_columns``), every scenario column gets a table (zero where no option
            is written on it) so that scenarios need no column gather.
        lo, hi: shape (n_tables,), the grid range of returns.
        inv_step: shape (n_tables,), 1 / grid step in returns.
        values: shape (n_tables * n_points,), P&L at the nodes, flattened.
        slopes: shape (n_tables * n_points,), P&L increase per grid step after each node.
        group_ptr, group_idx: options of table j are group_idx[group_ptr[j]:group_ptr[j+1]].
        exact: options valued exactly on every path: those expiring inside the horizon
            (intrinsic value) and those priced in another currency than the base one.
        error_bound: bound on |grid P&L - full revaluation P&L| for any scenario.
    """

    book: CompiledBook
    columns: np.ndarray
    all_columns: bool
    lo: np.ndarray
    hi: np.ndarray
    inv_step: np.ndarray
    lo_scaled: np.ndarray
    offsets: np.ndarray
    n_points: int
    values: np.ndarray
    slopes: np.ndarray
    group_ptr: np.ndarray
    group_idx: np.ndarray
    exact: np.ndarray
    error_bound: float
    # what a grid rebuilt for new prices reuses (``build_option_grid(previous=)``): each
    # table's part of error_bound (their sum), the gridded options, the table of each column,
    # the grid steps and the range asked for
    table_bounds: np.ndarray | None = None
    gridded: np.ndarray | None = None
    table_of: np.ndarray | None = None
    step: np.ndarray | None = None
    lo_range: np.ndarray | None = None
    hi_range: np.ndarray | None = None

    @property
    def n_tables(self) -> int:
        return int(self.columns.size)

    def pnl(
        self,
        returns: np.ndarray,
        linear_exposure: np.ndarray | None = None,
        located: GridLocation | None = None,
    ) -> np.ndarray:
        """Total option P&L per scenario, plus the linear positions' P&L when
        ``linear_exposure`` is given.

        Args:
            returns: shape (n_scenarios, n_columns), any float dtype (single-precision
                scenarios are widened to double chunk by chunk, in cache).
            linear_exposure: optional shape (n_columns,), the book's linear exposures; when
                given, ``returns @ linear_exposure`` and the exact cross terms r_S r_X of the
                book's foreign linear positions (``CompiledBook.cross_pnl``) are added.
            located: optional ``GridCoordinates.locate(returns)`` on coordinates that match
                this grid (``GridCoordinates.matches``): the nodes and fractions are read from
                it instead of computed, with the same result (for scenarios shared by many
                books, located once).

        Returns:
            shape (n_scenarios,), double precision.
        """
        total = self.book.option_pnl_exact(returns, self.exact)
        cross = linear_exposure is not None and self.book.has_cross_terms
        if located is not None:
            if located.n_rows != returns.shape[0]:
                raise ValueError(f"located {located.n_rows} rows for {returns.shape[0]} returns")
            work = np.empty((2, min(_CHUNK_ROWS, returns.shape[0]), self.columns.size))
        # Rows in chunks that stay in cache; each chunk makes ~12 passes over its elements
        # (5 when located).
        for start in range(0, returns.shape[0], _CHUNK_ROWS):
            r = returns[start : start + _CHUNK_ROWS].astype(np.float64, copy=False)
            out = total[start : start + _CHUNK_ROWS]
            if linear_exposure is not None:
                out += r @ linear_exposure
            if cross:
                out += self.book.cross_pnl(r)
            if self.columns.size == 0:
                continue
            if located is not None:
                out += self._interpolate_located(located, start, work)
                continue
            r = r if self.all_columns else r[:, self.columns]
            out += self._interpolate(r)
            self._fix_outside(r, out)
        if located is not None and self.columns.size:
            # Exact values beyond the grid, added to each row after its interpolation as in
            # the chunks above (nothing else touches a row afterwards): the same sums.
            self._fix_located(located, total)
        return total

    def _interpolate(self, r: np.ndarray) -> np.ndarray:
        """Linear interpolation in every table; returns beyond the grid are clamped to its
        ends here and corrected by ``_fix_outside``.

        Args:
            r: shape (n_rows, n_tables).
        """
        x = r * self.inv_step
        x -= self.lo_scaled
        np.clip(x, 0.0, self.n_points - 1, out=x)
        i = x.astype(np.intp)
        x -= i
        i += self.offsets
        val = self.values.take(i)
        slope = self.slopes.take(i)
        slope *= x
        val += slope
        return val.sum(axis=1)

    def _fix_outside(self, r: np.ndarray, out: np.ndarray) -> None:
        """Replace the clamped values of out-of-grid returns by exact revaluation.

        Args:
            r: shape (n_rows, n_tables); out: shape (n_rows,), updated in place.
        """
        cols = np.nonzero((r.min(axis=0) < self.lo) | (r.max(axis=0) > self.hi))[0]
        if cols.size == 0:
            return
        sub = r[:, cols]
        low = sub < self.lo[cols]
        rows, k = np.nonzero(low | (sub > self.hi[cols]))
        self._correct(rows, cols[k], sub[rows, k], low[rows, k], out)

    def _correct(self, rows, table, ret, low, out: np.ndarray) -> None:
        """Exact revaluation of the (row, table) pairs outside the grid, in row-major order:
        ``ret`` their returns, ``low`` whether below the grid; ``out`` updated in place."""
        end = np.where(low, 0, self.n_points - 1)
        clamped = self.values[table * self.n_points + end]
        # Expand each (row, table) pair to the options of that table.
        counts = self.group_ptr[table + 1] - self.group_ptr[table]
        pair = np.repeat(np.arange(rows.size), counts)
        start = np.repeat(self.group_ptr[table] - (np.cumsum(counts) - counts), counts)
        opt = self.group_idx[start + np.arange(pair.size)]
        o = self.book.options
        s = self.book.spot[o.column[opt]] * (1.0 + ret[pair])
        v = o.at_horizon.take(opt).price(s)
        exact = np.bincount(pair, (v - o.value_now[opt]) * o.units[opt], minlength=rows.size)
        np.add.at(out, rows, exact - clamped)

    @cached_property
    def _by_column(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, slopes, table of each column): the tables laid out by column (column c's
        nodes at c * n_points, zeros for columns without a table), to read located nodes."""
        if self.all_columns:
            return self.values, self.slopes, np.arange(self.book.n_columns, dtype=np.intp)
        n = self.n_points
        at = (self.columns[:, None] * n + np.arange(n)).ravel()
        values = np.zeros(self.book.n_columns * n)
        slopes = np.zeros_like(values)
        values[at] = self.values
        slopes[at] = self.slopes
        table_of = np.full(self.book.n_columns, -1, dtype=np.intp)
        table_of[self.columns] = np.arange(self.columns.size)
        return values, slopes, table_of

    def _interpolate_located(self, located: GridLocation, start: int, work) -> np.ndarray:
        """``_interpolate`` of rows [start, start + _CHUNK_ROWS) from their located nodes;
        ``work``: two scratch arrays of at least that many rows, one column per table."""
        values, slopes, _ = self._by_column
        node = located.node[start : start + _CHUNK_ROWS]
        frac = located.frac[start : start + _CHUNK_ROWS]
        if not self.all_columns:
            node = node[:, self.columns]
            frac = frac[:, self.columns]
        val = work[0][: node.shape[0]]
        slope = work[1][: node.shape[0]]
        values.take(node, out=val, mode="clip")  # located nodes are in range
        slopes.take(node, out=slope, mode="clip")
        slope *= frac
        val += slope
        return val.sum(axis=1)

    def _fix_located(self, located: GridLocation, out: np.ndarray) -> None:
        """``_fix_outside`` of every row from the located returns outside the grid: the same
        pairs in the same order, those of columns without a table on the grid left out."""
        if located.outside_row.size == 0:
            return
        table = self._by_column[2][located.outside_column]
        keep = table >= 0
        keep[keep] = np.isfinite(self.lo[table[keep]])
        if not keep.any():
            return
        self._correct(
            located.outside_row[keep],
            table[keep],
            located.outside_return[keep],
            located.outside_low[keep],
            out,
        )


@dataclass(frozen=True)
class GridLocation:
    """Where every return of a block of scenarios falls on the grid of its column.

    A column's grid depends only on its range of returns (the model's), not on the book:
    scenarios shared by many books are located once, and each book then reads its own tables
    at these nodes (``OptionGrid.pnl(..., located=...)``), with the same numbers as locating
    them anew.

    Attributes:
        node: shape (n_rows, n_columns), column * n_points + the node at or below the return
            (returns beyond the grid clamped to its first or last node).
        frac: shape (n_rows, n_columns), the return's distance above that node in steps.
        outside_row, outside_column, outside_return, outside_low: shape (n_outside,), the
            returns outside their column's grid, in row-major order: row, column, return
            (double precision) and whether below the grid.
    """

    node: np.ndarray
    frac: np.ndarray
    outside_row: np.ndarray
    outside_column: np.ndarray
    outside_return: np.ndarray
    outside_low: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.node.shape[0])


@dataclass(frozen=True)
class GridCoordinates:
    """The grids of every scenario column as ``build_option_grid`` lays them on the columns
    that carry options: ``n_points`` equally spaced returns from ``lo`` to ``hi``.

    Attributes:
        lo, hi: shape (n_columns,), the range of each column (hi at least lo + 1e-12).
        inv_step, lo_scaled: shape (n_columns,), 1 / step and lo / step.
        n_points: nodes per column.
    """

    lo: np.ndarray
    hi: np.ndarray
    inv_step: np.ndarray
    lo_scaled: np.ndarray
    n_points: int

    @classmethod
    def of(cls, lo, hi, n_points: int = DEFAULT_POINTS) -> GridCoordinates:
        """The coordinates of the ranges ``lo``, ``hi`` (shape (n_columns,) each)."""
        glo = np.array(lo, dtype=float)
        ghi = np.maximum(np.asarray(hi, float), glo + 1e-12)
        step = (ghi - glo) / (n_points - 1)
        inv_step = 1.0 / step
        return cls(glo, ghi, inv_step, glo * inv_step, int(n_points))

    @property
    def n_columns(self) -> int:
        return int(self.lo.size)

    @property
    def row_bytes(self) -> int:
        """Bytes of one located row (nodes and fractions)."""
        return self.n_columns * (np.dtype(np.intp).itemsize + 8)

    def matches(self, grid: OptionGrid) -> bool:
        """Whether every table of ``grid`` with options on the grid lies on these
        coordinates (the same range, step and nodes)."""
        on = np.isfinite(grid.lo)
        cols = grid.columns[on]
        return (
            grid.n_points == self.n_points
            and grid.book.n_columns == self.n_columns
            and np.array_equal(grid.lo[on], self.lo[cols])
            and np.array_equal(grid.hi[on], self.hi[cols])
            and np.array_equal(grid.inv_step[on], self.inv_step[cols])
            and np.array_equal(grid.lo_scaled[on], self.lo_scaled[cols])
        )

    def locate(self, returns: np.ndarray) -> GridLocation:
        """The nodes and fractions of ``returns`` (shape (n_rows, n_columns), any float
        dtype), computed as ``OptionGrid._interpolate`` and ``_fix_outside`` compute them."""
        n, n_columns = returns.shape
        node = np.empty((n, n_columns), dtype=np.intp)
        frac = np.empty((n, n_columns))
        offsets = np.arange(n_columns, dtype=np.intp) * self.n_points
        rows, cols, rets, lows = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)], [], []
        for start in range(0, n, _CHUNK_ROWS):
            r = returns[start : start + _CHUNK_ROWS].astype(np.float64, copy=False)
            x = r * self.inv_step
            x -= self.lo_scaled
            np.clip(x, 0.0, self.n_points - 1, out=x)
            i = x.astype(np.intp)
            x -= i
            i += offsets
            node[start : start + _CHUNK_ROWS] = i
            frac[start : start + _CHUNK_ROWS] = x
            low = r < self.lo
            row, col = np.nonzero(low | (r > self.hi))
            rows.append(row + start)
            cols.append(col)
            rets.append(r[row, col])
            lows.append(low[row, col])
        return GridLocation(
            node,
            frac,
            np.concatenate(rows).astype(np.intp),
            np.concatenate(cols).astype(np.intp),
            np.concatenate(rets or [np.zeros(0)]),
            np.concatenate(lows or [np.zeros(0, bool)]),
        )


class GridLocations:
    """The ``GridLocation`` of each block of a scenario set, located when first asked for and
    kept for the next books (each worker thread fills its own block's slot).

    Attributes:
        coordinates: the grids.
        nbytes: the memory of every block located (the few returns outside the grid aside).
    """

    def __init__(self, coordinates: GridCoordinates, n_blocks: int, n_rows: int):
        self.coordinates = coordinates
        self.nbytes = n_rows * coordinates.row_bytes
        self._blocks: list[GridLocation | None] = [None] * n_blocks

    def block(self, i: int, returns: np.ndarray) -> GridLocation | None:
        """The location of block ``i``, whose returns are ``returns`` (None in a copy sent to
        another process: the grid then locates the returns itself, with the same numbers)."""
        if self._blocks is None:
            return None
        located = self._blocks[i]
        if located is None:
            located = self.coordinates.locate(returns)
            self._blocks[i] = located
        return located

    def __getstate__(self) -> dict:
        """Pickled (sent to a Dask worker) without the located blocks (80 MB for 10,000 paths
        of 500 factors): a worker revalues without them."""
        return {"coordinates": self.coordinates, "nbytes": self.nbytes, "_blocks": None}


def build_option_grid(
    book: CompiledBook,
    lo: np.ndarray,
    hi: np.ndarray,
    n_points: int = DEFAULT_POINTS,
    previous: OptionGrid | None = None,
) -> OptionGrid:
    """Price the book's options on a grid of returns per underlying column.

    Options that expire inside the horizon are worth their intrinsic value in every scenario,
    which is cheaper to compute exactly than to interpolate (and has a kink); options priced in
    another currency than the base one depend on their FX factor as well. Both stay out of the
    grid and are valued exactly on every path.

    Args:
        lo, hi: shape (n_columns,), the grid range of returns per scenario column (only the
            columns carrying options are used).
        n_points: nodes per underlying (>= 2).
        previous: the grid of the same book version on the same range at other prices (a
            book compiled from the same ``layout``, e.g. on the previous market snapshot):
            only the tables of the underlyings whose price moved are priced again; the others
            are the same numbers, so the grid is the one a full build gives, bit for bit.
    """
    if previous is not None:
        grid = _rebuilt(previous, book, lo, hi, n_points)
        if grid is not None:
            return grid
    o = book.options
    on_grid = (o.t_horizon > 0) & (o.fx_column < 0)
    gridded = np.nonzero(on_grid)[0]
    exact = np.nonzero(~on_grid)[0]
    used = np.unique(o.column[gridded])
    all_columns = used.size >= _ALL_COLUMNS_SHARE * book.n_columns and used.size > 0
    cols = np.arange(book.n_columns) if all_columns else used
    n_tables = cols.size
    table_of = np.full(book.n_columns, -1)
    table_of[cols] = np.arange(n_tables)
    # Columns without options (all_columns mode) get an infinite range and a zero table.
    glo = np.full(n_tables, -np.inf)
    ghi = np.full(n_tables, np.inf)
    inv_step = np.zeros(n_tables)
    step = np.zeros(n_tables)
    t_used = table_of[used]
    glo[t_used] = np.asarray(lo, float)[used]
    ghi[t_used] = np.maximum(np.asarray(hi, float)[used], glo[t_used] + 1e-12)
    step[t_used] = (ghi[t_used] - glo[t_used]) / (n_points - 1)
    inv_step[t_used] = 1.0 / step[t_used]
    lo_scaled = np.zeros(n_tables)
    lo_scaled[t_used] = glo[t_used] * inv_step[t_used]
    # Options grouped by table (CSR).
    table = table_of[o.column[gridded]]
    order = np.argsort(table, kind="stable")
    group_idx = gridded[order]
    group_ptr = np.zeros(n_tables + 1, dtype=np.intp)
    np.cumsum(np.bincount(table, minlength=n_tables), out=group_ptr[1:])
    values = np.zeros((n_tables, n_points))
    table_bounds = np.zeros(n_tables)
    if gridded.size:
        _price_tables(book, gridded, table, glo, step, n_points, values, table_bounds)
    bound = float(np.sum(table_bounds))
    slopes = np.zeros_like(values)
    slopes[:, :-1] = np.diff(values, axis=1)
    return OptionGrid(
        book=book,
        columns=cols,
        all_columns=bool(all_columns),
        lo=glo,
        hi=ghi,
        inv_step=inv_step,
        lo_scaled=lo_scaled,
        offsets=np.arange(n_tables, dtype=np.intp) * n_points,
        n_points=n_points,
        values=values.ravel(),
        slopes=slopes.ravel(),
        group_ptr=group_ptr,
        group_idx=group_idx,
        exact=exact,
        error_bound=bound,
        table_bounds=table_bounds,
        gridded=gridded,
        table_of=table_of,
        step=step,
        lo_range=np.array(lo, dtype=float),
        hi_range=np.array(hi, dtype=float),
    )


def _price_tables(book, options, table, glo, step, n_points, values, table_bounds) -> None:
    """Price ``options`` (indices into ``book.options``, each on table ``table``) on their
    tables' nodes: add their P&L into ``values`` (rows of those tables, zero before) and set
    those tables' error bounds in ``table_bounds``. Every option of a table must be in
    ``options``, in book order."""
    o = book.options
    x = glo[table, None] + step[table, None] * np.arange(n_points)  # (n_options, n_points)
    s0 = book.spot[o.column[options]][:, None]
    g = options[:, None]
    price, delta = o.at_horizon.take(options).reshape(-1, 1).price_delta(s0 * (1.0 + x))
    np.add.at(values, table, (price - o.value_now[g]) * o.units[g])
    # Each option's value is convex in x, so on an interval [a, b] its interpolation error
    # is at most (b - a)/4 * (f'(b) - f'(a)), with f' = units * delta * S_now.
    delta_rise = np.abs(o.units[g]) * s0 * np.diff(delta, axis=1)
    per_interval = np.zeros((values.shape[0], n_points - 1))
    np.add.at(per_interval, table, np.abs(delta_rise))
    priced = np.unique(table)
    table_bounds[priced] = step[priced] / 4.0 * per_interval[priced].max(axis=1)


def _rebuilt(
    previous: OptionGrid, book: CompiledBook, lo: np.ndarray, hi: np.ndarray, n_points: int
) -> OptionGrid | None:
    """``previous`` with the tables of the underlyings whose price moved priced again for
    ``book``; None when ``previous`` is not a grid of the same options on the same range."""
    old = previous.book
    if (
        book.layout is None
        or old.layout is not book.layout
        or previous.n_points != n_points
        or previous.table_bounds is None
        or previous.gridded is None
        or previous.table_of is None
        or previous.step is None
        or previous.lo_range is None
        or previous.hi_range is None
        or old.option_ids != book.option_ids
        or not np.array_equal(previous.lo_range, lo)
        or not np.array_equal(previous.hi_range, hi)
    ):
        return None
    o = book.options
    moved_column = old.spot != book.spot
    moved = np.nonzero(moved_column[o.column[previous.gridded]])[0]
    values = previous.values.reshape(-1, n_points).copy()
    slopes = previous.slopes.reshape(-1, n_points).copy()
    table_bounds = previous.table_bounds.copy()
    if moved.size:
        options = previous.gridded[moved]
        table = previous.table_of[o.column[options]]
        tables = np.unique(table)
        values[tables] = 0.0
        _price_tables(
            book, options, table, previous.lo, previous.step, n_points, values, table_bounds
        )
        slopes[tables, :-1] = np.diff(values[tables], axis=1)
    return replace(
        previous,
        book=book,
        values=values.ravel(),
        slopes=slopes.ravel(),
        error_bound=float(np.sum(table_bounds)),
        table_bounds=table_bounds,
    )
