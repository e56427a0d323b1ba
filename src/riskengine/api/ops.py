"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from riskengine.api.jsonbody import JsonRoute
from riskengine.api.problems import JSONResponse, problem_response, public_store_detail
from riskengine.errors import RiskEngineError
from riskengine.store.base import StoreError

log = logging.getLogger("riskengine.api")
router = APIRouter(tags=["operations"], route_class=JsonRoute)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz():
    return JSONResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness: the store answers and holds daily history")
async def readyz(request: Request):
    """Ready when the store answers a query now (the history may be served from memory, so it
    alone would not tell) and holds daily history."""
    state = request.app.state.api

    def check():
        state.store.schema_version()
        return state.market.history(), state.store.background_jobs()

    try:
        history, store_jobs = await state.run(check)
    except Exception as exc:  # any failure means not ready; the reason goes in the answer
        log.warning("not ready: %s", exc)  # the whole reason, with paths and hosts, stays here
        if isinstance(exc, StoreError):
            reason = public_store_detail(exc)
        elif isinstance(exc, RiskEngineError):  # e.g. no daily history: the user's way out
            reason = str(exc)
        else:
            reason = "an unexpected error, in the server's log"
        return problem_response(
            request,
            503,
            "not-ready",
            "Not ready",
            f"the store is not ready: {reason} (the service answers risk requests once this is "
            "fixed; retry later)",
            headers={"Retry-After": "5"},
        )
    return JSONResponse(
        {
            "status": "ready",
            "symbols": len(history.symbols),
            "last_closed_date": history.last_date.isoformat(),
            "jobs": state.jobs.depth,
            "store": type(state.store).__name__,
            # TimescaleDB's background jobs with a problem (docs/store.md); ready all the same
            "store_jobs": [j.describe() for j in store_jobs if j.problems],
        }
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request):
    state = request.app.state.api
    state.refresh_metrics()
    registry = state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
