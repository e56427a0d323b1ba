"""The small SQL dialect the store's shared parts are written over (``application.py``,
``tickreads.py``): SQL is PostgreSQL's with ``?`` placeholders and ``::json`` / ``::text`` casts
on JSON columns; ``Dialect.sql`` turns it into each backend's (``%s`` placeholders on
PostgreSQL; no casts on SQLite, whose JSON columns are text). Times go in and out through the
dialect too (``timestamptz`` on PostgreSQL, integer microseconds since the Unix epoch on
SQLite)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, Self

from riskengine.store.bars import from_us, to_us
from riskengine.store.base import utc_now


def _utc(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC)


@dataclass(frozen=True)
class Dialect:
    """What the application SQL needs to know of a backend.

    Attributes:
        name: "sqlite" or "postgresql".
        placeholder: the driver's parameter marker ("?" or "%s").
        casts: whether the SQL keeps its ``::json`` / ``::text`` casts.
        time_in, time_out: a timestamp to and from the database.
        date_in: a date to the database.
        book_of_job: SQL that is true when a job's request names the book ``?`` (the JSON
            functions differ), and how the book id is passed.
    """

    name: str
    placeholder: str
    casts: bool
    time_in: Callable[[dt.datetime], Any]
    time_out: Callable[[Any], dt.datetime]
    date_in: Callable[[dt.date], Any]
    book_of_job: str
    book_param: Callable[[int], Any]

    def sql(self, text: str) -> str:
        """``text`` (PostgreSQL's SQL with ``?`` markers) in this dialect."""
        return _translate(text, self.placeholder, self.casts)


@functools.cache
def _translate(text: str, placeholder: str, casts: bool) -> str:
    if not casts:
        text = text.replace("::json", "").replace("::text", "")
    return text.replace("?", placeholder)


SQLITE = Dialect(
    "sqlite",
    "?",
    casts=False,
    time_in=to_us,
    time_out=from_us,
    date_in=dt.date.isoformat,
    book_of_job="json_valid(request) AND json_extract(request, '$.portfolio_id') = ?",
    book_param=int,
)
POSTGRESQL = Dialect(
    "postgresql",
    "%s",
    casts=True,
    time_in=lambda ts: ts,
    time_out=_utc,
    date_in=lambda d: d,
    book_of_job="request->>'portfolio_id' = ?",
    book_param=str,
)


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    """One transaction of a backend: ``execute`` and ``executemany`` in its dialect (a
    ``sqlite3.Connection``; on PostgreSQL a thin wrapper of the pooled connection)."""

    def execute(self, sql: str, params: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...


class DialectStore:
    """A store part written once over a dialect, for a backend that provides ``dialect``,
    ``_query(sql, params)`` (a read) and ``_transaction()`` (a write transaction: committed at
    the end of the block, rolled back on error, its driver errors turned into StoreError and
    StoreUnavailable)."""

    dialect: Dialect

    def _query(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read(self, sql: str, params: Sequence = ()) -> list[tuple]:
        return self._query(self.dialect.sql(sql), params)

    def _now(self) -> Any:
        """The current time, as the database takes it."""
        return self.dialect.time_in(utc_now())

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
