"""Running the app: ``riskengine serve`` (a deployment), ``riskengine demo`` (``make run``),
and ``ServerThread`` (a real server on a free port, for tests and benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn

from riskengine.api.app import create_app
from riskengine.errors import InputError
from riskengine.service.settings import Settings

log = logging.getLogger("riskengine.api")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


PORT_WAY_OUT = "choose another with --port N or RISKENGINE_PORT=N (make run PORT=N for the demo)"


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for the server (port 0: a free one), before anything
    else starts; InputError when the port is taken, saying how to choose another."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # listening, the port is ours: another bind to it fails from now on
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(
                f"port {port} on {host} is in use (another riskengine, or another server, "
                f"listens there): stop it, or {PORT_WAY_OUT}."
            ) from None
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; {PORT_WAY_OUT}, or "
            "give another host with --host or RISKENGINE_HOST."
        ) from None
    sock.set_inheritable(True)
    return sock


async def serve_until_stopped(server: uvicorn.Server, sock: socket.socket, on_listening) -> None:
    """``server`` on ``sock``; ``on_listening()`` is called once it accepts connections (its
    start-up done), never before and never when start-up failed."""
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.wait([serving], timeout=0.02)
    if server.started:
        on_listening()
    await serving


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
        self._socket = bind(settings.host, settings.port)  # port 0: no race for a free one
        port = self._socket.getsockname()[1]
        if settings.port != port:
            settings = Settings(**{**settings.__dict__, "port": port})
        self.settings = settings
        self.app = create_app(settings, **app_options)
        self.server = uvicorn.Server(_config(self.app, settings))
        # the main thread keeps its own; uvicorn < 0.29's hook, absent from newer uvicorn's
        # types (which skip signal handlers off the main thread)
        self.server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, name="uvicorn", daemon=True
        )

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
        if self._thread.is_alive() or self._thread.ident is not None:
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(settings: Settings) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM). A port in use is refused (InputError)
    before the app is made."""
    sock = bind(settings.host, settings.port)
    app = create_app(settings)
    try:
        _Server(_config(app, settings)).run(sockets=[sock])
    finally:
        sock.close()
    error = getattr(app.state, "ingest_error", None)  # ticks received and not stored
    if error is not None:
        raise error


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
# The demo book's limits: one comfortably met, one close to its limit, one breached (the tech
# desk), so that the page's limit bars and breach banner show on the first run.
DEMO_LIMITS = [
    {"measure": "value_at_risk", "confidence": 0.99, "limit": 60_000},
    {"measure": "expected_shortfall", "confidence": 0.99, "limit": 45_000},
    {"measure": "value_at_risk", "confidence": 0.99, "limit": 25_000, "tag": "sector=tech"},
]


def fresh_demo_store(url: str | None) -> None:
    """The demo starts from an empty store each run (its simulated ticks would otherwise
    become daily bars of their own day, years after the bundled history ends)."""
    if url != DEMO_DATABASE:
        return
    path = Path(url[len("sqlite:///") :])
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


async def _demo(settings: Settings, prices: Path, book_path: Path, rate: float, seed: int):
    sock = bind(settings.host, settings.port)  # a busy port is refused before anything starts
    try:
        await _demo_on(sock, settings, prices, book_path, rate, seed)
    finally:
        sock.close()


async def _demo_on(sock, settings: Settings, prices: Path, book_path: Path, rate: float, seed):
    from riskengine.ingest.exchange import FeedServer
    from riskengine.ingest.service import IngestConfig, IngestService
    from riskengine.ingest.sources import simulated_ticks
    from riskengine.instruments.bookfile import book_records
    from riskengine.market.loaders import load_prices
    from riskengine.service.stored_books import BookStore
    from riskengine.store.open import open_store

    fresh_demo_store(settings.database_url)
    store = open_store(settings.database_url)
    store.keep_background_jobs(mode=settings.timescale_jobs)
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
            books.save("demo", {"name": "Demo book", "positions": records, "limits": DEMO_LIMITS})
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
        app = create_app(settings, store=store, ingest=ingest, simulated_prices=True)
        server = _Server(_config(app, settings))
        ingest.start()
        url = f"http://{settings.host}:{settings.port}"
        try:
            await serve_until_stopped(
                server,
                sock,
                lambda: print(
                    f"riskengine demo: open {url}/ (API docs: {url}/api/v1/docs); Ctrl-C stops it",
                    flush=True,
                ),
            )
        finally:
            try:
                await ingest.stop()  # TicksNotStored: the demo exits 2 saying how many
            finally:
                await feed.stop()
            print(f"stopped: {ingest.metrics.ticks_stored:,} ticks stored", flush=True)
    finally:
        with contextlib.suppress(Exception):
            store.close()
