"""The live WebSocket: watch books, receive the latest prices and a fresh risk report (with
limit breaches) when the market moves.

Client -> server: ``{"action": "watch", "portfolio_id": 1, "request": {risk options}}``,
``{"action": "unwatch", "portfolio_id": 1}``, ``{"action": "ping"}``.
Server -> client: ``hello``, ``prices``, ``report`` (with ``breaches``), ``error`` (a problem
document), ``pong``. Authenticate with ``?api_key=KEY`` (browsers cannot set headers on a
WebSocket) or the X-API-Key header.
"""

from __future__ import annotations

import asyncio
import contextlib

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from riskengine.api.jsonbody import parse_json
from riskengine.api.problems import ApiProblem
from riskengine.api.schemas import RiskRequest
from riskengine.api.state import ApiState, ws_tenant
from riskengine.service.live import Subscriber

router = APIRouter()

_OPTIONS = set(RiskRequest.model_fields) - {"portfolio_id", "portfolio"}


def _error(detail: str, kind: str = "validation", status: int = 422) -> dict:
    return {
        "type": "error",
        "problem": {
            "type": f"urn:riskengine:problem:{kind}",
            "title": "Invalid message",
            "status": status,
            "detail": detail,
        },
    }


def _dumps(message: dict) -> str:
    return orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode()


@router.websocket("/api/v1/live")
async def live(ws: WebSocket):
    state: ApiState = ws.app.state.api
    try:
        who = ws_tenant(ws)
    except ApiProblem as exc:  # accept first, so the client sees the reason and the code
        await ws.accept()
        await ws.send_text(_dumps(_error(exc.detail, "unauthorized", 401)))
        await ws.close(code=4401, reason=exc.title)
        return
    await ws.accept()
    sub = Subscriber(who)
    state.hub.add(sub)
    await ws.send_text(
        _dumps(
            {
                "type": "hello",
                "tenant": who,
                "debounce": state.settings.live_debounce,
                "simulated_prices": state.simulated_prices,
            }
        )
    )
    prices = await state.live_prices()
    if prices is not None:
        sub.send(prices)
    sender = asyncio.create_task(_send(ws, sub))
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
            text = message.get("text")  # a binary frame is read as UTF-8 JSON too
            await _handle(state, sub, text if text is not None else message.get("bytes") or b"")
    except WebSocketDisconnect:
        pass
    finally:
        state.hub.remove(sub)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _send(ws: WebSocket, sub: Subscriber) -> None:
    while True:
        message = await sub.queue.get()
        await ws.send_text(_dumps(message))


async def _handle(state: ApiState, sub: Subscriber, text: str | bytes) -> None:
    try:
        msg = parse_json(text, what="the message", field="message")
    except ApiProblem as exc:  # not JSON, or nested too deep
        sub.send(_error(f'{exc.detail} Send e.g. {{"action": "watch", "portfolio_id": 1}}.'))
        return
    action = msg.get("action") if isinstance(msg, dict) else None
    if action == "ping":
        sub.send({"type": "pong"})
        return
    book_id = msg.get("portfolio_id") if isinstance(msg, dict) else None
    if action not in ("watch", "unwatch"):
        sub.send(_error(f"action {action!r} is not one of: watch, unwatch, ping."))
        return
    if isinstance(book_id, bool) or not isinstance(book_id, int):
        sub.send(_error(f"portfolio_id = {book_id!r}: give the integer id of a stored portfolio."))
        return
    if action == "unwatch":
        sub.watches.pop(book_id, None)
        return
    options = msg.get("request") or {}
    if not isinstance(options, dict) or set(options) - _OPTIONS:
        bad = sorted(set(options) - _OPTIONS) if isinstance(options, dict) else options
        sub.send(
            _error(
                f"request has unknown field(s) {bad}; use the fields of POST "
                "/api/v1/risk other than portfolio_id and portfolio."
            )
        )
        return
    try:
        request = RiskRequest(portfolio_id=book_id, **options)
    except ValidationError as exc:
        e = exc.errors()[0]
        field = ".".join(str(p) for p in e["loc"])
        sub.send(_error(f"request.{field} = {e.get('input')!r}: {e['msg']}."))
        return
    await state.hub.watch(
        sub,
        book_id,
        request.model_dump(mode="json", exclude_none=True, exclude={"portfolio_id", "portfolio"}),
    )
