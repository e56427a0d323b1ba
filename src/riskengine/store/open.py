"""``open_store(url)``: the one way to get a TickStore from a database URL."""

from __future__ import annotations

import os

from riskengine.store.base import StoreError, TickStore

ENV_VAR = "RISKENGINE_DATABASE_URL"
DEFAULT_URL = "sqlite:///riskengine.sqlite3"

ACCEPTED = (
    "sqlite:///RELATIVE/PATH.db, sqlite:////ABSOLUTE/PATH.db, a bare file path, "
    "sqlite://:memory:, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME"
)


def database_url(url: str | None = None) -> str:
    """``url``, else $RISKENGINE_DATABASE_URL, else ``sqlite:///riskengine.sqlite3``."""
    if url is None or not str(url).strip():
        url = os.environ.get(ENV_VAR, "").strip() or DEFAULT_URL
    return str(url).strip()


def parse_url(url: str) -> tuple[str, str]:
    """(backend, target): ("sqlite", path or ":memory:") or ("postgresql", url).

    SQLite URLs follow the usual convention: three slashes then a relative path, four for an
    absolute one (``sqlite:////var/lib/risk.db``).
    """
    low = url.lower()
    if low in ("sqlite://:memory:", "sqlite:///:memory:", ":memory:"):
        return "sqlite", ":memory:"
    if low.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if path:
            return "sqlite", path
    elif low.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    elif "://" not in url and url and not low.startswith(("sqlite:", "postgresql:", "postgres:")):
        return "sqlite", url
    raise StoreError(f"database URL {url!r} is not supported; use {ACCEPTED} (or set {ENV_VAR}).")


def open_store(url: str | None = None, **options) -> TickStore:
    """Open (creating and migrating as needed) the store at ``url`` (see ``database_url``).

    ``options`` go to the backend: ``timeout`` for SQLite; ``pool_timeout``,
    ``connect_timeout``, ``min_size``, ``max_size`` for PostgreSQL.
    """
    backend, target = parse_url(database_url(url))
    if backend == "sqlite":
        from riskengine.store.sqlite import SQLiteStore

        return SQLiteStore(target, **options)
    from riskengine.store.postgres import PostgresStore

    return PostgresStore(target, **options)
