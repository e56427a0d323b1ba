"""The liquidity-adjusted ES of MAR33.4: ES at the base horizon, cascaded over the liquidity
horizons."""

from __future__ import annotations

import numpy as np

from riskengine.frtb.mapping import LIQUIDITY_HORIZONS

BASE_HORIZON_DAYS = 10  # T of MAR33.4
FRTB_CONFIDENCE = 0.975  # MAR33.2


def bucket_scales(base_horizon: int = BASE_HORIZON_DAYS) -> np.ndarray:
    """shape (5,): 1, then sqrt((LH_j - LH_{j-1}) / T) for j = 2..5."""
    lh = np.asarray(LIQUIDITY_HORIZONS, dtype=float)
    return np.concatenate([[1.0], np.sqrt(np.diff(lh) / base_horizon)])


def liquidity_adjusted_es(es_by_bucket, base_horizon: int = BASE_HORIZON_DAYS) -> np.ndarray:
    """MAR33.4: ES = sqrt(ES_T(P)^2 + sum_{j=2..5} (ES_T(P, j) sqrt((LH_j - LH_{j-1}) / T))^2).

    Args:
        es_by_bucket: shape (..., 5): ES_T(P, j) for j = 1..5, where ES_T(P, j) shocks only the
            factors with liquidity horizon >= LH_j (j = 1: every factor, ES_T(P)); 0 for a
            bucket that holds no factor.

    Returns:
        shape (...,): the liquidity-adjusted ES.
    """
    es = np.asarray(es_by_bucket, dtype=float)
    return np.sqrt(np.sum((es * bucket_scales(base_horizon)) ** 2, axis=-1))


def bucket_masks(horizons) -> np.ndarray:
    """shape (5, n_factors): row j marks the factors with liquidity horizon >= LH_{j+1}."""
    lh = np.asarray(horizons, dtype=int)
    return lh[None, :] >= np.asarray(LIQUIDITY_HORIZONS)[:, None]
