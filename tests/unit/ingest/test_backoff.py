"""Reconnect and retry delays stay bounded however long an outage lasts."""

from __future__ import annotations

from riskengine.ingest.service import IngestConfig, IngestService


def test_backoff_is_capped_after_any_number_of_failures():
    cfg = IngestConfig(feed="ws://127.0.0.1:1", venue="riskengine", symbols=("A",),
                       backoff_initial=0.2, backoff_max=15.0)  # fmt: skip
    service = IngestService(store=None, config=cfg, seed=3)
    delays = [service._backoff(a) for a in (0, 1, 2, 10, 1_100, 10**6)]
    assert 0.1 <= delays[0] <= 0.2 and 0.2 <= delays[1] <= 0.4  # doubling, "equal" jitter
    assert all(7.5 <= d <= 15.0 for d in delays[3:])  # capped, never an overflow
