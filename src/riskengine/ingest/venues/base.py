"""What every venue adapter provides: pure functions, frame in, ticks out (and back, for the
built-in feed server, which speaks every venue's protocol)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import orjson

from riskengine.market.tick import MAX_TRADE_ID, Tick


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one frame held.

    Attributes:
        kind: ``trade`` (ticks holds the trades), ``heartbeat``, ``subscribed`` (an
            acknowledgement), ``snapshot`` (a trade snapshot sent on subscribe: ticks holds
            them), ``ping`` (an application-level ping: ``reply`` holds the answer),
            ``error`` (the venue reported an error: ``message`` says what), ``reconnect`` (the
            venue asks the client to reconnect), or ``other`` (a frame the ingest service can
            ignore).
        ticks: the trades, in the frame's order.
        reply: frames the client must send back (pong to an application ping), else empty.
        last_trade_id: for heartbeats that carry it (Coinbase, ours), symbol -> the venue's
            last trade id, so a gap can be detected while no trade arrives.
        message: human-readable detail for ``error``/``reconnect``/``other``.
    """

    kind: str
    ticks: Sequence[Tick] = ()
    reply: Sequence[str] = ()
    last_trade_id: dict[str, int] = field(default_factory=dict)
    message: str = ""


class MalformedFrame(ValueError):
    """A frame that is not valid for the venue's protocol (counted and skipped, never fatal)."""


class VenueAdapter(Protocol):
    """A venue protocol: parse frames into ticks; build the frames a client and a server send.

    ``parse`` and ``encode_trades`` are inverse for trades: ``parse(encode_trades(t))`` gives
    back ``t`` (event time at microsecond resolution, prices and sizes as the venue writes them).
    """

    name: str
    #: a frame may hold several trades (False: each trade is its own frame).
    batches: bool
    #: the server may resend trades after a given trade id on reconnect (our own format only).
    resumable: bool

    def parse(self, frame: str | bytes, received_at: dt.datetime) -> Parsed:
        """Parse one text frame. Raises MalformedFrame for anything the protocol forbids."""
        ...

    def subscribe(self, symbols: Sequence[str], *, resume_from: dict[str, int] | None = None
                  ) -> list[str]:  # fmt: skip
        """Frames the client sends after connecting to receive trades of ``symbols``
        (canonical). ``resume_from`` (symbol -> last trade id held) is honoured only where
        ``resumable``."""
        ...

    # --- the server side, used by the built-in feed -------------------------------------

    def parse_subscribe(self, frame: str | bytes) -> Subscription:
        """What a client's subscribe frame asked for. Raises MalformedFrame."""
        ...

    def subscribed(self, subscription: Subscription) -> list[str]:
        """The venue's acknowledgement frames for a subscription."""
        ...

    def encode_trades(self, ticks: Sequence[Tick], *, sequence: int = 0) -> str:
        """One frame holding ``ticks`` (all of one symbol when the venue batches per symbol;
        a single tick where the venue sends one trade per frame). ``sequence`` is the
        connection's message counter where the protocol carries one."""
        ...

    def heartbeat(self, *, last_trade_id: dict[str, int], sequence: int = 0) -> str | None:
        """The venue's heartbeat frame (None where the venue uses WebSocket pings only)."""
        ...


@dataclass(frozen=True, slots=True)
class Subscription:
    """A client's request: canonical symbols, and where to resume (symbol -> last trade id)."""

    symbols: tuple[str, ...]
    resume_from: dict[str, int] = field(default_factory=dict)
    #: the venue's request id / channel details, echoed in the acknowledgement.
    request_id: int | str | None = None


# --- shared helpers for the adapters (additions; the protocol above is unchanged) ---------

#: UTC as the tick store keeps it; ``datetime.fromisoformat("...Z").tzinfo is UTC``.
UTC = dt.UTC
#: 1970-01-01T00:00:00Z: millisecond epochs convert exactly as ``EPOCH + timedelta(ms=...)``.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
#: one millisecond, the divisor that turns a UTC datetime back into integer epoch ms.
ONE_MS = dt.timedelta(milliseconds=1)
INF = float("inf")
#: what a parse's fast path may raise on a record of the wrong shape; re-raised as MalformedFrame.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


def loads(venue: str, frame: str | bytes) -> dict:
    """The JSON object a frame holds. Raises MalformedFrame when the frame is not JSON or its
    top level is not an object (every supported venue sends objects)."""
    try:
        msg = orjson.loads(frame)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise MalformedFrame(
            f"{venue}: the frame is not JSON ({exc}): {_short(frame)}. The frame is skipped; "
            f"check that the URL speaks the {venue} protocol (docs/feeds.md)."
        ) from None
    if type(msg) is not dict:
        raise MalformedFrame(
            f"{venue}: the frame must be a JSON object; got {_short(msg)}. The frame is "
            f"skipped; check that the URL speaks the {venue} protocol (docs/feeds.md)."
        )
    return msg


def dumps(obj: object) -> str:
    """Compact JSON text (orjson: floats in shortest round-trip form)."""
    return orjson.dumps(obj).decode()


def malformed(venue: str, field: str, value: object, expected: str) -> MalformedFrame:
    """The error for one bad field: names the venue, the field, the value and the way out."""
    return MalformedFrame(
        f"{venue}: field {field!r} {expected}; got {_short(value)}. The frame is skipped; "
        f"see docs/feeds.md ({venue}) for the message format."
    )


def missing(venue: str, field: str, record: object) -> MalformedFrame:
    """The error for a field that is absent (or a record that is not an object)."""
    if not isinstance(record, dict):
        return malformed(venue, field, record, "must be inside a JSON object")
    return MalformedFrame(
        f"{venue}: field {field!r} is missing from {_short(record)}. The frame is skipped; "
        f"see docs/feeds.md ({venue}) for the message format."
    )


