"""``create_app(settings)``: the FastAPI application of riskengine.

Dependencies arrive as parameters: ``store`` (default: opened from ``settings.database_url``)
and ``ingest`` (an IngestService whose moves drive live updates; default: one is started when
``settings.feed_url`` is set). Nothing connects to anything until the app starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from importlib import resources
from pathlib import Path
from typing import cast

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from riskengine.api import books, live, market, ops, problems, risk, valuation
from riskengine.api.observe import Metrics, RequestMiddleware
from riskengine.api.state import ApiState
from riskengine.service.settings import Settings
from riskengine.version import __version__

log = logging.getLogger("riskengine.api")

DESCRIPTION = """Value-at-Risk and Expected Shortfall of stored or inline books by historical
simulation, parametric and Monte Carlo methods; stress scenarios; backtests; jobs for heavy
work; live reports over WebSocket (`/api/v1/live`). Conventions (signs, quantiles, units):
docs/conventions.md. Errors are RFC 9457 problem details (docs/api.md#problems)."""


def static_dir() -> Path | None:
    """The web page shipped in the package (the built frontend when present)."""
    root = Path(str(resources.files("riskengine.api"))) / "static"
    return root if (root / "index.html").exists() else None


def create_app(
    settings: Settings | None = None, *, store=None, ingest=None, simulated_prices: bool = False
) -> FastAPI:
    """The app; ``simulated_prices``: the prices come from a simulated feed (the demo), which
    the live messages say so that the page can."""
    settings = settings or Settings.from_env()
    metrics = Metrics()  # the middleware's and the state's

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        from riskengine.scale.local import set_blas_threads
        from riskengine.store.open import open_store

        set_blas_threads(1)  # requests run in parallel threads: one BLAS thread each
        own_store = store is None
        st = open_store(settings.database_url) if own_store else store
        st.keep_background_jobs(mode=settings.timescale_jobs)  # TimescaleDB's, docs/store.md
        service = ingest
        started_ingest = None
        if service is None and settings.feed_url:
            service = _feed_ingest(settings, st)
            started_ingest = service
        state = ApiState(settings, st, metrics, ingest=service, simulated_prices=simulated_prices)
        state.loop = asyncio.get_running_loop()
        app.state.api = state
        if service is not None:
            service.add_listener(state.market_moved)
        if started_ingest is not None:
            started_ingest.start()
        poller = None
        if service is None:  # ticks may come from a separate `riskengine ingest` process
            poller = asyncio.get_running_loop().create_task(_poll_prices(state), name="poll")
        log.info(
            "riskengine %s serving (store %s, auth %s)",
            __version__,
            type(st).__name__,
            "on" if settings.auth else "off",
        )
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
            if started_ingest is not None:
                from riskengine.ingest.service import TicksNotStored

                try:
                    await started_ingest.stop()
                except TicksNotStored as exc:  # logged; `riskengine serve` exits 2 with it
                    app.state.ingest_error = exc
            await state.close()
            if own_store:
                st.close()

    # FastAPIOffline: a FastAPI app whose /api/v1/docs (Swagger UI) loads its script and style
    # from this server (fastapi-offline ships them), so the docs render offline.
    app = FastAPIOffline(
        title="riskengine",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        static_url="/api/v1/docs-static",
        lifespan=lifespan,
        default_response_class=problems.JSONResponse,
    )
    problems.install(app)
    for module in (ops, books, valuation, market, risk, live):
        app.include_router(module.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    page = static_dir()
    if page is not None:
        app.mount("/", StaticFiles(directory=page, html=True), name="page")
    # the outermost layer: it sees every request, including the ones the app refuses
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    return app


POLL_SECONDS = 2.0


async def _poll_prices(state: ApiState) -> None:
    """Without an ingest service in this process, look for new ticks every POLL_SECONDS and,
    while someone watches, announce a move when the latest event time changed."""
    last, primed = None, False  # primed: `last` has been read once (at the start)
    while True:
        try:
            latest = await state.run(state.store.latest_prices)
        except Exception as exc:  # the store is down: try again at the next round
            log.warning("live: could not read the latest prices: %s", exc)
        else:
            newest = max((p.ts for p in latest.values()), default=None)
            if primed and newest != last and state.hub.subscribers:
                state.market_moved()
            last, primed = newest, True
        await asyncio.sleep(POLL_SECONDS)


def _feed_ingest(settings: Settings, store):
    from riskengine.ingest.service import IngestConfig, IngestService

    symbols = settings.feed_symbols or store.factor_history().symbols
    feed = cast(str, settings.feed_url)  # set: the lifespan calls this only when it is
    return IngestService(
        store,
        IngestConfig(feed=feed, venue=settings.feed_venue, symbols=tuple(symbols)),
    )
