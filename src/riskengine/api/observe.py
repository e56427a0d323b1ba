"""Observability: Prometheus metrics (own registry per app), JSON logs, and the ASGI
middleware that times every request, logs it and enforces the request body limit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from riskengine.api.problems import ApiProblem, problem_response

BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2.5, 5, 10, 30)
access = logging.getLogger("riskengine.access")


class Metrics:
    """The service's metrics; gauges read their values when scraped."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "riskengine_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "riskengine_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.compute = Histogram(
            "riskengine_compute_seconds",
            "Risk computation time by method",
            ["method"],
            buckets=BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("riskengine_job_queue_depth", "Jobs queued or running", registry=r)
        self.ingest_ticks = Gauge(
            "riskengine_ingest_ticks_stored",
            "Ticks stored by the ingest service of this process",
            registry=r,
        )
        self.ingest_rate = Gauge(
            "riskengine_ingest_ticks_per_second",
            "Ticks stored per second over the last scrape interval",
            registry=r,
        )
        self.ingest = Gauge(
            "riskengine_ingest",
            "Counters of the ingest service of this process (docs/ingest.md)",
            ["counter"],
            registry=r,
        )
        self.subscribers = Gauge(
            "riskengine_live_subscribers", "WebSocket clients connected", registry=r
        )
        self.preparation = Gauge(
            "riskengine_book_preparation",
            "Compiled-book cache of the risk computations (per book version and market "
            "snapshot): hits and lookups since start",
            ["counter"],
            registry=r,
        )
        self.store_jobs_failing = Gauge(
            "riskengine_store_jobs_failing",
            "TimescaleDB background jobs with a problem, as last checked (docs/store.md)",
            registry=r,
        )


class RequestMiddleware:
    """Pure ASGI: body size limit (413 problem before the body is read), latency metrics by
    route template, one structured log line per request."""

    def __init__(self, app, *, metrics: Metrics, max_body_bytes: int):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]
        length = None
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    length = int(v)
                except ValueError:
                    length = -1
        if length is not None and (length < 0 or length > self.max_body):
            await self._too_large(f"of {length} bytes ")(scope, receive, send)
            self._done(scope, 413, started)
            return
        seen = [0]
        limit = self.max_body

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:  # a chunked body (no Content-Length) grew over the limit
                    raise BodyTooLarge(self._too_large_detail(""))
            return message

        responded = [False]

        async def tracking_send(message):
            if message["type"] == "http.response.start":
                status[0], responded[0] = message["status"], True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:  # read outside the routes' handlers (a mounted app)
            if responded[0]:  # the response has started: nothing more can be said
                raise
            await problem_response(None, 413, exc.kind, exc.title, exc.detail)(scope, receive, send)
            status[0] = 413
        self._done(scope, status[0], started)

    def _too_large_detail(self, size: str) -> str:
        return (
            f"the request body {size}exceeds the limit of {self.max_body} bytes; send a "
            "smaller body (split the book) or raise RISKENGINE_MAX_BODY_BYTES."
        )

    def _too_large(self, size: str):
        return problem_response(
            None, 413, "too-large", "Request too large", self._too_large_detail(size)
        )

    def _done(self, scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(elapsed)
        if access.isEnabledFor(logging.INFO):
            access.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "path": scope.get("path"),
                        "route": template,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                        "tenant": scope.get("state", {}).get("tenant"),
                    }
                },
            )


class BodyTooLarge(ApiProblem):
    """The body grew over the limit while it was read: answered 413 ``too-large`` by the
    app's problem handlers (FastAPI passes an HTTPException raised while reading the body)."""

    def __init__(self, detail: str):
        super().__init__(413, "too-large", "Request too large", detail)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any ``extra={"fields": {}}``."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    """Log to stderr as JSON lines (or text); called by the server entry points only."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
