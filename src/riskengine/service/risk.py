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

import numpy as np
import orjson

from riskengine.backtest.run import run_backtest
from riskengine.cache import RiskCache
from riskengine.choices import CONTRIBUTIONS
from riskengine.errors import InputError
from riskengine.pipeline import compute_frtb, compute_risk
from riskengine.scale.local import Executor, LocalExecutor
from riskengine.service.limits import needs_contributions, utilisation
from riskengine.service.market import MarketData
from riskengine.service.stored_books import Book
from riskengine.store.base import TickStore
from riskengine.stress.apply import run_scenarios
from riskengine.stress.scenarios import load_library, merge_scenarios, parse_scenarios

# Request fields that are not RiskSpec fields.
SERVICE_FIELDS = ("portfolio_id", "portfolio", "live", "contributions")


def spec_fields(request: dict) -> dict:
    """compute_risk keyword arguments from a risk request (None values left to defaults)."""
    fields = {k: v for k, v in request.items() if k not in SERVICE_FIELDS and v is not None}
    if "confidence" in fields:
        fields["confidence"] = tuple(fields["confidence"])
    detail = request.get("contributions") or "none"
    if detail not in CONTRIBUTIONS:
        raise InputError(f"contributions {detail!r} is not one of: {', '.join(CONTRIBUTIONS)}.")
    fields["contributions"] = detail != "none"
    if detail != "none":
        fields["contribution_detail"] = detail
    return fields


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
    ):
        self.store = store
        self.history_days = history_days
        self.history_intraday = history_intraday
        self.market = market
        self.cache = cache or RiskCache()
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
        check: Callable[[], None] | None = None,
    ) -> dict:
        """The RiskReport (as a dict, with ``limits`` utilisation and ``portfolio.id``) of
        ``book`` for ``request``; stored as the book's risk history when the book is stored.
        ``check`` (without ``executor``) is called before each block of work and raises to
        stop it (a request whose client went away)."""
        request = dict(request)
        if needs_contributions(book.limits) and (request.get("contributions") or "none") == "none":
            request["contributions"] = "components"
        fields = spec_fields(request)
        fields.setdefault("base_currency", book.base_currency)
        history = self.market.history()
        live = request.get("live", True)
        market = self.market.market() if live else None
        started = time.perf_counter()
        with self._running_lock:
            self._running += 1
            running = self._running
        try:
            if executor is None:
                executor = LocalExecutor(max(1, self.cpus // running), check=check)
            report = compute_risk(
                book.portfolio,
                history,
                market=market,
                cache=self.cache,
                executor=executor,
                **fields,
            )
        finally:
            with self._running_lock:
                self._running -= 1
        if self.on_compute is not None:
            self.on_compute(report.method, time.perf_counter() - started)
        out = report.to_dict()
        out["portfolio"]["id"] = book.id
        out["limits"] = utilisation(book.limits, out)
        if save and tenant is not None and book.id is not None:
            self.store.save_report(
                tenant,
                book.id,
                dt.date.fromisoformat(report.as_of),
                report.method,
                dumps(history_entry(out)),
                keep_days=self.history_days,
                keep_per_day=self.history_intraday,
            )
        return out

    def stress(self, book: Book, request: dict, executor=None) -> dict:
        """Named (library) and custom scenarios on ``book`` at the last close (or as_of);
        ``executor`` splits them (one task each: the same report)."""
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


# What the stored risk history keeps of a report: the numbers, limits and provenance, not the
# per-position detail (a 5,000-position report is megabytes; its history entry a few kB).
HISTORY_KEYS = (
    "schema_version", "method", "as_of", "base_currency", "results", "parameters",
    "n_scenarios", "portfolio", "data_quality", "notes", "provenance", "limits",
)  # fmt: skip


def history_entry(report: dict) -> dict:
    """The part of ``report`` kept in the risk history (docs/api.md)."""
    entry = {k: report.get(k) for k in HISTORY_KEYS}
    entry["n_excluded_positions"] = len(report.get("excluded_positions") or ())
    return entry


def dumps(obj) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()
