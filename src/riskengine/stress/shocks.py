"""Hypothetical shocks: their text syntax and how they resolve onto the positions of a book.

A shock is one piece of text:

* ``AAPL=-0.2`` (or ``AAPL=-20%``): the factor ``AAPL`` moves by the relative return -0.2,
  ``S -> S (1 - 0.2)``; every position on it (a stock, a future, an option on it) and every
  position converted at it (an FX factor such as ``EURUSD``) feels it;
* ``sector=tech:-0.1``: the own factor of every position tagged ``sector=tech`` moves by -0.1;
* ``*=-0.1``: the own factor of every position moves by -0.1 (global);
* ``vol:AAPL=+5``, ``vol:sector=tech:+5``, ``vol:*=+10``: the implied volatility of the options
  on ``AAPL`` (tagged ``sector=tech``, all options) moves by +5 volatility points (0.25 -> 0.30).

A position's own factor is its symbol, or an option's underlying. Precedence, per position and
separately for spot and volatility: a symbol shock beats a tag shock, which beats the global
shock; among several tag shocks matching one position, the first one written applies (and the
result notes it). The FX factor that converts a position priced in another currency moves only by
a symbol shock on that pair (``EURUSD=-0.05``), never by tag or global shocks. A position that
no shock reaches does not move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from riskengine.errors import InputError
from riskengine.inputfile import number, show

VOL_PREFIX = "vol:"
GLOBAL = "*"
# The kinds of target a shock can have, in precedence order (the first wins).
TARGETS = ("symbol", "tag", "global")


@dataclass(frozen=True)
class Shock:
    """One parsed shock.

    Attributes:
        text: the text it was parsed from (normalised: no spaces).
        target: "symbol", "tag" or "global".
        key: the symbol (target "symbol"), the tag key (target "tag"), or "*".
        value: the tag value (target "tag"), else None.
        amount: a relative return (spot) or an absolute change of implied volatility as a
            decimal (vol; +5 points is 0.05).
        vol: True for an implied-volatility shock.
    """

    text: str
    target: str
    key: str
    value: str | None
    amount: float
    vol: bool = False

    @property
    def slot(self) -> tuple:
        """What the shock moves: two shocks with the same slot in one scenario conflict."""
        return (self.vol, self.target, self.key, self.value)

    def matches(self, factor: str, tags: dict[str, str]) -> bool:
        """Whether the shock reaches a position with own factor ``factor`` and ``tags``."""
        if self.target == "symbol":
            return self.key == factor
        if self.target == "tag":
            return tags.get(self.key) == self.value
        return True


# The largest shocks accepted: a price rising 100-fold, an implied volatility moving by 1,000
# points (+/-10.0). Beyond them a scenario describes no market, and P&L would overflow.
MAX_RETURN = 100.0
MAX_VOL_POINTS = 1000.0


def _number(raw: str, text: str, vol: bool) -> float:
    raw = raw.strip()
    percent = raw.endswith("%")
    if percent and vol:
        raise InputError(
            f"shock {show(text)}: implied-volatility shocks are in volatility points (+5 means "
            "0.25 -> 0.30); drop the '%'."
        )
    body = raw[:-1] if percent else raw
    x = number(body)
    if x is None:
        unit = "volatility points, e.g. +5" if vol else "a return such as -0.2 or -20%"
        raise InputError(f"shock {show(text)}: {show(raw)} is not a number; write {unit}.")
    if not math.isfinite(x):
        raise InputError(f"shock {show(text)}: {show(raw)} is not a finite number.")
    if percent:
        x /= 100.0
    if vol:
        if abs(x) > MAX_VOL_POINTS:
            raise InputError(
                f"shock {show(text)}: {x:g} volatility points is beyond the limit "
                f"+/-{MAX_VOL_POINTS:g} (an implied volatility of {MAX_VOL_POINTS / 100:g}); "
                "volatility shocks are in points: +5 means 0.25 -> 0.30."
            )
        return x / 100.0
    if x > MAX_RETURN:
        raise InputError(
            f"shock {show(text)}: a return of {x:g} is beyond the limit {MAX_RETURN:g} (a rise of "
            f"{MAX_RETURN:.0%}); returns are decimals: write 0.2 or 20% for a 20% rise."
        )
    if x < -1.0:
        raise InputError(
            f"shock {show(text)}: a return of {x:g} would take the price below zero (a fall of "
            f"{-x:.0%}); returns are decimals: write -0.2 or -20% for a 20% fall."
        )
    return x


def parse_shock(text: str) -> Shock:
    """Parse one shock (syntax: module docstring).

    Raises:
        InputError: naming the text, when it does not parse.
    """
    if not isinstance(text, str):
        raise InputError(f"shock {show(text)} is not text; write e.g. 'AAPL=-0.2' or '*=-10%'.")
    clean = "".join(text.split())
    vol = clean.lower().startswith(VOL_PREFIX)
    body = clean[len(VOL_PREFIX) :] if vol else clean
    lhs, eq, rhs = body.partition("=")
    if not eq or not lhs or not rhs:
        raise InputError(
            f"shock {show(text)} does not parse; write SYMBOL=RETURN (AAPL=-0.2), KEY=VALUE:RETURN "
            "(sector=tech:-0.1), *=RETURN (*=-0.1), or vol:SYMBOL=POINTS (vol:AAPL=+5, "
            "vol:*=+10)."
        )
    if lhs == GLOBAL:
        return Shock(clean, "global", GLOBAL, None, _number(rhs, text, vol), vol)
    if ":" in rhs:
        value, _, amount = rhs.rpartition(":")
        if not value:
            raise InputError(
                f"shock {show(text)}: the tag value is empty; write KEY=VALUE:RETURN, e.g. "
                "sector=tech:-0.1."
            )
        return Shock(clean, "tag", lhs, value, _number(amount, text, vol), vol)
    if "*" in lhs:
        raise InputError(
            f"shock {show(text)}: '*' stands alone for every position (*=-0.1); patterns such as "
            f"{show(lhs)} are not supported."
        )
    return Shock(clean, "symbol", lhs, None, _number(rhs, text, vol), vol)


def parse_shocks(texts, where: str = "scenario") -> tuple[Shock, ...]:
    """Parse several shocks; two shocks on the same target (e.g. ``AAPL=-0.1`` and
    ``AAPL=-0.2``) are an error naming both."""
    if isinstance(texts, str):
        texts = [texts]
    shocks = tuple(parse_shock(t) for t in texts)
    seen: dict[tuple, Shock] = {}
    for s in shocks:
        if s.slot in seen:
            raise InputError(
                f"{where}: shocks {show(seen[s.slot].text)} and {show(s.text)} move the same "
                "target; keep one."
            )
        seen[s.slot] = s
    if not shocks:
        raise InputError(f"{where}: no shocks; give at least one, e.g. '*=-0.1'.")
    return shocks


@dataclass(frozen=True)
class Resolution:
    """The shock that applies to one position (spot or vol), and any ignored rivals."""

    shock: Shock | None
    shadowed: tuple[Shock, ...] = ()

    @property
    def amount(self) -> float:
        return self.shock.amount if self.shock is not None else 0.0


def resolve(shocks, factor: str, tags: dict[str, str], *, vol: bool) -> Resolution:
    """The shock of kind ``vol`` that applies to a position with own factor ``factor`` and
    ``tags`` (precedence: symbol > tag (first written) > global)."""
    for target in TARGETS:
        hits = [s for s in shocks if s.vol == vol and s.target == target]
        hits = [s for s in hits if s.matches(factor, tags)]
        if hits:
            return Resolution(hits[0], tuple(hits[1:]))
    return Resolution(None)


def fx_shock(shocks, pair: str) -> float:
    """The return of the FX factor ``pair``: only a symbol shock on it moves it."""
    for s in shocks:
        if not s.vol and s.target == "symbol" and s.key == pair:
            return s.amount
    return 0.0
