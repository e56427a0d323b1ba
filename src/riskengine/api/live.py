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
import logging

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from riskengine.api.jsonbody import parse_json
from riskengine.api.problems import ApiProblem, engine_problem_body
from riskengine.api.schemas import RiskRequest
from riskengine.api.state import ApiState, presented_key, ws_tenant
from riskengine.errors import RiskEngineError
from riskengine.service.live import Subscriber
from riskengine.service.risk import risk_cost

log = logging.getLogger("riskengine.live")
router = APIRouter()
KEY_RECHECK = 1.0  # seconds between checks of an open socket's API key (docs: within 5 s)

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
    closing: list[tuple[int, str]] = []  # why the server closes the socket, when it does
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
    reader = asyncio.current_task()
    tasks = [asyncio.create_task(_send(ws, sub, state.settings.live_send_timeout, closing, reader))]
    if state.settings.auth:
        key = presented_key(ws.headers, ws.query_params) or ""
        tasks.append(asyncio.create_task(_watch_key(ws, state, key, sub, closing, reader)))
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
            text = message.get("text")  # a binary frame is read as UTF-8 JSON too
            await _handle(state, sub, text if text is not None else message.get("bytes") or b"")
    except (WebSocketDisconnect, asyncio.CancelledError):
        pass
    finally:
        state.hub.remove(sub)
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=2.0)
        if closing:
            code, reason = closing[0]
            if code != 4408:  # a client that reads gets its last messages
                await _drain(sub, ws)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await ws.close(code=code, reason=reason)


async def _send(ws: WebSocket, sub: Subscriber, timeout: float, closing: list, reader) -> None:
    """Send the subscriber's messages; a client that takes none for ``timeout`` seconds is
    dropped (its reports stop, the socket is closed with 4408)."""
    while True:
        message = await sub.next()
        try:
            async with asyncio.timeout(timeout):
                await ws.send_text(_dumps(message))
        except TimeoutError:
            log.warning("live: a %s client took no message for %g s; closed", sub.tenant, timeout)
            closing.append((4408, "too slow: read the socket"))
            reader.cancel()
            return


async def _watch_key(ws: WebSocket, state: ApiState, key: str, sub: Subscriber, closing: list,
                     reader) -> None:  # fmt: skip
    """Close the socket (4401) within about twice ``KEY_RECHECK`` seconds of its API key's
    revocation (the store is read at most once per ``KEY_RECHECK`` per key, whatever the
    number of sockets open with it)."""
    while True:
        await asyncio.sleep(KEY_RECHECK)
        try:
            tenant = await state.run(state.keys.tenant, key, max_age=KEY_RECHECK)
        except RiskEngineError as exc:  # the store is down: check again at the next round
            log.warning("live: could not check a socket's API key: %s", exc)
            continue
        if tenant is None:
            sub.send(_error("the API key of this socket was revoked; reconnect with a valid key.",
                            "unauthorized", 401))  # fmt: skip
            closing.append((4401, "API key revoked"))
            reader.cancel()
            return


async def _drain(sub: Subscriber, ws: WebSocket) -> None:
    """Send what is waiting, for at most a second (a closing socket's last words)."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            while sub.pending:
                await ws.send_text(_dumps(await sub.next()))


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
    options = request.model_dump(
        mode="json", exclude_none=True, exclude={"portfolio_id", "portfolio"}
    )
    limit = state.settings.max_watches
    if book_id not in sub.watches and len(sub.watches) >= limit:
        sub.send(
            _error(
                f"this socket watches {len(sub.watches)} books, the most one socket may watch; "
                f'unwatch one first ({{"action": "unwatch", "portfolio_id": ID}}) or open '
                "another socket.",
                "too-many-watches",
            )
        )
        return
    try:
        book = await state.run(state.books.get, sub.tenant, book_id)
    except RiskEngineError as exc:
        sub.send({"type": "error", "portfolio_id": book_id, "problem": engine_problem_body(exc)})
        return
    cost = risk_cost(options, len(book.portfolio))
    if cost > state.settings.async_cost:
        sub.send(
            _error(
                f"watching portfolio {book_id} with this request costs {cost:,} (scenarios x "
                f"positions, docs/api.md#jobs), over the server's {state.settings.async_cost:,} "
                "for a computation that is not a job; lower n_scenarios (or window), or run "
                "it as a job: POST /api/v1/risk.",
                "too-costly",
            )
            | {"portfolio_id": book_id}
        )
        return
    await state.hub.watch(sub, book_id, options)
