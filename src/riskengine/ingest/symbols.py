"""One canonical name per instrument: ``BTC-USD``, ``btcusdt`` and ``BTC/USD`` are one symbol.

Canonical form: ``BASE-QUOTE`` in upper case for currency pairs (crypto and FX), the plain upper
case ticker for anything else (``AAPL``). Dollar stablecoins (USDT, USDC, BUSD, FDUSD) quote in
USD, and Kraken's ``XBT``/``XDG`` are ``BTC``/``DOGE``.

Venues without a separator (Binance's ``btcusdt``) are split at the longest known quote currency
at the end of the name; a name that ends in none of them (an equity ticker such as ``AAPL``) is
kept whole.
"""

from __future__ import annotations

from functools import lru_cache

# Quote currencies recognised at the end of a concatenated pair (longest match wins).
QUOTES = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF",
    "TRY", "BRL", "BTC", "ETH", "BNB",
)  # fmt: skip
_ALIASES = {"USDT": "USD", "USDC": "USD", "BUSD": "USD", "FDUSD": "USD", "TUSD": "USD",
            "XBT": "BTC", "XDG": "DOGE"}  # fmt: skip
_SEPARATORS = ("-", "/", "_", ":")


def _alias(code: str) -> str:
    return _ALIASES.get(code, code)


@lru_cache(maxsize=65536)
def canonical_symbol(raw: str, *, concatenated: bool = False) -> str:
    """The canonical name of a venue's instrument name.

    Args:
        raw: the venue's name (``BTC-USD``, ``BTC/USD``, ``btcusdt``, ``AAPL``).
        concatenated: the venue writes pairs without a separator (Binance): split at a known
            quote currency suffix.
    """
    name = raw.strip().upper()
    for sep in _SEPARATORS:
        if sep in name:
            base, _, quote = name.partition(sep)
            return f"{_alias(base)}-{_alias(quote)}"
    if concatenated:
        for quote in QUOTES:
            if name.endswith(quote) and len(name) > len(quote):
                return f"{_alias(name[: -len(quote)])}-{_alias(quote)}"
    return name


def venue_symbol(symbol: str, style: str) -> str:
    """A canonical symbol written in a venue's style: ``dash`` (Coinbase: ``BTC-USD``),
    ``slash`` (Kraken: ``BTC/USD``) or ``concatenated`` (Binance: ``BTCUSD``). Tickers without a
    quote currency (``AAPL``) are written as they are in every style."""
    base, sep, quote = symbol.partition("-")
    if not sep:
        return symbol
    if style == "dash":
        return f"{base}-{quote}"
    if style == "slash":
        return f"{base}/{quote}"
    if style == "concatenated":
        return f"{base}{quote}"
    raise ValueError(f"unknown symbol style {style!r}; use dash, slash or concatenated.")
