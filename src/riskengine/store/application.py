"""The application store: instruments, books, risk reports, jobs, API keys and data-quality
events, written once over the SQL dialect of ``dialect.py`` and shared by both backends. What
differs between the backends beyond that (the tick write path, the bars, the migrations, the
connection and its errors) stays in ``sqlite.py`` and ``postgres.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from riskengine.store.base import (
    QualityEvent,
    StoreError,
    check_json,
    join_instrument,
    split_instrument,
)
from riskengine.store.dialect import DialectStore


class ApplicationStore(DialectStore):
    """The application part of a store (``base.AppStore``), and the data-quality events."""

    # --- data quality -------------------------------------------------------------------
    def record_quality(self, events: Sequence[QualityEvent]) -> None:
        if not events:
            return
        t = self.dialect.time_in
        with self._transaction() as tx:
            tx.executemany(
                self.dialect.sql(
                    "INSERT INTO data_quality (ts, kind, symbol, venue, detail, count) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                [(t(e.ts), e.kind, e.symbol, e.venue, e.detail, e.count) for e in events],
            )

    def quality_events(
        self, *, kind: str | None = None, since: dt.datetime | None = None
    ) -> list[QualityEvent]:
        sql = "SELECT ts, kind, symbol, venue, detail, count FROM data_quality WHERE 1 = 1"
        params: list = []
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if since is not None:
            sql += " AND ts >= ?"
            params.append(self.dialect.time_in(since))
        out = self.dialect.time_out
        return [
            QualityEvent(out(ts), k, s, v, d, int(c))
            for ts, k, s, v, d, c in self._read(sql + " ORDER BY ts, id", params)
        ]

    # --- instruments ----------------------------------------------------------------------
    def upsert_instruments(self, rows: Sequence[dict]) -> None:
        now = self._now()
        values = [(*split_instrument(r), now) for r in rows]
        if not values:
            return
        with self._transaction() as tx:
            tx.executemany(
                self.dialect.sql(
                    "INSERT INTO instruments (symbol, asset_class, currency, venue_symbols, "
                    "extra, updated_at) VALUES (?, ?, ?, ?::json, ?::json, ?) "
                    "ON CONFLICT (symbol) DO UPDATE SET asset_class = excluded.asset_class, "
                    "currency = excluded.currency, venue_symbols = excluded.venue_symbols, "
                    "extra = excluded.extra, updated_at = excluded.updated_at"
                ),
                values,
            )

    def instruments(self) -> list[dict]:
        rows = self._read(
            "SELECT symbol, asset_class, currency, venue_symbols::text, extra::text "
            "FROM instruments ORDER BY symbol"
        )
        return [join_instrument(*r) for r in rows]

    # --- books ------------------------------------------------------------------------------
    def save_portfolio(
        self, tenant: str, name: str, portfolio_json: str, *, portfolio_id: int | None = None
    ) -> int:
        """A new portfolio (returns its id), or, with ``portfolio_id``, replace that one of
        ``tenant`` (StoreError if the tenant has no such portfolio)."""
        check_json(portfolio_json, f"portfolio {name!r}")
        now, sql = self._now(), self.dialect.sql
        with self._transaction() as tx:
            if portfolio_id is None:
                rows = tx.execute(
                    sql(
                        "INSERT INTO portfolios (tenant, name, body, created_at, updated_at) "
                        "VALUES (?, ?, ?::json, ?, ?) RETURNING id"
                    ),
                    (tenant, name, portfolio_json, now, now),
                ).fetchall()
                return int(rows[0][0])
            rows = tx.execute(
                sql(
                    "UPDATE portfolios SET name = ?, body = ?::json, updated_at = ? "
                    "WHERE id = ? AND tenant = ? RETURNING id"
                ),
                (name, portfolio_json, now, portfolio_id, tenant),
            ).fetchall()
        if not rows:
            raise StoreError(f"tenant {tenant!r} has no portfolio {portfolio_id}.")
        return portfolio_id

    def load_portfolio(self, tenant: str, portfolio_id: int) -> tuple[str, str] | None:
        rows = self._read(
            "SELECT name, body::text FROM portfolios WHERE id = ? AND tenant = ?",
            (portfolio_id, tenant),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def list_portfolios(self, tenant: str) -> list[tuple[int, str]]:
        rows = self._read("SELECT id, name FROM portfolios WHERE tenant = ? ORDER BY id", (tenant,))
        return [(int(i), n) for i, n in rows]

    def delete_portfolio(self, tenant: str, portfolio_id: int) -> bool:
        """Delete the book with its risk history and its jobs (one transaction); its id is
        never given again. False when the tenant has no such book."""
        d = self.dialect
        with self._transaction() as tx:
            gone = tx.execute(
                d.sql("DELETE FROM portfolios WHERE id = ? AND tenant = ? RETURNING id"),
                (portfolio_id, tenant),
            ).fetchall()
            if not gone:
                return False
            tx.execute(
                d.sql("DELETE FROM risk_reports WHERE tenant = ? AND portfolio_id = ?"),
                (tenant, portfolio_id),
            )
            tx.execute(
                d.sql(f"DELETE FROM jobs WHERE tenant = ? AND {d.book_of_job}"),
                (tenant, d.book_param(portfolio_id)),
            )
            return True

    # --- risk reports -----------------------------------------------------------------------
    def save_report(
        self,
        tenant: str,
        portfolio_id: int | None,
        as_of: dt.date,
        method: str,
        report_json: str,
        *,
        keep_days: int = 0,
        keep_per_day: int = 0,
    ) -> int:
        """Add a report to the book's risk history; then (same transaction) thin the book's
        history: ``keep_per_day`` > 0 keeps that many latest reports of the book, method and
        market date (the last, end-of-day report always among them); ``keep_days`` > 0 drops
        the reports whose market date is ``keep_days`` business days or more before ``as_of``."""
        check_json(report_json, "report")
        d = self.dialect
        day = d.date_in(as_of)
        with self._transaction() as tx:
            rows = tx.execute(
                d.sql(
                    "INSERT INTO risk_reports (tenant, portfolio_id, as_of, method, created_at, "
                    "body) VALUES (?, ?, ?, ?, ?, ?::json) RETURNING id"
                ),
                (tenant, portfolio_id, day, method, self._now(), report_json),
            ).fetchall()
            if portfolio_id is not None and keep_per_day > 0:
                same = "tenant = ? AND portfolio_id = ? AND as_of = ? AND method = ?"
                key = (tenant, portfolio_id, day, method)
                tx.execute(
                    d.sql(
                        f"DELETE FROM risk_reports WHERE {same} AND id NOT IN (SELECT id FROM "
                        f"risk_reports WHERE {same} ORDER BY id DESC LIMIT ?)"
                    ),
                    (*key, *key, int(keep_per_day)),
                )
            if portfolio_id is not None and keep_days > 0:
                first = np.busday_offset(
                    np.datetime64(as_of, "D"), -(keep_days - 1), roll="backward"
                )
                old = "tenant = ? AND portfolio_id = ? AND as_of < ?"
                tx.execute(
                    d.sql(f"DELETE FROM risk_reports WHERE {old}"),
                    (tenant, portfolio_id, d.date_in(first.astype(object))),
                )
        return int(rows[0][0])

    def reports(
        self,
        tenant: str,
        portfolio_id: int | None = None,
        *,
        limit: int = 100,
        before: int | None = None,
        method: str | None = None,
        since: dt.datetime | None = None,
    ) -> list[tuple[int, dt.datetime, str]]:
        sql = "SELECT id, created_at, body::text FROM risk_reports WHERE tenant = ?"
        params: list = [tenant]
        if portfolio_id is not None:
            sql += " AND portfolio_id = ?"
            params.append(portfolio_id)
        if method is not None:
            sql += " AND method = ?"
            params.append(method)
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(self.dialect.time_in(since))
        if before is not None:  # the reports after that one in this order
            sql += (
                " AND (created_at, id) < (SELECT created_at, id FROM risk_reports "
                "WHERE tenant = ? AND id = ?)"
            )
            params += [tenant, int(before)]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(int(limit))
        out = self.dialect.time_out
        return [(int(i), out(c), b) for i, c, b in self._read(sql, params)]

    # --- jobs -----------------------------------------------------------------------------
    def save_job(
        self,
        tenant: str,
        job_id: str,
        kind: str,
        state: str,
        progress: float,
        request_json: str,
        result_json: str | None = None,
        error: str | None = None,
    ) -> None:
        check_json(request_json, f"job {job_id!r} request")
        check_json(result_json, f"job {job_id!r} result")
        now = self._now()
        with self._transaction() as tx:
            tx.execute(
                self.dialect.sql(
                    "INSERT INTO jobs (id, tenant, kind, state, progress, request, result, "
                    "error, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?::json, ?::json, ?, ?, ?) "
                    "ON CONFLICT (tenant, id) DO UPDATE SET kind = excluded.kind, "
                    "state = excluded.state, progress = excluded.progress, "
                    "request = excluded.request, result = excluded.result, "
                    "error = excluded.error, updated_at = excluded.updated_at "
                    # a finished row is replaced only by another finished state
                    "WHERE jobs.state IN ('queued', 'running') "
                    "OR excluded.state IN ('succeeded', 'failed', 'cancelled')"
                ),
                (job_id, tenant, kind, state, float(progress), request_json, result_json, error,
                 now, now),
            )  # fmt: skip

    def load_job(self, tenant: str, job_id: str) -> dict | None:
        rows = self._read(
            "SELECT id, tenant, kind, state, progress, request::text, result::text, error, "
            "created_at, updated_at FROM jobs WHERE tenant = ? AND id = ?",
            (tenant, job_id),
        )
        if not rows:
            return None
        i, t, k, s, p, req, res, err, c, u = rows[0]
        out = self.dialect.time_out
        return {"id": i, "tenant": t, "kind": k, "state": s, "progress": float(p),
                "request": req, "result": res, "error": err, "created_at": out(c),
                "updated_at": out(u)}  # fmt: skip

    def jobs(self, tenant: str, *, limit: int = 100, before: str | None = None) -> list[dict]:
        """The tenant's jobs, newest first (then by id, descending), without their request and
        result bodies; with ``before`` (a job id), those that come after that job."""
        sql = "SELECT id, kind, state, progress, error, created_at, updated_at FROM jobs "
        sql += "WHERE tenant = ?"
        params: list = [tenant]
        if before is not None:
            sql += (
                " AND (created_at, id) < (SELECT created_at, id FROM jobs WHERE tenant = ? "
                "AND id = ?)"
            )
            params += [tenant, before]
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        rows = self._read(sql, [*params, int(limit)])
        out = self.dialect.time_out
        return [
            {"id": i, "tenant": tenant, "kind": k, "state": s, "progress": float(p),
             "error": e, "created_at": out(c), "updated_at": out(u)}
            for i, k, s, p, e, c, u in rows
        ]  # fmt: skip

    def touch_jobs(self, jobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The heartbeat: ``updated_at`` = now for those of ``jobs`` still queued or running;
        returns those (tenant, id) pairs."""
        if not jobs:
            return set()
        now, live = self._now(), set[tuple[str, str]]()
        sql = self.dialect.sql(
            "UPDATE jobs SET updated_at = ? WHERE tenant = ? AND id = ? "
            "AND state IN ('queued', 'running') RETURNING tenant, id"
        )
        with self._transaction() as tx:
            for tenant, job_id in jobs:
                live.update((t, i) for t, i in tx.execute(sql, (now, tenant, job_id)).fetchall())
        return live

    def interrupt_jobs(
        self,
        error: str,
        *,
        updated_before: dt.datetime | None = None,
        job: tuple[str, str] | None = None,
    ) -> int:
        """Mark queued or running jobs failed with ``error``: all, or those whose heartbeat is
        older than ``updated_before``; only ``job`` (tenant, id) when given. Returns how many."""
        sql = "UPDATE jobs SET state = 'failed', error = ?, updated_at = ? "
        sql += "WHERE state IN ('queued', 'running')"
        params: list = [error, self._now()]
        if updated_before is not None:
            sql += " AND updated_at < ?"
            params.append(self.dialect.time_in(updated_before))
        if job is not None:
            sql += " AND tenant = ? AND id = ?"
            params.extend(job)
        with self._transaction() as tx:
            return len(tx.execute(self.dialect.sql(sql + " RETURNING id"), params).fetchall())

    # --- API keys ---------------------------------------------------------------------------
    def save_api_key(self, key_id: str, tenant: str, secret_hash: str, label: str = "") -> None:
        with self._transaction() as tx:
            tx.execute(
                self.dialect.sql(
                    "INSERT INTO api_keys (key_id, tenant, secret_hash, label, created_at) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (key_id, tenant, secret_hash, label, self._now()),
            )

    def api_keys(self, tenant: str | None = None, key_id: str | None = None) -> list[dict]:
        """Stored keys (hashes only), oldest first; filtered by tenant and/or key id."""
        sql = "SELECT key_id, tenant, secret_hash, label, created_at, revoked_at FROM api_keys"
        where, params = [], []
        if tenant is not None:
            where.append("tenant = ?")
            params.append(tenant)
        if key_id is not None:
            where.append("key_id = ?")
            params.append(key_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        out = self.dialect.time_out
        return [
            {"key_id": k, "tenant": t, "secret_hash": h, "label": lab,
             "created_at": out(c), "revoked_at": None if r is None else out(r)}
            for k, t, h, lab, c, r in self._read(sql + " ORDER BY created_at, key_id", params)
        ]  # fmt: skip

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key (True), or False when there is no such unrevoked key."""
        with self._transaction() as tx:
            rows = tx.execute(
                self.dialect.sql(
                    "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL "
                    "RETURNING key_id"
                ),
                (self._now(), key_id),
            ).fetchall()
        return bool(rows)

    def schema_version(self) -> int:
        return int(self._read("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])
