"""Everything a request needs, built once per app: store, market snapshots, books, the risk
service, the job queue, the live hub, API keys, metrics, and two pools: the I/O pool (store
reads and writes, parsing) and the fair compute pool (risk computations, taken by tenant in
turn), so that a store read never waits behind a computation."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from fastapi import Request, WebSocket

from riskengine.api.observe import Metrics
from riskengine.api.problems import ApiProblem, ClientGone, engine_problem_body
from riskengine.errors import RiskEngineError
from riskengine.service.fair import FairPool
from riskengine.service.jobs import JobControl, JobQueue
from riskengine.service.keys import KeyChecker
from riskengine.service.live import LiveHub
from riskengine.service.market import MarketData
from riskengine.service.risk import RiskService
from riskengine.service.settings import Settings
from riskengine.service.stored_books import BookStore
from riskengine.service.workers import ComputeProcesses
from riskengine.store.base import TickStore

DEMO_TENANT = "demo"


class ApiState:
    def __init__(
        self,
        settings: Settings,
        store: TickStore,
        metrics: Metrics,
        *,
        ingest=None,
        simulated_prices: bool = False,
    ):
        self.settings = settings
        self.store = store
        self.ingest = ingest
        self.simulated_prices = simulated_prices  # the demo's feed: said on the page
        self.metrics = metrics
        self.market = MarketData(store, min_interval=settings.snapshot_interval)
        self.books = BookStore(
            store, max_positions=settings.max_positions, max_limits=settings.max_limits
        )
        self.processes = (
            ComputeProcesses(settings.compute_processes, slots=2 * settings.compute_threads + 16)
            if settings.compute_processes
            else None
        )
        self.risk = RiskService(
            store,
            self.market,
            processes=self.processes,
            on_compute=self._observe_compute,
            history_days=settings.history_days,
            history_intraday=settings.history_intraday,
        )
        self.jobs = JobQueue(
            store,
            workers=settings.job_workers,
            per_tenant=settings.job_tenant_limit,
            total=settings.job_limit,
        )
        self.keys = KeyChecker(store, ttl=settings.key_cache_seconds)
        self.io_pool = ThreadPoolExecutor(settings.io_threads, thread_name_prefix="riskengine-io")
        # with worker processes, twice as many in flight: a worker never waits for the
        # server's part of a request (reading the book, storing the history entry)
        self.compute_pool = FairPool(
            settings.compute_threads * (2 if settings.compute_processes else 1),
            per_tenant=settings.compute_tenant_limit,
            total=settings.compute_limit,
            name="riskengine-compute",
            what="requests",
        )
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, set at startup
        self.hub = LiveHub(
            self.live_report,
            self.live_prices,
            debounce=settings.live_debounce,
            stale=lambda: self.market.moved_since,
        )
        m = self.metrics
        m.queue_depth.set_function(lambda: self.jobs.depth)
        m.subscribers.set_function(lambda: len(self.hub.subscribers))
        self._rate: tuple[float, float] = (time.monotonic(), 0)
        m.ingest_ticks.set_function(self._ingest_stored)
        m.ingest_rate.set_function(self._ingest_rate)
        m.preparation.labels("hits").set_function(lambda: self._preparation()[0])
        m.preparation.labels("lookups").set_function(lambda: self._preparation()[1])

    def job_executor(self):
        """Where jobs run their blocks: the Dask cluster of ``settings.dask_scheduler`` (connected
        at the first job; a ClusterError fails that job with the reason), else this machine."""
        from riskengine.scale.select import make_executor

        return make_executor(self.settings.dask_scheduler or "local")

    def _preparation(self) -> tuple[int, int]:
        """Hits and lookups of the compiled-book caches: the workers' and this process's."""
        books = self.risk.cache.books
        hits, lookups = self.processes.preparation() if self.processes else (0, 0)
        return hits + books.hits, lookups + books.hits + books.misses

    def _observe_compute(self, method: str, seconds: float) -> None:
        self.metrics.compute.labels(method).observe(seconds)

    def _ingest_stored(self) -> float:
        return float(self.ingest.metrics.ticks_stored) if self.ingest is not None else 0.0

    def refresh_metrics(self) -> None:
        """Copy the ingest service's counters into the metrics (before a scrape), and the
        TimescaleDB jobs' problems as last checked (no query here: this runs on the loop)."""
        if self.ingest is not None:
            for name, value in self.ingest.metrics.as_dict().items():
                self.metrics.ingest.labels(name).set(value)
        jobs = getattr(self.store, "last_background_jobs", [])
        self.metrics.store_jobs_failing.set(sum(1 for j in jobs if j.problems))

    def _ingest_rate(self) -> float:
        now, stored = time.monotonic(), self._ingest_stored()
        then, before = self._rate
        self._rate = (now, stored)
        return (stored - before) / (now - then) if now > then else 0.0

    async def run(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` on the I/O pool (off the event loop): store reads and
        writes, parsing, encoding; never a risk computation (``compute``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.io_pool, partial(fn, *args, **kwargs))

    async def compute(self, who: str, fn, *, request: Request | None = None):
        """``fn(control)`` on the fair compute pool for tenant ``who``; ``control.check()``
        raises ``JobCancelled`` once the work is no longer wanted (give it to the executor,
        which calls it before each block). With ``request``, the work is withdrawn (queued) or
        stopped at its next block (running) when the client goes away. ``QueueFull`` (429)
        over the tenant's or the server's bound."""
        control = JobControl()
        ticket = self.compute_pool.submit(who, partial(fn, control))
        future = asyncio.wrap_future(ticket.future)
        gone = asyncio.ensure_future(_disconnected(request)) if request is not None else None
        try:
            if gone is None:
                return await future
            await asyncio.wait((future, gone), return_when=asyncio.FIRST_COMPLETED)
            if future.done():
                return future.result()
            raise ClientGone()
        except BaseException:  # the client went away, or this task was cancelled: stop the work
            control.cancelled.set()
            ticket.cancel()
            future.add_done_callback(_quietly)  # its JobCancelled is expected, not logged
            raise
        finally:
            if gone is not None:
                gone.cancel()

    # --- live -----------------------------------------------------------------------------
    def market_moved(self, *_event) -> None:
        """Ingest listener: new ticks are stored."""
        self.market.moved()
        self.hub.moved()

    async def live_report(self, tenant: str, book_id: int, request: dict) -> dict:
        request = dict(request)
        if request.get("method") == "montecarlo" and request.get("seed") is None:
            request["seed"] = self.settings.live_seed
        try:
            book = await self.run(self.books.get, tenant, book_id)
            report = await self.compute(
                tenant,
                lambda control: self.risk.risk(book, request, tenant=tenant, control=control),
            )
        except RiskEngineError as exc:
            return {"type": "error", "portfolio_id": book_id, "problem": engine_problem_body(exc)}
        breaches = [lim for lim in report["limits"] if lim["breached"]]
        return {"type": "report", "portfolio_id": book_id, "report": report, "breaches": breaches}

    async def live_prices(self) -> dict | None:
        state = await self.run(self.market.market)
        if state is None:
            return None
        return {
            "type": "prices",
            "as_of": state.as_of.isoformat(),
            "prices": state.prices,
            "simulated": self.simulated_prices,
        }

    async def close(self) -> None:
        await self.hub.close()
        await asyncio.get_running_loop().run_in_executor(None, self.jobs.shutdown)
        await asyncio.get_running_loop().run_in_executor(None, self.compute_pool.shutdown)
        self.io_pool.shutdown(wait=True, cancel_futures=True)
        if self.processes is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.processes.shutdown)


def _quietly(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


async def _disconnected(request: Request) -> None:
    """Returns when the client of ``request`` (whose body has been read) goes away."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def get_state(request: Request) -> ApiState:
    return request.app.state.api


def presented_key(headers, query) -> str | None:
    key = headers.get("x-api-key")
    auth = headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return key or query.get("api_key")


def tenant_of(state: ApiState, headers, query) -> str:
    """The tenant of the presented API key (header X-API-Key, Authorization: Bearer, or the
    api_key query parameter for WebSockets); DEMO_TENANT when auth is off."""
    if not state.settings.auth:
        return DEMO_TENANT
    key = presented_key(headers, query)
    if not key:
        raise ApiProblem(
            401,
            "unauthorized",
            "API key required",
            "send an API key in the X-API-Key header (or Authorization: Bearer KEY); "
            "create one with: riskengine keys create --tenant NAME",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant = state.keys.tenant(key)
    if tenant is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "Invalid API key",
            "the API key is unknown or revoked; check it, or create a new one with: "
            "riskengine keys create --tenant NAME",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


def tenant(request: Request) -> str:
    """FastAPI dependency: the request's tenant."""
    t = tenant_of(get_state(request), request.headers, request.query_params)
    request.scope.setdefault("state", {})["tenant"] = t
    return t


def ws_tenant(ws: WebSocket) -> str:
    return tenant_of(ws.app.state.api, ws.headers, ws.query_params)
