"""Reading a user's input file (price history, book, stress scenarios): bytes to text, CSV rows,
JSON documents, strict dates and numbers.

Every refusal is an ``InputError`` subclass chosen by the caller (``PriceDataError``,
``PortfolioFormatError``, ...) whose message names the file, the line or byte offset, the value
and the way out; nothing else escapes (no ``UnicodeDecodeError``, ``IsADirectoryError``,
``RecursionError`` or ``csv.Error``). The rules are those of docs/formats.md#encodings:

* UTF-8, with or without a byte-order mark; UTF-16 (Excel's "Unicode Text") and UTF-32 with a
  byte-order mark. Anything else (Latin-1, Windows-1252, UTF-16 without a mark) is refused
  naming the byte and its line, never guessed: a guess could silently turn ``Zürich`` into
  ``ZÃ¼rich`` in a tag or a symbol.
* A NUL character is refused (a binary file, or UTF-16 without its mark).
* CSV: comma-separated, or tab-separated when the first line has tabs and no comma (Excel's
  "Unicode Text" export); quoted fields follow RFC 4180 and an unclosed quote is an error.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

from riskengine.errors import InputError

SAVE_AS_UTF8 = "Save the file as UTF-8 (Excel: Save As 'CSV UTF-8'; a text editor: encoding UTF-8)."
# The byte-order marks read, longest first (UTF-32 LE starts with the UTF-16 LE mark).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ENCODING_NAMES = {"utf-32": "UTF-32", "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}
SHOWN_CHARS = 60


def show(value) -> str:
    """``repr(value)``, cut to about 60 characters for an error message."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def read_text(path: str | Path, what: str, error: type[InputError]) -> str:
    """The text of the ``what`` file (e.g. "price", "portfolio") at ``path``.

    Raises:
        error: the path does not exist, is a directory or cannot be read; the bytes are not
            UTF-8 (with or without a byte-order mark) nor UTF-16/UTF-32 with a byte-order
            mark; or the text holds a NUL character. The message names the file, the byte
            offset or line, and the way out.
    """
    p = Path(path)
    return decode(read_bytes(p, what, error), p.name, error)


def read_bytes(path: str | Path, what: str, error: type[InputError]) -> bytes:
    """The bytes of the ``what`` file at ``path``; ``error`` when it does not exist, is a
    directory or cannot be read (``read_text`` without the decoding)."""
    p = Path(path)
    if not p.exists():
        raise error(f"{what} file {str(p)!r} does not exist; check the path.")
    if p.is_dir():
        raise error(f"{what} file {str(p)!r} is a directory; give the path of a file.")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise error(
            f"{what} file {str(p)!r} cannot be read: {exc.strerror or exc}. Check its permissions."
        ) from None


def decode(data: bytes, name: str, error: type[InputError]) -> str:
    """``data`` as text by the rules of the module docstring; ``name`` labels the errors."""
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding == "utf-8":
            byte = data[exc.start]
            raise error(
                f"{name}: byte 0x{byte:02X} at offset {exc.start} (line {line}) is not UTF-8 "
                f"({_context(data, exc.start)}); the file is in another encoding (Latin-1 or "
                "Windows-1252, perhaps). riskengine reads UTF-8, with or without a byte-order "
                f"mark, and UTF-16 with a byte-order mark. {SAVE_AS_UTF8}"
            ) from None
        label = _ENCODING_NAMES[encoding]
        raise error(
            f"{name}: starts with a {label} byte-order mark but is not valid {label} at byte "
            f"offset {exc.start} ({exc.reason}). {SAVE_AS_UTF8}"
        ) from None
    if text.startswith("\ufeff"):  # the UTF-16/32 codecs keep no mark, utf-8-sig drops it
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise error(
            f"{name}, line {line}: holds a NUL character (\\x00), so it is not a text file in "
            "a readable encoding: a binary file (a spreadsheet .xlsx, say), or UTF-16 without "
            f"a byte-order mark? {SAVE_AS_UTF8}"
        )
    return text


