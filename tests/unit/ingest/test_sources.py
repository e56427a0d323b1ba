"""The feed's trade sources: replay reproduces the history; simulation has its covariance."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from riskengine.errors import InputError
from riskengine.ingest.sources import TRADING_SECONDS, replay_ticks, simulated_ticks
from support import gaussian_history


def test_replay_is_the_daily_closes_with_consecutive_ids():
    h = gaussian_history(n_obs=40, k=3)
    ticks = list(replay_ticks(h, venue="kraken"))
    assert len(ticks) == 41 * 3
    for j, sym in enumerate(h.symbols):
        mine = [t for t in ticks if t.symbol == sym]
        assert [t.trade_id for t in mine] == list(range(1, 42))
        np.testing.assert_array_equal([t.price for t in mine], h.prices[:, j])
        assert [t.ts.date() for t in mine] == [h.date_at(i) for i in range(41)]
        assert all(t.ts.tzinfo is not None and t.venue == "kraken" for t in mine)
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)  # event-time order


def test_simulation_reproduces_the_daily_covariance():
    h = gaussian_history(n_obs=750, k=3, seed=3)
    start = dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=1)
    n_rounds = 60_000
    ticks = list(
        itertools.islice(
            simulated_ticks(h, seed=1, start=start, step=step, decimals=6), n_rounds * 3
        )
    )
    px = np.array([t.price for t in ticks]).reshape(n_rounds, 3)
    # one "day" is TRADING_SECONDS / (3 symbols * 1 s) rounds
    per_day = int(TRADING_SECONDS / 3)
    days = np.log(px[::per_day])
    sim_cov = np.cov(np.diff(days, axis=0), rowvar=False)
    logr = np.diff(np.log(h.prices[-501:]), axis=0)
    hist_cov = np.cov(logr, rowvar=False)
    # ~7 simulated days per draw is too few; compare on the intraday increments instead
    inc = np.diff(np.log(px), axis=0) * np.sqrt(per_day)
    np.testing.assert_allclose(np.cov(inc, rowvar=False), hist_cov, rtol=0.1, atol=2e-6)
    assert sim_cov.shape == (3, 3)
    ids = [t.trade_id for t in ticks if t.symbol == h.symbols[0]]
    assert ids == list(range(1, n_rounds + 1))
    assert ticks[0].ts == start and ticks[1].ts == start + step


def test_simulation_is_reproducible_and_needs_aware_start():
    h = gaussian_history(n_obs=100, k=2)
    start = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    a = list(itertools.islice(simulated_ticks(h, seed=5, start=start), 100))
    b = list(itertools.islice(simulated_ticks(h, seed=5, start=start), 100))
    assert a == b
    with pytest.raises(InputError, match="timezone-aware"):
        next(simulated_ticks(h, start=dt.datetime(2024, 1, 2)))
