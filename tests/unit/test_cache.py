"""The shared caches under concurrent requests: no KeyError when an entry is evicted between
lookup and use, and one builder per key (the other requests wait for its value)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from riskengine.cache import LruCache

WAIT = 30.0  # seconds: a bound on waiting for a condition, never a pause


class _Key:
    """A key that, on its ``pause_at``-th hash, lets the test run other threads before going
    on: the moment between the cache's membership test and its use of the entry."""

    def __init__(self, name: str, pause_at: int):
        self.name = name
        self.pause_at = pause_at
        self.hashes = 0
        self.paused = threading.Event()
        self.resume = threading.Event()

    def __hash__(self) -> int:
        self.hashes += 1
        if self.hashes == self.pause_at:
            self.paused.set()
            # the other thread evicts this key now, unless the cache makes it wait for us
            self.resume.wait(0.5)
        return hash(self.name)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Key) and other.name == self.name


def test_an_entry_evicted_between_lookup_and_use_is_no_key_error():
    """Reproduces the KeyError (a 500 in the API): a hit found by the membership test, the
    entry evicted by another request, then ``move_to_end`` on a missing key."""
    cache = LruCache(max_entries=1)
    key = _Key("a", pause_at=10**9)
    cache.get_or_create(key, lambda: "A")
    key.pause_at = key.hashes + 2  # the next lookup's second hash: after its membership test
    errors: list[BaseException] = []
    got: list = []

    def reader():
        try:
            got.append(cache.get_or_create(key, lambda: "A again"))
        except BaseException as exc:  # noqa: BLE001 - the failure under test
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    # paused after its lookup, or (a cache that hashes the key once, under its lock) done
    assert _until(lambda: key.paused.is_set() or not t.is_alive())
    evictor = threading.Thread(target=lambda: cache.get_or_create("b", lambda: "B"))
    evictor.start()
    evictor.join(0.2)  # finished when the cache lets eviction interleave (the bug)
    key.resume.set()
    t.join(WAIT)
    evictor.join(WAIT)
    assert not errors, errors
    assert got == ["A"]
    assert len(cache) == 1


def test_one_builder_per_key_the_others_wait_for_its_value():
    cache = LruCache(max_entries=4)
    started, release = threading.Event(), threading.Event()
    builds: list[str] = []

    def slow():
        builds.append("first")
        started.set()
        assert release.wait(WAIT)
        return "value"

    def second():
        builds.append("second")
        return "other"

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(cache.get_or_create, "k", slow)
        assert started.wait(WAIT)
        others = [pool.submit(cache.get_or_create, "k", second) for _ in range(3)]
        # each waits on the builder (or, in the old cache, has built its own value)
        assert _until(lambda: cache.waiting("k") == 3 or len(builds) == 4)
        release.set()
        results = [first.result(WAIT), *(f.result(WAIT) for f in others)]
    assert builds == ["first"]
    assert results == ["value"] * 4
    assert (cache.misses, cache.hits) == (1, 3)


def test_a_failed_build_is_raised_to_the_waiters_and_not_kept():
    cache = LruCache(max_entries=4)
    started, release = threading.Event(), threading.Event()

    def failing():
        started.set()
        assert release.wait(WAIT)
        raise ValueError("no prices")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get_or_create, "k", failing)
        assert started.wait(WAIT)
        waiter = pool.submit(cache.get_or_create, "k", lambda: "never")
        assert _until(lambda: cache.waiting("k") == 1)
        release.set()
        for f in (first, waiter):
            with pytest.raises(ValueError, match="no prices"):
                f.result(WAIT)
    assert len(cache) == 0
    assert cache.get_or_create("k", lambda: "built again") == "built again"


def test_many_threads_on_a_small_cache_agree_with_the_builders():
    """An invariant under contention: every answer is the value built for its key, at most
    one build per key is in flight, and the byte budget holds."""
    cache = LruCache(max_entries=3, max_bytes=10)
    in_flight: dict[int, int] = {}
    lock = threading.Lock()
    overlap: list[int] = []

    def build(k: int):
        with lock:
            in_flight[k] = in_flight.get(k, 0) + 1
            if in_flight[k] > 1:
                overlap.append(k)
        with lock:
            in_flight[k] -= 1
        return ("v", k)

    def work(i: int):
        k = (i * 7) % 11
        return k, cache.get_or_create(k, lambda: build(k), size=lambda v: 3)

    with ThreadPoolExecutor(8) as pool:
        for k, value in pool.map(work, range(5_000)):
            assert value == ("v", k)
    assert not overlap
    assert len(cache) <= 3 and cache.nbytes <= 10


