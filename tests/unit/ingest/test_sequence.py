"""Trade-id bookkeeping against an oracle: a shuffled, repeated, incomplete stream."""

from __future__ import annotations

import random

from riskengine.ingest.sequence import DUPLICATE, LATE, NEW, TradeSequencer


def test_in_order_stream_is_all_new():
    seq = TradeSequencer()
    assert [seq.classify("A", i, 0.0) for i in range(1, 6)] == [NEW] * 5
    assert seq.due_gaps(100.0) == []


def test_shuffled_stream_with_repeats_and_holes_matches_the_oracle():
    rng = random.Random(7)
    for trial in range(50):
        ids = list(range(1, 301))
        lost = set(rng.sample(ids[1:-1], rng.randint(0, 20)))  # never delivered
        sent = [i for i in ids if i not in lost]
        sent += rng.sample(sent, rng.randint(0, 40))  # repeats
        # local disorder: swap neighbours, as a reordering feed does
        for k in range(len(sent) - 1):
            if rng.random() < 0.2:
                sent[k], sent[k + 1] = sent[k + 1], sent[k]
        seq = TradeSequencer(grace=0.0)
        verdicts = [seq.classify("X", i, 0.0) for i in sent]
        accepted = [i for i, v in zip(sent, verdicts, strict=True) if v != DUPLICATE]
        first = sent[0]
        # each id at or above the first one seen is accepted exactly once; older ones are
        # passed on whenever they come (the store's key decides)
        assert sorted(i for i in accepted if i >= first) == sorted(
            i for i in set(sent) if i >= first
        )
        assert set(accepted) == set(sent), trial
        # every id above the first one seen that never arrived is reported as missing
        expected_missing = {i for i in lost if i > first} | {
            i for i in range(first + 1, 301) if i not in set(sent)
        }
        gaps = seq.due_gaps(1.0)
        reported = {i for g in gaps for i in range(g.first, g.last + 1)}
        assert reported == expected_missing, trial
        assert sum(g.count for g in gaps) == len(expected_missing)
        assert seq.due_gaps(2.0) == []  # each reported once


def test_late_arrival_within_grace_is_not_a_gap():
    seq = TradeSequencer(grace=1.0)
    for i in (1, 2, 4, 5):
        seq.classify("A", i, 0.0)
    assert seq.classify("A", 3, 0.5) == LATE
    assert seq.due_gaps(5.0) == []


def test_heartbeat_last_trade_id_reveals_trades_never_sent():
    seq = TradeSequencer(grace=0.0)
    seq.classify("A", 10, 0.0)
    seq.expect("A", 14, 0.0)
    gaps = seq.due_gaps(0.0)
    assert [(g.symbol, g.first, g.last, g.count) for g in gaps] == [("A", 11, 14, 4)]


def test_resume_points_restart_below_the_first_missing_id():
    seq = TradeSequencer()
    for i in (1, 2, 3, 7, 8):
        seq.classify("A", i, 0.0)
    seq.classify("B", 5, 0.0)
    assert seq.resume_points() == {"A": 3, "B": 5}
    for i in (4, 5, 6):
        seq.classify("A", i, 0.0)
    assert seq.resume_points() == {"A": 8, "B": 5}
    assert seq.open_missing() == 0


def test_resume_gives_up_ranges_missing_longer_than_the_horizon():
    seq = TradeSequencer()
    seq.classify("A", 1, 0.0)
    seq.classify("A", 5, 0.0)  # 2..4 missing since t=0
    seq.classify("A", 9, 100.0)  # 6..8 missing since t=100
    assert seq.resume_points(50.0, 300.0) == {"A": 1}
    assert seq.resume_points(350.0, 300.0) == {"A": 5}  # 2..4 given up, 6..8 still asked for
    assert seq.resume_points(500.0, 300.0) == {"A": 9}
