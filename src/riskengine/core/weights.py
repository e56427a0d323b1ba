"""Observation weights of a window (layer 0): the EWMA weights shared by the covariance
estimators and the factor model."""

from __future__ import annotations

import numpy as np


def ewma_weights(n_obs: int, ewma_lambda: float) -> np.ndarray:
    """EWMA weights of a finite window, oldest first, summing to 1.

    Returns:
        shape (n_obs,): ``w_k = (1 - lambda) lambda^(N-k) / (1 - lambda^N)`` for k = 1..N.
    """
    lam = float(ewma_lambda)
    if not 0.0 < lam < 1.0:
        raise ValueError(f"ewma_lambda must be in (0, 1); got {ewma_lambda!r}")
    ages = np.arange(n_obs - 1, -1, -1, dtype=float)  # N-k: 0 for the most recent
    w = (1.0 - lam) * lam**ages
    return w / w.sum()  # = divide by 1 - lambda^N, without cancellation for lambda near 1