def _until(condition, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)  # polling a condition, bounded by the deadline
    return condition()


def test_scenario_keys_follow_the_model_parts():
    """Cache keys come from the model's parts: a field the scenarios do not depend on (df of a
    normal model, the EWMA decay of a sample covariance, the decay of unweighted historical
    scenarios) shares the cached set; one they depend on (the seed, df of a Student-t) does
    not, and its numbers differ."""
    from riskengine import RiskCache, RiskSpec, compute_risk
    from support import gaussian_history, stock_book

    history = gaussian_history(n_obs=600)
    book = stock_book({"S0": 100.0, "S1": -50.0, "S2": 80.0})
    cache = RiskCache()

    def run(**fields):
        return compute_risk(book, history, RiskSpec(window=500, **fields), cache=cache)

    mc = {"method": "montecarlo", "n_scenarios": 2_000, "seed": 3}
    base = run(**mc)
    assert len(cache.scenarios) == 1
    same = run(**mc, df=9.0, ewma_lambda=0.9)  # unused by a normal model on a sample covariance
    assert len(cache.scenarios) == 1
    assert same.measures == base.measures
    other = run(**{**mc, "seed": 4})
    assert len(cache.scenarios) == 2 and other.measures != base.measures
    t5 = run(**mc, distribution="student-t", df=5.0)
    t9 = run(**mc, distribution="student-t", df=9.0)
    assert len(cache.scenarios) == 4 and t5.measures != t9.measures
    run(method="historical")
    run(method="historical", decay=0.5)  # decay weighs "age" scenarios only
    assert len(cache.scenarios) == 5


def test_compiled_books_are_kept_by_everything_they_read():
    """A book recomputed on the same snapshot is compiled once; another book, other live
    prices, another horizon or base currency compile anew, and their numbers follow: a linear
    book at prices 10% higher has 1.1 times the parametric VaR, twice the book twice the VaR."""
    import datetime as dt

    from riskengine import MarketState, RiskCache, compute_risk
    from support import gaussian_history, stock_book

    history = gaussian_history(n_obs=600)
    book = stock_book({"S0": 100.0, "S1": -50.0, "S2": 80.0})
    cache = RiskCache()

    def var(b, **kw):
        rep = compute_risk(b, history, method="parametric", window=500, cache=cache, **kw)
        return rep.measures[0].value_at_risk

    base = var(book)
    assert len(cache.books) == 1 and var(book) == base and len(cache.books) == 1
    again = stock_book({"S0": 100.0, "S1": -50.0, "S2": 80.0})  # equal, another object
    assert var(again) == base and len(cache.books) == 1
    assert var(book.scaled(2.0)) == pytest.approx(2 * base, rel=1e-12)
    as_of = history.last_date
    last = {s: float(history.prices[-1, history.column[s]]) for s in history.symbols}
    live = MarketState(as_of + dt.timedelta(days=1), {s: 1.1 * p for s, p in last.items()})
    assert var(book, market=live) == pytest.approx(1.1 * base, rel=1e-12)
    assert var(book, horizon_days=4) == pytest.approx(2 * base, rel=1e-12)
    assert len(cache.books) == 4


def test_option_grids_are_reused_for_a_new_seed_and_never_for_another_book():
    """A book recomputed with a new seed reuses its option grid (the same model range); a
    scaled book gets its own, and its numbers follow (twice the book, twice the VaR on the
    same paths)."""
    import datetime as dt

    from riskengine import EuropeanOption, Portfolio, Position, RiskCache, compute_risk
    from support import gaussian_history

    history = gaussian_history(n_obs=600)
    last = history.prices[-1]
    book = Portfolio(
        tuple(
            Position(
                f"o{i}",
                EuropeanOption(
                    underlying=s,
                    strike=round(float(last[i]), 2),
                    expiry=history.last_date + dt.timedelta(days=60),
                    option_type="call",
                    implied_vol=0.3,
                    rate=0.01,
                ),
                10.0,
                multiplier=100.0,
            )
            for i, s in enumerate(history.symbols)
        )
    )
    cache = RiskCache()

    def run(b, seed):
        rep = compute_risk(b, history, method="montecarlo", window=500, n_scenarios=4_000,
                           seed=seed, cache=cache)  # fmt: skip
        return rep

    first = run(book, 1)
    assert len(cache.grids) == 1
    run(book, 2)
    assert len(cache.grids) == 1 and cache.grids.hits >= 1
    double = run(book.scaled(2.0), 1)
    assert len(cache.grids) == 2
    want = 2 * first.measures[0].value_at_risk
    assert double.measures[0].value_at_risk == pytest.approx(want, rel=1e-12)
