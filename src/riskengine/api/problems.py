"""RFC 9457 problem details for every error, and orjson-encoded JSON responses.

Each problem has a ``type`` (a URN documented in docs/api.md#problems), the HTTP ``status``,
a ``title`` and a ``detail`` that names the field, the value and the way out. Validation
problems list every bad field in ``errors`` as ``{"field", "value", "problem"}``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from riskengine.errors import (
    DataQualityError,
    InputError,
    InsufficientHistoryError,
    NonFiniteResultError,
    NoPositionsError,
    NotFoundError,
    RiskEngineError,
    TooLargeError,
    UnknownSymbolError,
)
from riskengine.store.base import StoreError, StoreUnavailable

log = logging.getLogger("riskengine.api")

PROBLEM_TYPE = "urn:riskengine:problem:"
SCHEMA_HINT = "See the request schema at /api/v1/openapi.json or docs/api.md."


class JSONResponse(Response):
    """JSON encoded by orjson (numpy arrays and scalars included; NaN and inf become null)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def encode(content) -> bytes:
    """JSON bytes of ``content`` as JSONResponse writes them (call it off the event loop for
    large answers: a 5,000-position report is over a megabyte)."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


class RawJSONResponse(Response):
    """Pre-encoded JSON text (a stored report or job result)."""

    media_type = "application/json"


class ApiProblem(Exception):
    """An error to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors=None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.errors = errors
        self.headers = headers


def problem_response(
    request: Request | None,
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors=None,
    headers=None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + kind,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = errors
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


# Engine errors -> (status, type, title), most specific first.
ENGINE_PROBLEMS: tuple[tuple[type, int, str, str], ...] = (
    (NotFoundError, 404, "not-found", "Not found"),
    (TooLargeError, 413, "too-large", "Request too large"),
    (UnknownSymbolError, 422, "unknown-symbol", "Unknown symbol"),
    (InsufficientHistoryError, 422, "insufficient-history", "Not enough history"),
    (NoPositionsError, 422, "no-positions", "No position can be priced"),
    (DataQualityError, 422, "data-quality", "Bad data"),
    (NonFiniteResultError, 422, "non-finite-result", "No finite result"),
    (InputError, 422, "invalid-input", "Invalid input"),
    (StoreUnavailable, 503, "store-unavailable", "Database unavailable"),
    (StoreError, 500, "store-error", "Database error"),
    (RiskEngineError, 422, "invalid-input", "Invalid input"),
)


def _field(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _short(value, limit: int = 80) -> str:
    try:
        text = orjson.dumps(value, default=str).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def install(app: FastAPI) -> None:
    """Map every error to problem+json."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = []
        for e in exc.errors():
            loc = [p for p in e.get("loc", ()) if p != "body"] or list(e.get("loc", ()))
            errors.append(
                {
                    "field": _field(loc),
                    "value": _short(e.get("input")),
                    "problem": e.get("msg", "invalid"),
                }
            )
        first = errors[0] if errors else {"field": "body", "value": "", "problem": "invalid"}
        more = f" (and {len(errors) - 1} more, listed in errors)" if len(errors) > 1 else ""
        detail = (
            f"{first['field']} = {first['value']}: {first['problem']}{more}. Fix the field "
            f"and send the request again. {SCHEMA_HINT}"
        )
        return problem_response(request, 422, "validation", "Invalid request", detail, errors)

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem):
        return problem_response(
            request, exc.status, exc.kind, exc.title, exc.detail, exc.errors, exc.headers
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized"}
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint at {request.url.path}; the API is listed at /api/v1/docs."
        elif exc.status_code == 405:
            detail = (
                f"{request.method} is not allowed on {request.url.path}; the API lists the "
                "methods of each path at /api/v1/docs."
            )
        return problem_response(
            request,
            exc.status_code,
            "http",
            titles.get(exc.status_code, "HTTP error"),
            detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RiskEngineError)
    async def _engine(request: Request, exc: RiskEngineError):
        return engine_problem(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            "internal",
            "Internal error",
            "the server failed unexpectedly; the error is in its log. "
            "Retry, and report it if it persists.",
        )


def engine_problem(request: Request | None, exc: RiskEngineError) -> Response:
    for cls, status, kind, title in ENGINE_PROBLEMS:
        if isinstance(exc, cls):
            if status >= 500:
                log.error("store error: %s", exc)
            headers = {"Retry-After": "5"} if status == 503 else None
            return problem_response(request, status, kind, title, str(exc), headers=headers)
    raise exc  # unreachable: RiskEngineError is the last entry


def engine_problem_body(exc: RiskEngineError) -> dict:
    """The problem document of an engine error (for WebSocket messages)."""
    resp = engine_problem(None, exc)
    return orjson.loads(resp.body)