def diagnose(venue: str, record: object, schema: Sequence[tuple[str, str]]) -> MalformedFrame:
    """Why ``record`` is not a valid trade: the first field of ``schema`` that fails its check.

    The adapters' fast paths convert fields without checking them one by one; when that fails
    (an exception, or the combined range check), this slow path finds the field to name. Field
    kinds: ``text`` (a non-empty string), ``iso`` (an ISO-8601 timestamp string), ``ms`` (integer
    epoch milliseconds), ``price`` (a number or numeric string, finite and > 0), ``size`` (the
    same, >= 0), ``int`` (a JSON integer), ``digits`` (a string of decimal digits, or an
    integer).
    """
    if not isinstance(record, dict):
        return malformed(venue, "trade", record, "must be a JSON object")
    for name, kind in schema:
        if name not in record:
            return missing(venue, name, record)
        value = record[name]
        problem = _CHECKS[kind](value)
        if problem:
            return malformed(venue, name, value, problem)
    return MalformedFrame(
        f"{venue}: the trade {_short(record)} is not valid. The frame is skipped; see "
        f"docs/feeds.md ({venue}) for the message format."
    )


def heartbeat_frames(
    adapter: VenueAdapter, *, last_trade_id: dict[str, int], sequence: int = 0
) -> list[str]:
    """Every heartbeat frame a server sends now: one per symbol where the venue's heartbeats
    are per product (an adapter with ``heartbeat_per_symbol = True``: Coinbase Exchange), else
    the adapter's one frame, or none where the venue uses WebSocket pings only (Binance)."""
    if getattr(adapter, "heartbeat_per_symbol", False):
        return [
            frame
            for symbol, trade_id in last_trade_id.items()
            if (frame := adapter.heartbeat(last_trade_id={symbol: trade_id}, sequence=sequence))
        ]
    frame = adapter.heartbeat(last_trade_id=last_trade_id, sequence=sequence)
    return [] if frame is None else [frame]


def valid_trade(symbol: str, price: float, size: float, trade_id: object) -> bool:
    """The checks every venue's trade passes: a symbol, a finite price > 0, a finite size >= 0,
    an integer trade id that fits the store's 64 bits (``diagnose`` says which one failed)."""
    return (
        0.0 < price < INF
        and 0.0 <= size < INF
        and type(trade_id) is int
        and 0 <= trade_id < MAX_TRADE_ID
        and bool(symbol)
    )


def iso_z(ts: dt.datetime) -> str:
    """``ts`` as ISO-8601 UTC with microseconds and ``Z`` (``2024-01-02T15:04:05.123456Z``).
    A naive datetime is taken to be UTC. (orjson formats it in C, ~3x faster than isoformat.)"""
    if ts.tzinfo is not UTC:
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if ts.microsecond:
        return orjson.dumps(ts, option=orjson.OPT_UTC_Z)[1:-1].decode()
    return ts.isoformat(timespec="microseconds")[:-6] + "Z"  # orjson would drop ".000000"


def dumps_utc(obj: object) -> str:
    """Compact JSON text with datetimes written in C as RFC 3339 UTC with ``Z`` (the fraction
    omitted when it is zero): the fast path for frames that carry many timestamps."""
    return orjson.dumps(obj, option=orjson.OPT_UTC_Z).decode()


def to_utc(ts: dt.datetime) -> dt.datetime:
    """A parsed timestamp in UTC: naive means UTC (every supported venue writes UTC), another
    offset is converted."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def epoch_ms(ts: dt.datetime) -> int:
    """Integer epoch milliseconds of ``ts`` (floored: sub-millisecond digits are dropped)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // ONE_MS


def decimal_text(x: float) -> str:
    """``x`` as the shortest decimal text that reads back as ``x`` (``repr``), written without
    an exponent the way venues write prices (``1e-07`` -> ``0.0000001``); never rounded."""
    text = repr(x)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_text(v: object) -> str:
    return "" if type(v) is str and v else "must be a non-empty string"


def _check_iso(v: object) -> str:
    if type(v) is not str:
        return "must be an ISO-8601 timestamp string such as 2024-01-02T15:04:05.123456Z"
    try:
        dt.datetime.fromisoformat(v)
    except ValueError:
        return "is not an ISO-8601 timestamp (expected e.g. 2024-01-02T15:04:05.123456Z)"
    return ""


def _check_ms(v: object) -> str:
    if type(v) is not int:
        return "must be integer epoch milliseconds"
    try:
        EPOCH + dt.timedelta(milliseconds=v)
    except OverflowError:
        return "is out of the datetime range (expected epoch milliseconds)"
    return ""


def _number(v: object) -> float | None:
    if type(v) is bool:
        return None
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _check_price(v: object) -> str:
    x = _number(v)
    if x is None:
        return "must be a number"
    return "" if 0.0 < x < INF else "must be a finite number > 0"


def _check_size(v: object) -> str:
    x = _number(v)
    if x is None:
        return "must be a number"
    return "" if 0.0 <= x < INF else "must be a finite number >= 0"


def _check_int(v: object) -> str:
    if type(v) is not int:
        return "must be an integer"
    return "" if 0 <= v < MAX_TRADE_ID else "must be an integer from 0 to 2**63 - 1 (a 64-bit id)"


def _check_digits(v: object) -> str:
    if type(v) is int or (type(v) is str and v.isascii() and v.isdigit()):
        return _check_int(int(v))
    return "must be a string of decimal digits (an integer trade id)"


_CHECKS = {
    "text": _check_text,
    "iso": _check_iso,
    "ms": _check_ms,
    "price": _check_price,
    "size": _check_size,
    "int": _check_int,
    "digits": _check_digits,
}