def _context(data: bytes, offset: int) -> str:
    start = max(data.rfind(b"\n", 0, offset) + 1, offset - 20)
    end = data.find(b"\n", offset)
    end = min(end if end >= 0 else len(data), offset + 20)
    return f"near {data[start:end]!r}"


def csv_rows(
    text: str, name: str, error: type[InputError], *, limit: int | None = None
) -> list[tuple[int, list[str]]]:
    """The records of a CSV text as (first line number, fields); blank records included (as
    an empty list). Tab-separated when the first line has a tab and no comma. With ``limit``,
    reading stops after that many records with a cell that is not blank (the rest is not
    parsed).

    Raises:
        error: a quoted field is never closed, a quote is followed by text, or a field is
            longer than the csv module's limit (131,072 characters): naming the line.
    """
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    filled = 0
    while limit is None or filled < limit:
        try:
            row = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise error(
                    f"{name}, line {line}: not readable as CSV (field larger than "
                    f"{csv.field_size_limit():,} characters); a cell that long is no price, "
                    "symbol or tag: is this the right file, or is a quote left open above?"
                ) from None
            raise error(
                f"{name}, line {line}: not readable as CSV ({exc}). A quoted field "
                '("...") must be closed by a quote directly followed by the delimiter or the '
                'end of the line; write a quote inside it as two ("").'
            ) from None
        rows.append((line, row))
        filled += any(c.strip() for c in row)
        line = reader.line_num + 1
    return rows


def _json_int(digits: str):
    # Python refuses to convert integers of more than 4,300 digits (a ValueError); such a
    # number is out of every range anyway, and as a float it is infinite and refused as such.
    return int(digits) if len(digits) <= 400 else float(digits)


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    pass


def parse_json(text: str, name: str, error: type[InputError], guide: str):
    """The JSON document of ``text``; ``guide`` says where its format is described.

    Raises:
        error: not JSON (naming the line, the column and the reason), arrays or objects
            nested beyond Python's recursion limit, or a key given twice in one object.
    """
    try:
        return json.loads(text, parse_int=_json_int, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise error(
            f"{name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. {guide}"
        ) from None
    except RecursionError:
        raise error(
            f"{name}: arrays or objects are nested too deeply to read (hundreds of levels; "
            f"a riskengine file needs at most four). {guide}"
        ) from None
    except _DuplicateKey as exc:
        raise error(
            f"{name}: key {show(exc.args[0])} appears twice in one JSON object, so one of "
            f"its values would be ignored; keep one. {guide}"
        ) from None


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?"
    r"(Z|[+-]([0-9]{2})(?::?([0-9]{2}))?)?",
    re.IGNORECASE,
)


def iso_date(raw: str, *, datetime_ok: bool = False) -> dt.date | None:
    """The date of ``raw`` when it is a full ISO date ``YYYY-MM-DD`` (or, with
    ``datetime_ok``, an ISO date-time ``YYYY-MM-DDTHH:MM[:SS[.f]][Z|+HH:MM]`` whose date part,
    as written, is taken); None for anything else (``2020-03-20xyz``, ``20200320``,
    ``2020-W12-5``, ``2020-02-30``, ``2020-01-01T25:00``)."""
    m = _DATE.fullmatch(raw)
    if m is None and datetime_ok:
        m = _DATETIME.fullmatch(raw)
        if m is not None:
            hour, minute, second = int(m[2]), int(m[3]), int(m[4] or 0)
            if hour > 23 or minute > 59 or second > 59:
                return None
            if m[6] is not None and (int(m[6]) > 23 or int(m[7] or 0) > 59):
                return None
            raw = m[1]
    if m is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:  # 2020-02-30, 2020-13-01
        return None


def number(raw: str) -> float | None:
    """The float written in ``raw`` (already stripped): a decimal such as ``-1.5``, ``2e6``;
    ``nan`` and ``inf`` spellings give nan and inf (the caller refuses them as not finite).
    None when it is not a number: also for ``1_000`` and non-ASCII digits, which Python's
    ``float`` would accept."""
    if not raw.isascii() or "_" in raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None
