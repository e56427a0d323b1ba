"""Reading JSON from clients: request bodies, uploaded .json files and WebSocket messages.

Every JSON text a client sends is parsed here, by orjson, with the same rules: UTF-8 only
(an invalid byte is refused with its offset), strict JSON (no NaN or Infinity, no lone
surrogates, numbers that fit a double), and at most ``MAX_JSON_DEPTH`` nested arrays and
objects (a deeper document is refused before it reaches the recursive code of the parsers,
validators and encoders). A refusal is a 422 problem naming the position and the way out.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute

from riskengine.api.problems import SCHEMA_HINT, ApiProblem

MAX_JSON_DEPTH = 32  # nested arrays and objects; a book needs 4, a risk request 5
_BOM = b"\xef\xbb\xbf"


def parse_json(raw: bytes | str, *, what: str = "the request body", field: str = "body") -> Any:
    """The JSON value of ``raw``; ApiProblem (422) when it is not UTF-8, not JSON, or nested
    deeper than MAX_JSON_DEPTH. ``what`` names the text in the detail, ``field`` in ``errors``."""
    if isinstance(raw, bytes) and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]  # RFC 8259 lets a parser ignore it
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _not_json(raw, exc, what, field) from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(what, field)
    return value


def check_depth(raw: bytes, *, what: str, field: str) -> None:
    """ApiProblem (422) when the JSON text ``raw`` nests deeper than MAX_JSON_DEPTH; any other
    fault is left to the caller's own parser (a book file's loader names its faults)."""
    try:
        value = orjson.loads(raw[len(_BOM) :] if raw.startswith(_BOM) else raw)
    except orjson.JSONDecodeError as exc:
        if exc.msg == "depth limit exceeded":
            raise _too_deep(what, field) from None
        return
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(what, field)


def _not_json(raw: bytes | str, exc: orjson.JSONDecodeError, what: str, field: str) -> ApiProblem:
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            where = f"byte 0x{raw[bad.start]:02x} at offset {bad.start}"
            return _refusal(
                f"{what} is not UTF-8 ({where}); send UTF-8 JSON "
                "(Content-Type: application/json; charset=utf-8).",
                field,
                f"{where} is not UTF-8",
            )
    if exc.msg == "depth limit exceeded":
        return _too_deep(what, field)
    problem = f"{exc.msg} at line {exc.lineno}, column {exc.colno} (character {exc.pos})"
    return _refusal(
        f"{what} is not JSON: {problem}; send UTF-8 JSON (no NaN or Infinity, no "
        f"trailing commas). {SCHEMA_HINT}",
        field,
        problem,
    )


def _too_deep(what: str, field: str) -> ApiProblem:
    problem = f"nested deeper than {MAX_JSON_DEPTH} arrays or objects"
    return _refusal(
        f"{what} is {problem} (the limit of this server); send a flatter document: a book, "
        f"a risk request or a stress scenario needs fewer than 8 levels. {SCHEMA_HINT}",
        field,
        problem,
    )


def _refusal(detail: str, field: str, problem: str) -> ApiProblem:
    return ApiProblem(
        422,
        "validation",
        "Invalid request",
        detail,
        errors=[{"field": field, "value": "", "problem": problem}],
    )


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds more than ``limit`` nested lists and dicts (iterative: a deep
    value must not exhaust the stack here either)."""
    if not isinstance(value, dict | list):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class JsonRequest(Request):
    """A request whose ``json()`` is ``parse_json`` of its body (FastAPI reads JSON bodies
    through it, so every route gets the same rules and refusals)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class JsonRoute(APIRoute):
    """The route class of every API router: hands the endpoint a JsonRequest."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request):
            return await handler(JsonRequest(request.scope, request.receive))

        return route
