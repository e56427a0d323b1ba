"""Trade-id bookkeeping per symbol: duplicates, out-of-order arrivals and gaps.

Every supported venue numbers trades consecutively per symbol, so one integer and a short list
of missing ranges per symbol classify each arriving trade exactly, in O(1) memory per symbol:

- ``id > last``: new; ids between ``last`` and it are missing (a gap, unless they arrive late);
- ``id`` inside a missing range: new, arrived out of order (the range shrinks);
- ``id`` below the first id seen since start: passed on as late (the store decides);
- otherwise: a duplicate of a trade already seen.

A missing range becomes a confirmed gap once it has stayed open for ``grace`` seconds (late
trades can still fill it afterwards; they are then counted as ``late``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEW, LATE, DUPLICATE = 0, 1, 2


@dataclass
class _Missing:
    lo: int
    hi: int  # inclusive
    since: float
    confirmed: bool = False


@dataclass
class SymbolSequence:
    first: int
    last: int
    missing: list[_Missing] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Gap:
    """Trades ``first``..``last`` (inclusive) of ``symbol`` never arrived within the grace time."""

    symbol: str
    first: int
    last: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


class TradeSequencer:
    """Classify trades by id, per symbol (see the module docstring)."""

    def __init__(self, *, grace: float = 2.0):
        self.grace = grace
        self._symbols: dict[str, SymbolSequence] = {}

    def classify(self, symbol: str, trade_id: int, now: float) -> int:
        """NEW, LATE (new, filling a missing range) or DUPLICATE."""
        seq = self._symbols.get(symbol)
        if seq is None:
            self._symbols[symbol] = SymbolSequence(trade_id, trade_id)
            return NEW
        last = seq.last
        if trade_id == last + 1:
            seq.last = trade_id
            return NEW
        if trade_id > last:
            seq.missing.append(_Missing(last + 1, trade_id - 1, now))
            seq.last = trade_id
            return NEW
        if trade_id < seq.first:
            # Older than anything seen since start: unknown here, so passed on (the store's key
            # is the authority on trades from before this service started).
            return LATE
        for i, m in enumerate(seq.missing):
            if m.lo <= trade_id <= m.hi:
                if m.lo == m.hi:
                    del seq.missing[i]
                elif trade_id == m.lo:
                    m.lo += 1
                elif trade_id == m.hi:
                    m.hi -= 1
                else:
                    seq.missing.insert(i + 1, _Missing(trade_id + 1, m.hi, m.since, m.confirmed))
                    m.hi = trade_id - 1
                return LATE
        return DUPLICATE

    def expect(self, symbol: str, last_trade_id: int, now: float) -> None:
        """A venue says (heartbeat) its last trade of ``symbol`` is ``last_trade_id``: trades
        beyond what arrived are missing."""
        seq = self._symbols.get(symbol)
        if seq is None or last_trade_id <= seq.last:
            return
        seq.missing.append(_Missing(seq.last + 1, last_trade_id, now))
        seq.last = last_trade_id

    def due_gaps(self, now: float) -> list[Gap]:
        """Missing ranges open for at least ``grace`` seconds, each reported once."""
        out = []
        for symbol, seq in self._symbols.items():
            for m in seq.missing:
                if not m.confirmed and now - m.since >= self.grace:
                    m.confirmed = True
                    out.append(Gap(symbol, m.lo, m.hi))
        return out

    def last_ids(self) -> dict[str, int]:
        return {s: q.last for s, q in self._symbols.items()}

    def resume_points(self, now: float | None = None, horizon: float | None = None
                      ) -> dict[str, int]:  # fmt: skip
        """symbol -> the highest id below which every trade has arrived (where a resuming
        feed must restart so that missing trades are sent again). Ranges missing for longer
        than ``horizon`` seconds (at ``now``) are given up: a feed that did not resend them by
        then will not, and asking again would replay everything since on every reconnect."""
        out = {}
        for s, q in self._symbols.items():
            wanted = (
                m.lo - 1
                for m in q.missing
                if horizon is None or now is None or now - m.since <= horizon
            )
            out[s] = min(wanted, default=q.last)
        return out

    def open_missing(self) -> int:
        return sum(m.hi - m.lo + 1 for q in self._symbols.values() for m in q.missing)
