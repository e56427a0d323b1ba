"""Euler allocation of scenario VaR and ES (historical simulation, Monte Carlo).

With L = -pnl the book's scenario losses and w the scenario probabilities (1/n each, or the
method's weights):

* **Component ES** uses exactly the weights of the ES estimator (``core.measures``):
  ES = sum_s theta_s L_s / (1 - c), where theta_s = w_s beyond the VaR and the scenarios tied at
  the VaR share the fractional weight P(L <= VaR) - c in proportion to their w_s. Then
  component_ES_i = sum_s theta_s L_i,s / (1 - c), with L_i,s position i's loss: the components
  add up to ES exactly (it is the same sum, split by position).
* **Component VaR** is the kernel estimate of E[L_i | L = VaR] (the Euler derivative of VaR
  for a continuous distribution): a Nadaraya-Watson average of the position losses with weights
  w_s K((L_s - VaR) / h), K the Gaussian kernel truncated at ``KERNEL_CUTOFF`` bandwidths, and
  h by Silverman's rule of thumb on the book's losses, 0.9 min(sd, IQR / 1.349) n_eff^(-1/5)
  (weighted sd and quartiles; n_eff = 1 / sum w^2; the sd alone when the IQR is 0; only the
  scenarios tied at VaR when h is 0). The averages m_i add up to the kernel average of L, close
  to but not exactly VaR: they are scaled by VaR / sum(m) so that the components add up to VaR
  exactly. When that ratio is outside [1/2, 2] (a VaR near zero), VaR - sum(m) is instead added
  to the m_i in proportion to |m_i|.

Only the scenarios with a non-zero weight (the tail, the kernel window) are revalued position by
position, ``CHUNK_ELEMENTS`` position-scenario values at a time. When the method's P&L is not
the full revaluation (the Monte Carlo option grid), each such scenario's difference between the
book's P&L and the sum of its positions' (at most the grid's error bound) is allocated to the
options in proportion to their absolute P&L in that scenario, so that the sums stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskengine.core.measures import var_index
from riskengine.decomposition.revalue import PositionPnl
from riskengine.revaluation import PnL

KERNEL_CUTOFF = 4.0  # bandwidths either side of the VaR
CHUNK_ELEMENTS = 1 << 19  # scenario x position values revalued at a time (4 MiB)
_EPS = 1e-9  # as core.measures
_RESCALE_RANGE = (0.5, 2.0)


@dataclass(frozen=True)
class SortedLosses:
    """The book's losses in ascending order (stable, as ``core.measures.var_es``).

    Attributes:
        order: shape (n,), scenario index of each sorted loss.
        losses: shape (n,), ascending losses.
        cum_w: shape (n,), cumulative normalised weights in that order, or None (equal).
    """

    order: np.ndarray
    losses: np.ndarray
    cum_w: np.ndarray | None

    @classmethod
    def of(cls, pnl: np.ndarray, weights: np.ndarray | None) -> SortedLosses:
        losses = -np.asarray(pnl, dtype=float)
        order = np.argsort(losses, kind="stable")
        cum_w = None
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            cum_w = np.cumsum((w / w.sum())[order])
        return cls(order, losses[order], cum_w)

    @property
    def n(self) -> int:
        return self.losses.size

    def weights(self) -> np.ndarray:
        """Normalised weight of each sorted loss (as ``core.measures``: differences of cum_w)."""
        if self.cum_w is None:
            return np.full(self.n, 1.0 / self.n)
        return np.diff(self.cum_w, prepend=0.0)

    def var(self, c: float) -> tuple[float, int, int]:
        """(VaR, first, end): the VaR and the sorted positions [first, end) tied with it."""
        if self.cum_w is None:
            k = var_index(self.n, c)
        else:
            k = min(int(np.searchsorted(self.cum_w, c - _EPS, side="left")), self.n - 1)
        v = self.losses[k]
        first = int(np.searchsorted(self.losses, v, side="left"))
        end = int(np.searchsorted(self.losses, v, side="right"))
        return float(v), first, end

    def quantile(self, p: float) -> float:
        """Lower p-quantile (inverted CDF) of the losses."""
        if self.cum_w is None:
            return float(self.losses[var_index(self.n, p)])
        k = min(int(np.searchsorted(self.cum_w, p - _EPS, side="left")), self.n - 1)
        return float(self.losses[k])


def es_weights(sl: SortedLosses, c: float) -> tuple[np.ndarray, np.ndarray]:
    """(scenarios, theta) with ES = sum(theta * L[scenarios]) / (1 - c): the tail beyond the
    VaR with its weights, and the scenarios tied at the VaR sharing P(L <= VaR) - c."""
    var, first, end = sl.var(c)
    w = sl.weights()
    p_le = (end / sl.n) if sl.cum_w is None else float(sl.cum_w[end - 1])
    tie_w = w[first:end]
    total = tie_w.sum()
    share = tie_w / total if total > 0 else np.full(end - first, 1.0 / (end - first))
    theta = np.concatenate([(p_le - c) * share, w[end:]])
    return sl.order[first:], theta


def silverman_bandwidth(sl: SortedLosses) -> float:
    """0.9 min(sd, IQR / 1.349) n_eff^(-1/5) of the losses (weighted when weighted)."""
    w = sl.weights()
    mean = float(w @ sl.losses)
    sd = float(np.sqrt(max(float(w @ (sl.losses - mean) ** 2), 0.0)))
    iqr = sl.quantile(0.75) - sl.quantile(0.25)
    spread = min(sd, iqr / 1.349) if iqr > 0 else sd
    n_eff = 1.0 / float(w @ w)
    return 0.9 * spread * n_eff**-0.2


def kernel_weights(sl: SortedLosses, c: float, bandwidth: float) -> tuple[np.ndarray, np.ndarray]:
    """(scenarios, kappa): Gaussian kernel weights around the VaR times the scenario weights,
    truncated at KERNEL_CUTOFF bandwidths (the scenarios tied at VaR when the bandwidth is 0)."""
    var, first, end = sl.var(c)
    w = sl.weights()
    if not (bandwidth > 0 and np.isfinite(bandwidth)):
        return sl.order[first:end], w[first:end].copy()
    lo = int(np.searchsorted(sl.losses, var - KERNEL_CUTOFF * bandwidth, side="left"))
    hi = int(np.searchsorted(sl.losses, var + KERNEL_CUTOFF * bandwidth, side="right"))
    u = (sl.losses[lo:hi] - var) / bandwidth
    return sl.order[lo:hi], w[lo:hi] * np.exp(-0.5 * u * u)


def position_sums(
    revalue: PositionPnl,
    pnl: PnL,
    index: np.ndarray,
    omega: np.ndarray,
    *,
    on_chunk=None,
    executor=None,
    chunk_elements: int = CHUNK_ELEMENTS,
) -> tuple[np.ndarray, list]:
    """sum_s omega[s, j] * pnl_i(s) over the scenarios ``index``: shape (n_columns, n_positions).

    Args:
        revalue: the book's per-position revaluation.
        pnl: the book's P&L on the scenario set (the method's revaluation): its scenarios are
            read again; when it is not exact (the option grid), each row's positions are
            reconciled to its total.
        index: shape (n_rows,), ascending scenario indices.
        omega: shape (n_rows, n_columns), a weight per scenario and column.
        on_chunk: optional ``f(index, position_pnl)`` evaluated on each chunk's full
            revaluation (before the reconciliation with a grid P&L); its results are returned.
        executor: optional ``LocalExecutor`` to revalue the chunks in parallel.

    Returns:
        (sums, [on_chunk results in chunk order]).
    """
    book = revalue.book
    n_pos = book.n_positions
    rows = max(1, chunk_elements // max(n_pos, 1))
    source = pnl.scenarios
    fix = None
    if not pnl.exact:
        fix = np.zeros(n_pos, dtype=bool)
        fix[revalue.option_at] = True
        if not fix.any():
            fix[:] = True

    def work(part):
        """One block's scenarios of ``index`` (each block read once), chunk by chunk."""
        at, block_number = part
        block = source.block(block_number)
        total, extras = np.zeros((omega.shape[1], n_pos)), []
        for start in range(0, at.size, rows):
            pos = at[start : start + rows]
            idx = index[pos]
            p = revalue(block[idx - block_number * source.block_size])
            extras.append(on_chunk(idx, p) if on_chunk is not None else None)
            if fix is not None:
                _reconcile(p, pnl.total[idx], fix)
            total += omega[pos].T @ p
        return total, extras

    parts = source.by_block(index)
    done = executor.map(work, parts) if executor is not None else [work(p) for p in parts]
    out = np.zeros((omega.shape[1], n_pos))
    for part, _ in done:  # merged in block order: the same sums whatever the executor
        out += part
    return out, [extra for _, extras in done for extra in extras]


def _reconcile(p: np.ndarray, total: np.ndarray, mask: np.ndarray) -> None:
    """Add each row's residual total - sum(p) to the columns ``mask`` in proportion to their
    absolute values (equally where they are all zero), in place."""
    residual = total - p.sum(axis=1)
    size = np.abs(p[:, mask])
    norm = size.sum(axis=1)
    share = np.where(
        norm[:, None] > 0, size / np.where(norm > 0, norm, 1.0)[:, None], 1.0 / mask.sum()
    )
    p[:, mask] += residual[:, None] * share


def scale_to(m: np.ndarray, target: float) -> tuple[np.ndarray, str]:
    """Components from conditional means ``m`` (shape (n_positions,)) that add up to
    ``target``: scaled when target / sum(m) is in [1/2, 2], else shifted in proportion to |m|."""
    total = float(m.sum())
    lo, hi = _RESCALE_RANGE
    if total != 0 and lo <= target / total <= hi:
        return m * (target / total), "scaled"
    size = np.abs(m)
    norm = size.sum()
    share = size / norm if norm > 0 else np.full(m.size, 1.0 / max(m.size, 1))
    return m + (target - total) * share, "shifted"
