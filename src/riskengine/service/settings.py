"""Settings of the API service, read once from ``RISKENGINE_*`` environment variables.

``Settings.from_env()`` is the only place that reads the environment; everything else takes a
``Settings`` as a parameter (tests build one directly).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from riskengine.errors import InputError
from riskengine.store.tsjobs import MODES as JOB_MODES

PREFIX = "RISKENGINE_"


def default_processes() -> int:
    """Worker processes by default: one per core (none on a one-core machine)."""
    n = os.cpu_count() or 1
    return n if n > 1 else 0


@dataclass(frozen=True)
class Settings:
    """Attributes (environment variable = ``RISKENGINE_`` + the name in capitals):
    database_url: store URL (default: ``sqlite:///riskengine.sqlite3``).
    host, port: where ``riskengine serve`` listens (default 127.0.0.1:8000).
    auth: require an API key on every request but the health checks (default true;
        the demo turns it off and listens on 127.0.0.1 only).
    cors_origins: comma-separated origins allowed by CORS (default: none).
    max_body_bytes: the largest request body accepted (default 16 MiB).
    max_positions: the most positions a portfolio may hold (default 50,000).
    async_cost: a risk request whose cost (scenarios x positions) exceeds this runs as a
        job and answers 202 (default 200,000,000: 10,000 paths x 20,000 positions).
    async_backtest_days: a backtest with more forecast days x methods than this runs as
        a job (default 60).
    compute_threads: risk computations run at once for synchronous requests and live
        pushes (default: the CPU count).
    compute_tenant_limit: synchronous computations one tenant may have queued or running
        (default 32); more are refused with 429 and Retry-After. The tenants' computations
        run in turn (docs/api.md#load-and-fairness).
    compute_limit: synchronous computations queued or running in all (default 256).
    io_threads: threads for store reads and writes and file parsing, apart from the
        computations so that they never wait behind them (default 8).
    compute_processes: worker processes that run the synchronous risk computations, so
        that they use every core (default: the CPU count; 0 on one core, or to compute on
        threads of the server process).
    job_workers: jobs run at once (default 2); one tenant runs at most job_workers - 1 of
        them at once (all, with one worker).
    job_tenant_limit: jobs one tenant may have queued or running (default 8); more are
        refused with 429 and Retry-After.
    job_limit: jobs queued or running in all (default 256).
    max_limits: the most limits a portfolio may hold (default 1,000).
    max_watches: the books one live WebSocket may watch at once (default 16).
    live_send_timeout: seconds a live WebSocket may take to take one message before the
        server closes it (code 4408, default 10); meanwhile only its latest report of
        each book and its latest prices wait.
    history_days: business days of risk history kept per book (default 260; 0 keeps all).
    history_intraday: reports kept per book, method and market date (default 20): the
        latest, so the end-of-day report stays.
    live_debounce: seconds between the first tick after a push and the next push
        (default 1.0).
    snapshot_interval: seconds a market snapshot (the latest prices) is used after ticks
        arrive before it is read again (default 1.0; 0: read at the first request after
        each stored batch): requests in one interval share one snapshot, and so the book
        preparation done per snapshot. Live pushes always end on the latest snapshot.
    live_seed: the Monte Carlo seed of live reports that do not give one (default 7), so
        that a pushed VaR moves with the market, not with sampling noise.
    feed_url, feed_venue, feed_symbols: a WebSocket feed to ingest while serving (default:
        none; venue default ``riskengine``; symbols comma-separated, default every
        symbol with daily bars in the store).
    log_format: ``json`` (default) or ``text``.
    log_level: ``info`` (default), ``debug``, ``warning``, ...
    timescale_jobs: what to do about TimescaleDB's background jobs (docs/store.md): ``run``
        (default: report their problems and run the late ones here), ``report`` or ``off``.
    """

    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    auth: bool = True
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 16 * 2**20
    max_positions: int = 50_000
    async_cost: int = 200_000_000
    async_backtest_days: int = 60
    compute_threads: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    compute_tenant_limit: int = 32
    compute_limit: int = 256
    io_threads: int = 8
    compute_processes: int = dataclasses.field(default_factory=default_processes)
    job_workers: int = 2
    job_tenant_limit: int = 8
    job_limit: int = 256
    max_limits: int = 1000
    max_watches: int = 16
    live_send_timeout: float = 10.0
    history_days: int = 260
    history_intraday: int = 20
    live_debounce: float = 1.0
    live_seed: int = 7
    snapshot_interval: float = 1.0
    feed_url: str | None = None
    feed_venue: str = "riskengine"
    feed_symbols: tuple[str, ...] = ()
    dask_scheduler: str | None = None
    key_cache_seconds: float = 5.0
    log_format: str = "json"
    log_level: str = "info"
    timescale_jobs: str = "run"

    def __post_init__(self):
        for name in (
            "port",
            "max_body_bytes",
            "max_positions",
            "async_cost",
            "async_backtest_days",
            "compute_threads",
            "compute_tenant_limit",
            "compute_limit",
            "io_threads",
            "compute_processes",
            "job_workers",
            "job_tenant_limit",
            "job_limit",
            "max_limits",
            "max_watches",
            "history_days",
            "history_intraday",
        ):
            v = getattr(self, name)
            low = 0 if name in ("port", "history_days", "compute_processes") else 1
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise InputError(f"setting {name} must be an integer >= {low}; got {v!r}.")
        if not self.snapshot_interval >= 0:
            raise InputError(
                f"setting snapshot_interval must be >= 0 seconds; got {self.snapshot_interval}."
            )
        if not self.live_send_timeout > 0:
            raise InputError(
                f"setting live_send_timeout must be > 0 seconds; got {self.live_send_timeout}."
            )
        if not self.live_debounce >= 0:
            raise InputError(
                f"setting live_debounce must be >= 0 seconds; got {self.live_debounce}."
            )
        if self.log_format not in ("json", "text"):
            raise InputError(f"setting log_format must be json or text; got {self.log_format!r}.")
        if self.timescale_jobs not in JOB_MODES:
            raise InputError(
                f"setting timescale_jobs must be one of {', '.join(JOB_MODES)}; got "
                f"{self.timescale_jobs!r}."
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from ``RISKENGINE_*`` variables (``environ``, default os.environ), then
        ``overrides``. A value that does not parse is an InputError naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in dataclasses.fields(cls):
            var = PREFIX + f.name.upper()
            raw = environ.get(var)
            if raw is None or raw.strip() == "":
                continue
            # a string: this module's annotations are postponed (from __future__ import annotations)
            values[f.name] = _parse(var, raw.strip(), cast(str, f.type))
        values.update(overrides)
        return cls(**values)


def _parse(var: str, raw: str, kind: str):
    try:
        if kind == "bool":
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            return int(raw.replace("_", ""))
        if kind == "float":
            return float(raw)
        if kind == "tuple[str, ...]":
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        return raw
    except ValueError:
        hint = {"bool": "true or false", "int": "an integer", "float": "a number"}.get(kind, kind)
        raise InputError(f"{var}={raw!r} is not {hint}; fix or unset the variable.") from None
