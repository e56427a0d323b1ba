"""Integration fixtures: a real PostgreSQL server for the session, and a ``store`` fixture that
runs each test against both backends (SQLite file, PostgreSQL database), fresh every test.

The server runs from the PostgreSQL binaries installed on the machine (``make test`` installs
them: apt-get install postgresql). initdb and postgres refuse to run as root, so as root they
run as the ``postgres`` user (runuser), in a data directory made with ``tempfile.mkdtemp`` and
handed to that user. The server listens on 127.0.0.1 on a free port, with durability off
(fsync, synchronous_commit, full_page_writes): it is thrown away at the end.

``RISKENGINE_TEST_PG_SETTINGS`` (optional, default none) adds server settings, ``key=value``
separated by spaces, passed as ``-c key=value`` at start: to run the store tests against an
extension installed on the machine, e.g. ``shared_preload_libraries=timescaledb
timescaledb.license=timescale timescaledb.telemetry_level=off``.
"""

from __future__ import annotations

import os
import time

import pytest

from riskengine.store.pgserver import INSTALL_HINT, PgServer, find_pg_bindir, parse_settings

SETTINGS_ENV = "RISKENGINE_TEST_PG_SETTINGS"


@pytest.fixture(scope="session")
def pg_server():
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
            f"/usr/lib/postgresql/*/bin, pg_config --bindir or PATH: {INSTALL_HINT}",
            pytrace=False,
        )
    try:
        settings = parse_settings(os.environ.get(SETTINGS_ENV))
    except ValueError as exc:
        pytest.fail(f"{SETTINGS_ENV}: {exc}", pytrace=False)
    try:
        server = PgServer(bindir, settings)
    except RuntimeError as exc:
        pytest.fail(f"could not create a PostgreSQL data directory: {exc}", pytrace=False)
    t0 = time.perf_counter()
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        extra = f" (with {SETTINGS_ENV}={os.environ[SETTINGS_ENV]!r})" if settings else ""
        pytest.fail(f"could not start PostgreSQL{extra}: {exc}", pytrace=False)
    server.startup_seconds = time.perf_counter() - t0
    yield server
    server.cleanup()


@pytest.fixture
def pg_url(pg_server):
    """URL of a fresh, empty database on the session server (dropped afterwards)."""
    if not pg_server.running:
        pg_server.start()
    url = pg_server.new_database()
    yield url
    if not pg_server.running:
        pg_server.start()
    pg_server.drop_database(url)


def open_test_store(url: str):
    """open_store with short timeouts on PostgreSQL (the fault tests wait for them)."""
    from riskengine.store import open_store

    if url.startswith("postgresql://"):
        return open_store(url, pool_timeout=2.0, connect_timeout=2)
    return open_store(url)


@pytest.fixture(name="open_test_store")
def _open_test_store_fixture():
    """The ``open_test_store`` function, for tests that open and reopen stores themselves."""
    return open_test_store


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    """URL of a fresh database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    """An opened store on a fresh database, for each backend."""
    s = open_test_store(store_url)
    yield s
    s.close()


# --- the API server ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def bundled_history():
    from pathlib import Path

    from riskengine import load_prices

    return load_prices(Path(__file__).resolve().parents[2] / "data" / "us_equities_daily.csv")


@pytest.fixture(scope="module")
def api(tmp_path_factory, bundled_history):
    """The API over a SQLite store holding the bundled history (module-wide)."""
    from integration.api_support import start_api
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.sqlite3'}")
    store.import_daily(bundled_history)
    server = start_api(store)
    yield server
    server.close()
    store.close()
