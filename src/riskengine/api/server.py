"""Running the app: ``riskengine serve`` (a deployment), ``riskengine demo`` (``make run``),
and ``ServerThread`` (a real server on a free port, for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn

from riskengine.api.app import create_app
from riskengine.service.settings import Settings

log = logging.getLogger("riskengine.api")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _config(app, settings: Settings, **extra) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        lifespan="on",
        **extra,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on Ctrl-C or SIGTERM without raising the signal again once
    shut down (uvicorn does, which ends the process with a KeyboardInterrupt)."""

    @contextlib.contextmanager
    def capture_signals(self):
        with super().capture_signals():
            yield
            self._captured_signals.clear()


class ServerThread:
    """uvicorn serving ``create_app(settings, ...)`` in a background thread.

    ``with ServerThread(settings, store=...) as server: httpx.get(server.url + "/healthz")``
    """

    def __init__(self, settings: Settings, **app_options):
        if settings.port == 0:
            settings = Settings(**{**settings.__dict__, "port": free_port(settings.host)})
        self.settings = settings
        self.app = create_app(settings, **app_options)
        self.server = uvicorn.Server(_config(self.app, settings))
        self.server.install_signal_handlers = lambda: None  # the main thread keeps its own
        self._thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def state(self):
        return self.app.state.api

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(settings: Settings) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    _Server(_config(create_app(settings), settings)).run()


# --- the demo ---------------------------------------------------------------------------------
DEMO_RATE = 40.0  # simulated trades per second over all symbols


def run_demo(
    settings: Settings,
    *,
    prices: Path,
    book: Path,
    rate: float = DEMO_RATE,
    seed: int = 0,
) -> None:
    """The one-command demo: import ``prices`` into the store, start the simulated feed and
    ingestion, load ``book`` as the demo book, and serve the API and the page."""
    asyncio.run(_demo(settings, prices, book, rate, seed))


DEMO_DATABASE = "sqlite:///riskengine-demo.sqlite3"


def fresh_demo_store(url: str | None) -> None:
    """The demo starts from an empty store each run (its simulated ticks would otherwise
    become daily bars of their own day, years after the bundled history ends)."""
    if url != DEMO_DATABASE:
        return
    path = Path(url[len("sqlite:///") :])
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


async def _demo(settings: Settings, prices: Path, book_path: Path, rate: float, seed: int):
    from riskengine.ingest.feed import FeedServer
    from riskengine.ingest.service import IngestConfig, IngestService
    from riskengine.ingest.sources import simulated_ticks
    from riskengine.instruments.book import book_records
    from riskengine.market.loaders import load_prices
    from riskengine.service.books import BookStore
    from riskengine.store.open import open_store

    fresh_demo_store(settings.database_url)
    store = open_store(settings.database_url)
    try:
        history = load_prices(prices)
        n = await asyncio.to_thread(store.import_daily, history)
        print(
            f"imported {n:,} daily closes of {len(history.symbols)} symbols "
            f"({history.date_at(0)} .. {history.last_date})",
            flush=True,
        )
        books = BookStore(store, max_positions=settings.max_positions)
        if not books.list("demo"):
            records, name = book_records(
                book_path.read_text(),
                book_path.suffix.lstrip(".").lower().replace("txt", "csv"),
                book_path.name,
            )
            books.save("demo", {"name": "Demo book", "positions": records, "limits": []})
        # marked at the last close, then moving with simulated intraday ticks from now on
        ticks = simulated_ticks(
            history, seed=seed, start=dt.datetime.now(dt.UTC), step=dt.timedelta(seconds=1.0 / rate)
        )
        feed = await FeedServer(ticks, rate=rate).start()
        ingest = IngestService(
            store,
            IngestConfig(
                feed=feed.url, venue="riskengine", symbols=history.symbols, batch_size=200
            ),
        )
        app = create_app(settings, store=store, ingest=ingest)
        server = _Server(_config(app, settings))
        ingest.start()
        print(
            f"riskengine demo: open http://{settings.host}:{settings.port}/ (API docs: "
            f"http://{settings.host}:{settings.port}/api/v1/docs); Ctrl-C stops it",
            flush=True,
        )
        try:
            await server.serve()
        finally:
            await ingest.stop()
            await feed.stop()
            print(f"stopped: {ingest.metrics.ticks_stored:,} ticks stored", flush=True)
    finally:
        with contextlib.suppress(Exception):
            store.close()
