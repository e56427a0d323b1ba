"""Per-position P&L on scenario rows: ``CompiledBook.position_pnl`` without its per-position
column assembly (a dict and 5,000 column copies per call), which dominated the cost of
streaming every scenario.

The one difference: the FX cross term of a position converted at an FX factor,
r_S (1 + r_X) (+ r_X), is computed in double precision. ``position_pnl`` multiplies Monte Carlo
returns (single precision) in single precision there, so its positions add up to
``CompiledBook.pnl`` (the method's P&L, double precision) only to ~1e-7; here they add up to it to
rounding, which the exact sums of the components rely on. Tests check both properties."""

from __future__ import annotations

import numpy as np

from riskengine.pricing.book import CompiledBook


class PositionPnl:
    """``position_pnl(returns)`` -> shape (rows, n_positions), in ``book.position_ids`` order."""

    def __init__(self, book: CompiledBook):
        self.book = book
        position_of = {pid: i for i, pid in enumerate(book.position_ids)}
        self.linear_at = np.array([position_of[i] for i in book.linear_ids], dtype=np.intp)
        self.option_at = np.array([position_of[i] for i in book.option_ids], dtype=np.intp)
        # a run of consecutive positions is written as a slice (books usually list their
        # stocks, then their options)
        self._linear_to = _as_slice(self.linear_at)
        self._option_to = _as_slice(self.option_at)
        self.foreign = np.nonzero(book.linear_fx_column >= 0)[0]
        o = book.options
        self.option_fx = np.nonzero(o.fx_column >= 0)[0] if len(o) else np.zeros(0, np.intp)

    @property
    def n_positions(self) -> int:
        return self.book.n_positions

    def __call__(self, returns: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Shape (rows, n_positions), written into ``out`` when given."""
        b = self.book
        if out is None:
            out = np.empty((returns.shape[0], b.n_positions))
        r_s = returns[:, b.linear_column]
        if isinstance(self._linear_to, slice):  # straight into the output
            lin = np.multiply(r_s, b.linear_units_value, out=out[:, self._linear_to])
        else:
            lin = r_s * b.linear_units_value
        f = self.foreign
        if f.size:
            r_x = returns[:, b.linear_fx_column[f]].astype(np.float64)
            spot_like = ~b.linear_is_future[f]
            r_own = r_s[:, f].astype(np.float64)
            lin[:, f] = b.linear_units_value[f] * (r_own * (1.0 + r_x) + spot_like * r_x)
        if not isinstance(self._linear_to, slice):
            out[:, self._linear_to] = lin
        o = b.options
        if len(o):
            s0 = b.spot[o.column]
            values = b.option_values(s0 * (1.0 + returns[:, o.column].astype(np.float64)))
            if self.option_fx.size:
                growth = np.ones((returns.shape[0], len(o)))
                fx = self.option_fx
                growth[:, fx] += returns[:, o.fx_column[fx]]
                values *= growth
            out[:, self._option_to] = (values - o.value_now) * o.units_base
        return out


def _as_slice(index: np.ndarray):
    """``index`` as a slice when it is a run of consecutive integers, else itself."""
    if index.size and np.array_equal(index, np.arange(index[0], index[0] + index.size)):
        return slice(int(index[0]), int(index[0]) + index.size)
    return index
