"""The missing closes of a window, read from per-history cumulative counts, equal a scan of the
window (the snapshot excludes a factor with a gap in its window by them)."""

from __future__ import annotations

import numpy as np

from riskengine import FactorHistory


def test_missing_in_equals_a_scan_of_the_window():
    rng = np.random.default_rng(5)
    prices = rng.uniform(10, 20, (300, 7))
    prices[rng.random(prices.shape) < 0.05] = np.nan
    prices[:40, 2] = np.nan  # listed late
    h = FactorHistory(np.datetime64("2020-01-01") + np.arange(300), tuple("ABCDEFG"), prices)
    assert not h.complete
    for _ in range(200):
        a, b = sorted(rng.integers(0, 300, 2))
        want = np.sum(~np.isfinite(prices[a : b + 1]), axis=0)
        np.testing.assert_array_equal(h.missing_in(a, b), want)
    full = FactorHistory(h.dates, h.symbols, np.nan_to_num(prices, nan=1.0))
    assert full.complete and not full.missing_in(0, 299).any()
