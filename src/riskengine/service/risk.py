"""Risk, stress and backtests of stored or inline books on the store's market snapshot.

One ``RiskCache`` is shared by every request: covariance estimates and scenario sets of a
snapshot are computed once and reused by every book (never the results of a request).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import orjson

from riskengine.backtest.run import run_backtest
from riskengine.cache import RiskCache
from riskengine.pipeline import compute_frtb
from riskengine.scale.local import Executor, LocalExecutor
from riskengine.service.compute import (
    SERVICE_FIELDS,
    dumps,
    encode_json,
    history_entry,
    risk_report,
)
from riskengine.service.jobs import JobControl
from riskengine.service.market import MarketData
from riskengine.service.stored_books import Book
from riskengine.service.workers import ComputeProcesses
from riskengine.store.base import TickStore
from riskengine.stress.apply import run_scenarios
from riskengine.stress.scenarios import load_library, merge_scenarios, parse_scenarios


def risk_cost(request: dict, n_positions: int) -> int:
    """The documented cost rule: scenarios x positions (Monte Carlo paths, or the window for
    historical simulation and Cornish-Fisher; 1 for the other parametric forms), times 10
    with full contributions (incremental and standalone VaR revalue every position)."""
    method = request.get("method") or "historical"
    if method == "montecarlo":
        scenarios = request.get("n_scenarios") or 10_000
    elif method == "historical" or request.get("distribution") == "cornish-fisher":
        scenarios = request.get("window") or 500
    else:
        scenarios = 1
    cost = int(scenarios) * int(n_positions)
    if request.get("contributions") == "full":
        cost *= 10
    return cost


# FRTB request fields passed to compute_frtb as they are (docs/api.md#frtb).
FRTB_FIELDS = ("as_of", "reduced_set", "stressed_window", "window", "averaging_days",
               "backtest_window")  # fmt: skip
FRTB_BUCKETS = 5  # the cost rule's revaluations per history day: one per liquidity bucket


def frtb_cost(n_closes: int, n_positions: int) -> int:
    """The documented cost rule of an FRTB request: the history's days x positions x 5 (the
    search revalues the book under every 10-day return of the history, once per liquidity
    bucket)."""
    return int(n_closes) * int(n_positions) * FRTB_BUCKETS


class RiskService:
    """Runs the engine for the API on ``market``'s snapshot.

    Args:
        store: where reports are kept.
        market: the market snapshots.
        cache: covariance and scenario caches shared by every request.
        on_compute: called with (method, seconds) after each risk run (metrics).
        cpus: the cores the computations share (default: the CPU count).
        history_days, history_intraday: the risk history's retention (``store.save_report``'s
            ``keep_days`` and ``keep_per_day``; 0 keeps everything).
        processes: worker processes for the risk computations without an executor (the
            API's requests and live pushes; ``service.workers``); None: threads of this
            process.

    A risk run without an explicit executor spreads its blocks of work over the cores that
    the runs in progress leave it: all of them when it runs alone, one when as many runs as
    cores are in progress (more workers would only contend for the same cores; the result
    does not depend on the number of workers).
    """

    def __init__(
        self,
        store: TickStore,
        market: MarketData,
        *,
        cache: RiskCache | None = None,
        on_compute: Callable[[str, float], None] | None = None,
        cpus: int | None = None,
        history_days: int = 0,
        history_intraday: int = 0,
        processes: ComputeProcesses | None = None,
    ):
        self.store = store
        self.processes = processes
        self.history_days = history_days
        self.history_intraday = history_intraday
        self.market = market
        self.cache = cache or RiskCache(max_books=64)
        self.on_compute = on_compute
        self.cpus = cpus or os.cpu_count() or 1
        self._running = 0
        self._running_lock = threading.Lock()

    @property
    def running(self) -> int:
        """Risk computations in progress."""
        return self._running

    def risk(
        self,
        book: Book,
        request: dict,
        *,
        executor: Executor | None = None,
        tenant: str | None = None,
        save: bool = True,
        control: JobControl | None = None,
    ) -> dict:
        """The RiskReport (as a dict, with ``limits`` utilisation and ``portfolio.id``) of
        ``book`` for ``request``; stored as the book's risk history when the book is stored.
        ``control`` (without ``executor``): its cancellation stops the work at its next block
        (a request whose client went away)."""
        if executor is None and self.processes is not None:
            return orjson.loads(self.risk_json(book, request, tenant=tenant, save=save,
                                               control=control))  # fmt: skip
        return self._risk_here(book, request, executor, tenant, save, control)[0]

    def risk_json(
        self,
        book: Book,
        request: dict,
        *,
        tenant: str | None = None,
        save: bool = True,
        control: JobControl | None = None,
    ) -> bytes:
        """``risk`` encoded as the API answers it (computed in a worker process when the
        service has them: ``processes``)."""
        if self.processes is None:
            out, _ = self._risk_here(book, request, None, tenant, save, control)
            return encode_json(out)
        history = self.market.history()
        market = self.market.market() if request.get("live", True) else None
        text = book.text if book.text is not None else dumps(book.doc)
        with self._counting() as running:
            encoded, meta, seconds = self.processes.run(
                history, market, tenant or "", book.id, text, request,
                control or JobControl(), max(1, self.cpus // running),
            )  # fmt: skip
        if self.on_compute is not None:
            self.on_compute(meta["method"], seconds)
        if save:
            self._save(tenant, book, meta["as_of"], meta["method"], meta["entry"])
        return encoded

    def _risk_here(self, book, request, executor, tenant, save, control) -> tuple[dict, str]:
        """``risk`` on threads of this process."""
        history = self.market.history()
        market = self.market.market() if request.get("live", True) else None
        started = time.perf_counter()
        with self._counting() as running:
            if executor is None:
                check = control.check if control is not None else None
                executor = LocalExecutor(max(1, self.cpus // running), check=check)
            out, method = risk_report(book, request, history, market, self.cache, executor)
        if self.on_compute is not None:
            self.on_compute(method, time.perf_counter() - started)
        if save:
            self._save(tenant, book, out["as_of"], method, history_entry(out))
        return out, method

    @contextmanager
    def _counting(self):
        """Count a computation in progress; yields how many are (this one included)."""
        with self._running_lock:
            self._running += 1
            running = self._running
        try:
            yield running
        finally:
            with self._running_lock:
                self._running -= 1

    def _save(self, tenant: str | None, book: Book, as_of: str, method: str, entry: dict) -> None:
        if tenant is None or book.id is None:
            return
        self.store.save_report(
            tenant,
            book.id,
            dt.date.fromisoformat(as_of),
            method,
            dumps(entry),
            keep_days=self.history_days,
            keep_per_day=self.history_intraday,
        )

    def stress(self, book: Book, request: dict, executor=None) -> dict:
        """Named (library) and custom scenarios on ``book`` at the latest prices (the feed's,
        as the risk reports; at the last close with ``live`` false or without a feed), or at
        the close of ``as_of``; ``executor`` splits them (one task each: the same report)."""
        known = load_library()
        custom = request.get("custom") or []
        if custom:
            known = merge_scenarios(
                known, parse_scenarios({"scenarios": custom}, "custom"), "custom"
            )
        names = request.get("scenarios")
        if custom:  # the named ones (none: only the custom ones), then every custom one
            extra = [c.get("name") for c in custom if isinstance(c, dict)]
            names = list(dict.fromkeys([*(names or []), *extra]))
        report = run_scenarios(
            book.portfolio,
            self.market.history(),
            names,
            as_of=request.get("as_of"),
            base_currency=book.base_currency,
            known=known,
            executor=executor,
            keep_idle_shocks=bool(request.get("keep_idle_shocks")),
            market=(
                self.market.market()
                if request.get("live", True) and request.get("as_of") is None
                else None
            ),
        )
        return report.to_dict()

    def backtest(self, book: Book, request: dict, control=None, executor=None) -> dict:
        """A backtest of ``book``: methods side by side, statistics, daily series;
        ``executor`` splits Monte Carlo and weighted historical days by date (same numbers)."""
        fields = {k: v for k, v in request.items() if k not in SERVICE_FIELDS and v is not None}
        methods = tuple(fields.pop("methods", ("historical",)))
        if "confidence" in fields:
            fields["confidence"] = tuple(fields["confidence"])
        fields.setdefault("base_currency", book.base_currency)
        progress = None
        if control is not None:
            order = {m: i for i, m in enumerate(methods)}

            def progress(method, done, total):  # the days: 90 %; the statistics after them
                done_all = order.get(method, 0) * total + done
                control.report(9 * done_all, 10 * len(methods) * total)

        result = run_backtest(
            book.portfolio,
            self.market.history(),
            methods,
            progress=progress,
            executor=executor,
            **fields,
        )
        return result.to_dict()

    def frtb(self, book: Book, request: dict, control=None) -> dict:
        """The FRTB capital of ``book`` (``FrtbReport.to_dict()`` with ``portfolio.id``): the
        request's mapping, else the one stored with the book."""
        fields = {k: request[k] for k in FRTB_FIELDS if request.get(k) is not None}
        mapping = request.get("mapping") or book.frtb_mapping or None
        for name in ("actual_pnl", "risk_model_pnl"):
            points = request.get(name)
            if points is not None:
                fields[name] = {p["date"]: p["pnl"] for p in points}
        if control is not None:
            control.report(0, 1)
        report = compute_frtb(
            book.portfolio,
            self.market.history(),
            mapping=mapping,
            base_currency=book.base_currency,
            **fields,
        )
        if control is not None:
            control.report(1, 1)
        out = report.to_dict()
        out["portfolio"]["id"] = book.id
        return out

    def forecast_days(self, request: dict) -> int:
        """Forecast days x methods of a backtest request (for the cost rule)."""
        history = self.market.history()
        dates = history.dates
        window = request.get("window") or 500
        first = window
        start, end = request.get("start"), request.get("end")
        lo = (
            first
            if start is None
            else max(first, int(np.searchsorted(dates, np.datetime64(start, "D"))))
        )
        hi = (
            len(dates) - 2
            if end is None
            else int(np.searchsorted(dates, np.datetime64(end, "D"), side="right")) - 1
        )
        methods = request.get("methods") or ("historical",)
        return max(0, hi - lo + 1) * len(methods)
