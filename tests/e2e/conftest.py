"""Browser tests of the page: real Chromium (Debian's, driven by Playwright; never a browser
Playwright downloads) against a real API server started here, over a SQLite store holding the
bundled history and a demo book with limits.

``make test`` installs Chromium when missing (apt-get install chromium) and builds the page
(make frontend). ``RISKENGINE_CHROMIUM`` names another Chromium executable. Screenshots of
every view are saved under ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
BOOK = ROOT / "examples" / "book.json"
TIMEOUT_MS = 60_000


def chromium_path() -> str | None:
    named = os.environ.get("RISKENGINE_CHROMIUM")
    if named:
        return named
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def bundled_history():
    from riskengine import load_prices

    return load_prices(ROOT / "data" / "us_equities_daily.csv")


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API runs an event loop in this thread
    while it is open, so it is closed before the other suites (which call asyncio.run) run."""
    from riskengine.api.app import static_dir

    if static_dir() is None:
        pytest.fail("the page is not built: run make frontend (make test does)", pytrace=False)
    exe = chromium_path()
    if exe is None:
        pytest.fail(
            "Chromium not found (the browser tests drive Debian's chromium): apt-get install "
            "chromium (make test does), or set RISKENGINE_CHROMIUM to its executable",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    args = ["--disable-background-networking", "--disable-component-update", "--disable-gpu"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to sandbox itself as root
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=args)
        yield b
        b.close()


def book_doc(**changes) -> dict:
    return json.loads(BOOK.read_text()) | {"name": "Demo book"} | changes


LIMITS = [
    {"measure": "value_at_risk", "confidence": 0.99, "limit": 60_000},
    {"measure": "expected_shortfall", "confidence": 0.95, "limit": 30_000},
    {"measure": "value_at_risk", "confidence": 0.99, "limit": 20_000, "tag": "sector=tech"},
]


@dataclass
class Server:
    """A running API server, its store, an HTTP client and the demo book's id."""

    thread: object
    store: object
    client: object
    book_id: int
    closes: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.thread.url

    def risk(self, **request) -> dict:
        r = self.client.post("/api/v1/risk", json={"portfolio_id": self.book_id} | request)
        assert r.status_code == 200, r.text
        return r.json()

    def write_ticks(self, moves: dict[str, float]) -> None:
        """Trades at the last close times (1 + move) for each symbol, stamped now."""
        from riskengine.market.tick import Tick

        last = self.closes
        now = dt.datetime.now(dt.UTC)
        seq = int(now.timestamp() * 1000)
        ticks = [
            Tick("e2e", sym, now, last[sym] * (1 + move), 1.0, seq + i)
            for i, (sym, move) in enumerate(sorted(moves.items()))
        ]
        self.store.write_ticks(ticks)

    def close(self) -> None:
        self.client.close()
        self.thread.stop()
        self.store.close()


def start_server(tmp: Path, history, *, books=None, **settings) -> Server:
    """A server over a fresh store in ``tmp`` holding ``books`` (default: the demo book with
    LIMITS); ``settings`` override the test settings (auth off, short debounce)."""
    import httpx

    from riskengine.api.server import ServerThread
    from riskengine.service.settings import Settings
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp / 'e2e.sqlite3'}")
    store.import_daily(history)
    base = dict(port=0, auth=False, live_debounce=0.2, async_cost=20_000_000,
                compute_threads=2, log_format="text")  # fmt: skip
    thread = ServerThread(Settings(**(base | settings)), store=store).start()
    headers = {"X-API-Key": settings["api_key"]} if "api_key" in settings else {}
    client = httpx.Client(base_url=thread.url, timeout=120, headers=headers)
    ids = []
    for doc in [book_doc(limits=LIMITS)] if books is None else books:
        r = client.post("/api/v1/portfolios", json=doc)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    closes = history.market_state(len(history.dates) - 1).prices
    return Server(thread, store, client, ids[0] if ids else 0, closes)


@pytest.fixture(scope="module")
def server(tmp_path_factory, bundled_history):
    s = start_server(tmp_path_factory.mktemp("e2e"), bundled_history)
    yield s
    s.close()


class Page:
    """A browser tab on the page that records console errors and uncaught exceptions."""

    def __init__(self, context, url: str):
        self.context = context
        self.tab = context.new_page()
        self.tab.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.allowed: list[str] = []
        self.tab.on("console", self._console)
        self.tab.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.url = url

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def open(self, path: str = "/"):
        self.tab.goto(self.url + path)
        return self.tab

    def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.tab.screenshot(path=str(path), full_page=full_page)
        return path

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]

    def close(self) -> None:
        """Close the tab (before its server stops: a page left open would log its reconnects)
        and check that it logged no unexpected error."""
        if self.context is None:
            return
        errors = self.unexpected_errors()
        self.context.close()
        self.context = None
        assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def page_at(browser):
    """``page_at(server, width=1280)`` opens a tab on ``server``; after the test, no console
    error may have been logged but the ones the test allowed."""
    opened = []

    def open_tab(server, width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        p = Page(context, server.url)
        opened.append(p)
        return p

    yield open_tab
    for p in opened:
        p.close()
