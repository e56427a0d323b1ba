"""Market-data and application store: SQLite (embedded default) or PostgreSQL/TimescaleDB.

``open_store(url)`` gives a ``TickStore``; see docs/store.md."""

from riskengine.store.base import (
    Bar,
    Capabilities,
    LatestPrice,
    QualityEvent,
    StoreError,
    StoreUnavailable,
    TickStore,
    WriteResult,
)
from riskengine.store.open import DEFAULT_URL, ENV_VAR, database_url, open_store

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "Bar",
    "Capabilities",
    "LatestPrice",
    "PostgresStore",
    "QualityEvent",
    "SQLiteStore",
    "StoreError",
    "StoreUnavailable",
    "TickStore",
    "WriteResult",
    "database_url",
    "open_store",
]


def __getattr__(name: str):
    # the backends load on first use (psycopg only when PostgreSQL is used)
    if name == "SQLiteStore":
        from riskengine.store.sqlite import SQLiteStore

        return SQLiteStore
    if name == "PostgresStore":
        from riskengine.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module 'riskengine.store' has no attribute {name!r}")
