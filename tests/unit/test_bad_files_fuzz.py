"""Fuzzing the file loaders: thousands of bad files, each either loads with finite values or is
refused with a ``RiskEngineError``; never another exception (a traceback on the command line).

A seeded generator mutates valid price files (wide and long, the "series" layout), books (CSV
and JSON) and stress scenario files: random bytes, the common encodings (UTF-8 with and without
a byte-order mark, UTF-16 with and without one, UTF-32, Latin-1, Windows-1252), deep nesting,
huge and non-finite numbers (1e400, nan, inf, -0, 5,000 digits), loose dates, empty files, a
header alone, ragged rows, very long lines, NUL bytes, stray quotes. Every file is loaded in
this process (fast); a sample of the refused ones also goes through the real command line,
which must exit 2 with ``riskengine: error:`` and no traceback. The counts are printed (run
with ``-s`` or ``-rP`` to see them).
"""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from riskengine import RiskEngineError, load_portfolio, load_prices
from riskengine.instruments import EuropeanOption
from riskengine.market.loaders import LATEST_DATE, MAX_CLOSE, MIN_CLOSE
from riskengine.stress import HypotheticalScenario, load_scenarios
from support import ROOT

SEED = 20_240_607
FILES_PER_LOADER = 450
DATA = str(ROOT / "data" / "us_equities_daily.csv")
BOOK = str(ROOT / "examples" / "book.csv")
# messages name the value but cut it: even a 200,000-character cell gives a short message
MAX_MESSAGE = 2_000

NASTY_NUMBERS = [
    "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "Infinity", "-0", "0", "-0.0", "1e-400",
    "1e308", "-1e308", "9" * 5000, "1_000", "\uff11", "0x10", "", " ", "true", "null", "1e12",
    "1e-13", "\u0661\u0662", "1,5", "1e", ".", "+", "--1", "1e6", "1e10", "-1.5", "10.5",
]  # fmt: skip
NASTY_DATES = [
    "9999-12-31", "2020-02-30", "2020-03-20xyz", "0001-01-01", "20200320", "2020-W12-5", "",
    "2020-01-01T25:00", "2020-01-01T00:00:00Z", "2100-12-31", "2101-01-01", "2020-1-1",
    "2020-01-01 12:00:00+05:30", "01/02/2020", "\u0662\u0660\u0662\u0660-01-01",
]  # fmt: skip
NASTY_TEXT = ["\x00", "\ufeff", '"', "\r", "\n", ",", "\t", ";", "é", "\u2028", "\udcff", "[", "{"]
ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]


# --- valid files to start from -----------------------------------------------------------


def _dates(rng: random.Random, n: int) -> list[str]:
    start = np.datetime64("2019-01-01") + rng.randrange(0, 600)
    return [str(start + i) for i in range(n)]


def valid_wide(rng):
    symbols = rng.sample(["AAPL", "MSFT", "KO", "JNJ", "EURUSD", "ESH3", "Zürich AG"], 3)
    lines = ["date," + ",".join(symbols)]
    for d in _dates(rng, rng.randrange(3, 15)):
        lines.append(d + "," + ",".join(f"{rng.uniform(1, 500):.4f}" for _ in symbols))
    return "\n".join(lines) + "\n"


def valid_long(rng):
    header = rng.choice(
        ["date,symbol,close", "Date,Ticker,Adj Close", "date,ticker,price", "Date,Symbol,Close"]
    )
    lines = [header]
    for d in _dates(rng, rng.randrange(3, 10)):
        for s in ("AAPL", "KO"):
            lines.append(f"{d},{s},{rng.uniform(1, 500):.3f}")
    return "\n".join(lines) + "\n"


BOOK_CSV = (
    "id,symbol,quantity,instrument_type,currency,tags,underlying,strike,expiry,option_type,"
    "implied_vol,rate,dividend_yield,multiplier\n"
    "eq-aapl,AAPL,2000,equity,USD,sector=tech;book=growth,,,,,,,,\n"
    "fx,EURUSD,1000000,fx,,,,,,,,,,\n"
    "es,ESH3,-2,future,USD,,,,,,,,,50\n"
    "opt,AAPL P,-20,option,USD,desk=Zürich,AAPL,120,2023-03-17,put,0.38,0.04,0.006,100\n"
)


def valid_book_csv(rng):
    return BOOK_CSV


def valid_book_json(rng):
    positions = [
        {"id": "eq", "symbol": "AAPL", "quantity": 2000, "tags": {"sector": "tech"}},
        {"symbol": "EURUSD", "quantity": 1e6, "instrument_type": "fx"},
        {
            "id": "opt",
            "instrument_type": "option",
            "underlying": "ESH3",
            "underlying_type": "future",
            "strike": 4000,
            "expiry": "2023-03-17",
            "option_type": "call",
            "implied_vol": 0.2,
            "rate": 0.04,
            "quantity": 1,
            "multiplier": 50,
            "tags": ["desk=Zürich"],
        },
    ]
    doc = {"name": "book", "positions": positions} if rng.random() < 0.5 else positions
    return json.dumps(doc, indent=rng.choice([None, 2]), ensure_ascii=False)


def valid_scenarios(rng):
    return json.dumps(
        {
            "scenarios": [
                {"name": "my-2008", "start": "2008-09-01", "end": "2008-11-20"},
                {"name": "crash", "type": "hypothetical", "shocks": ["*=-20%", "vol:*=+12"]},
                {"name": "tech", "shocks": ["sector=tech:-0.3", "AAPL=-0.1"], "description": "é"},
            ]
        },
        indent=rng.choice([None, 2]),
        ensure_ascii=False,
    )


# --- mutations ----------------------------------------------------------------------------


_TOKEN = re.compile(r'[^,"\n :\[\]{}\t;]+')


def _tokens(text: str, predicate) -> list[tuple[int, int]]:
    """Spans of the comma/quote/space-separated tokens of ``text`` that satisfy predicate."""
    return [m.span() for m in _TOKEN.finditer(text) if predicate(m.group())]


def _is_number(tok: str) -> bool:
    try:
        float(tok.rstrip("%"))
    except ValueError:
        return False
    return True


def _is_date(tok: str) -> bool:
    return len(tok) == 10 and tok[4] == "-" and tok[7] == "-"


def _replace(rng, text, predicate, choices):
    spans = _tokens(text, predicate)
    if not spans:
        return text
    a, b = rng.choice(spans)
    return text[:a] + rng.choice(choices) + text[b:]


def _lines(text):
    return text.split("\n")


def m_number(rng, text):
    return _replace(rng, text, _is_number, NASTY_NUMBERS)


def m_date(rng, text):
    return _replace(rng, text, _is_date, NASTY_DATES)


def m_insert(rng, text):
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice(NASTY_TEXT) * rng.choice([1, 1, 2, 50]) + text[i:]


def m_delete(rng, text):
    if not text:
        return text
    i = rng.randrange(len(text))
    return text[:i] + text[i + rng.randrange(1, 20) :]


def m_truncate(rng, text):
    return text[: rng.randrange(len(text) + 1)]


def m_ragged(rng, text):
    lines = _lines(text)
    i = rng.randrange(len(lines))
    if rng.random() < 0.5 and "," in lines[i]:
        lines[i] = lines[i].rsplit(",", 1)[0]
    else:
        lines[i] += rng.choice([",", ",x", ",1,2", ",,,,"])
    return "\n".join(lines)


def m_header_only(rng, text):
    return _lines(text)[0] + rng.choice(["", "\n", "\n\n", "\r\n"])


def m_empty(rng, text):
    return rng.choice(["", " ", "\n", "\n\n\n", "\t", ",", "[]", "{}", "null", '""'])


def m_long_line(rng, text):
    i = rng.randrange(len(text) + 1)
    return text[:i] + rng.choice('A9,"[ ') * rng.choice([5_000, 140_000]) + text[i:]


def m_shuffle(rng, text):
    lines = _lines(text)
    op = rng.randrange(3)
    if op == 0:
        rng.shuffle(lines)
    elif op == 1:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    else:
        lines.reverse()
    return "\n".join(lines)


def m_line_endings(rng, text):
    return text.replace("\n", rng.choice(["\r", "\r\n", "\n\r", "\x0b", "\u2028"]))


def m_deep(rng, text):
    depth = rng.choice([5, 50, 900, 1_500, 20_000, 100_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}"), ('{"positions":', "}")])
    inner = opener * depth + rng.choice(["1", "[]", '"x"', "{}"]) + closer * depth
    if rng.random() < 0.5:
        return inner
    spans = _tokens(text, _is_number) or [(0, 0)]
    a, b = rng.choice(spans)
    return text[:a] + inner + text[b:]


def m_json_type(rng, text):
    spans = _tokens(text, lambda t: t not in ("", "name", "positions", "scenarios"))
    if not spans:
        return text
    a, b = rng.choice(spans)
    return (
        text[:a]
        + rng.choice(["true", "false", "null", "[]", "{}", "[1,2]", '{"k":1}', "-0"])
        + text[b:]
    )  # noqa: E501


TEXT_MUTATIONS = {
    "number": m_number,
    "date": m_date,
    "insert": m_insert,
    "delete": m_delete,
    "truncate": m_truncate,
    "ragged": m_ragged,
    "header-only": m_header_only,
    "empty": m_empty,
    "long-line": m_long_line,
    "shuffle": m_shuffle,
    "line-endings": m_line_endings,
    "deep": m_deep,
    "json-type": m_json_type,
}
WEIGHTS = {"number": 6, "date": 4, "insert": 3, "deep": 2, "json-type": 2, "long-line": 1}


def encode(rng, text: str, encoding: str) -> bytes:
    if encoding in ("latin-1", "cp1252"):
        return text.encode(encoding, errors="replace")
    return text.encode(encoding, errors="surrogatepass")


def bad_files(rng: random.Random, valid, n: int):
    """``n`` (kind, bytes) pairs: mutations of ``valid(rng)`` and random bytes."""
    names = list(TEXT_MUTATIONS)
    weights = [WEIGHTS.get(k, 1) for k in names]
    for _ in range(n):
        roll = rng.random()
        if roll < 0.08:
            size = rng.choice([0, 1, 2, 3, 10, 200, 4096])
            prefix = rng.choice(
                [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]
            )
            yield "random-bytes", prefix + rng.randbytes(size)
            continue
        text = valid(rng)
        kinds = rng.choices(names, weights, k=rng.choice([1, 1, 1, 2, 3]))
        for kind in kinds:
            text = TEXT_MUTATIONS[kind](rng, text)
        encoding = rng.choice(ENCODINGS)
        yield "+".join(kinds) + "/" + encoding, encode(rng, text, encoding)


# --- what a successful load must look like ------------------------------------------------


def check_history(h):
    p = h.prices
    ok = p[~np.isnan(p)]
    assert np.all(np.isfinite(ok)) and np.all((ok >= MIN_CLOSE) & (ok <= MAX_CLOSE))
    assert np.all(np.diff(h.dates) > np.timedelta64(0, "D"))
    assert h.last_date <= LATEST_DATE


def check_book(book):
    assert len(book.positions) > 0
    for pos in book.positions:
        assert math.isfinite(pos.quantity) and math.isfinite(pos.multiplier) and pos.multiplier > 0
        inst = pos.instrument
        if isinstance(inst, EuropeanOption):
            for v in (inst.strike, inst.implied_vol, inst.rate, inst.dividend_yield):
                assert math.isfinite(v)
            assert 0 < inst.implied_vol <= 10 and -1 <= inst.rate <= 1 and inst.strike > 0


def check_scenarios(scenarios):
    for s in scenarios.values():
        if isinstance(s, HypotheticalScenario):
            assert all(math.isfinite(k.amount) for k in s.shocks)


LOADERS = {
    # name: (make a valid text, file suffix, load, check a success)
    "prices (wide)": (valid_wide, ".csv", load_prices, check_history),
    "series (long prices)": (valid_long, ".csv", load_prices, check_history),
    "book (CSV)": (valid_book_csv, ".csv", load_portfolio, check_book),
    "book (JSON)": (valid_book_json, ".json", load_portfolio, check_book),
    "scenarios (JSON)": (valid_scenarios, ".json", load_scenarios, check_scenarios),
}


def cli_args(loader: str, path: str) -> list[str]:
    if loader.startswith(("prices", "series")):
        return ["exposures", "--portfolio", BOOK, "--prices", path]
    if loader.startswith("book"):
        return ["exposures", "--portfolio", path, "--prices", DATA]
    return ["stress", "--list", "--scenarios-file", path]


@pytest.fixture(scope="module")
def fuzz_outcomes(tmp_path_factory):
    """Load every generated file; (per loader counts, wrong outcomes, refused samples)."""
    rng = random.Random(SEED)
    root = tmp_path_factory.mktemp("fuzz")
    counts: dict[str, Counter] = defaultdict(Counter)
    wrong: list[str] = []
    refused: dict[str, list[tuple[str, str]]] = defaultdict(list)
    start = time.perf_counter()
    for li, (loader, (valid, suffix, load, check)) in enumerate(LOADERS.items()):
        for i, (kind, data) in enumerate(bad_files(rng, valid, FILES_PER_LOADER)):
            path = root / f"l{li}-{i}{suffix}"
            path.write_bytes(data)
            counts[loader]["files"] += 1
            try:
                result = load(path)
            except RiskEngineError as exc:
                counts[loader]["refused"] += 1
                refused[loader].append((kind, str(path)))
                if len(str(exc)) > MAX_MESSAGE:
                    wrong.append(f"{loader} {kind} {path.name}: message of {len(str(exc))} chars")
                continue
            except Exception as exc:  # the bug this test hunts
                wrong.append(f"{loader} {kind} {path.name}: {type(exc).__name__}: {exc!s:.300}")
                continue
            try:
                check(result)
            except AssertionError:
                wrong.append(f"{loader} {kind} {path.name}: loaded with a non-finite value")
            counts[loader]["accepted"] += 1
        path.unlink()  # keep the last one only as a sample of size
    seconds = time.perf_counter() - start
    total = sum(c["files"] for c in counts.values())
    print(f"\nfuzzed {total} files in {seconds:.1f} s (seed {SEED}):")
    for loader, c in counts.items():
        print(f"  {loader:<22} {c['files']:>5} files  {c['accepted']:>5} accepted  "
              f"{c['refused']:>5} refused")  # fmt: skip
    return counts, wrong, refused


def test_every_bad_file_loads_finite_or_is_refused_with_a_riskengine_error(fuzz_outcomes):
    counts, wrong, _ = fuzz_outcomes
    assert sum(c["files"] for c in counts.values()) >= 2_000
    assert all(c["refused"] > 0 for c in counts.values())
    assert not wrong, f"{len(wrong)} wrong outcomes:\n" + "\n".join(wrong[:30])


def test_refused_files_exit_2_on_the_command_line(fuzz_outcomes):
    _, _, refused = fuzz_outcomes
    rng = random.Random(SEED)
    sample = []
    for loader, files in refused.items():
        by_kind = {}
        for kind, path in files:  # one file per kind of damage, then four of them at random
            by_kind.setdefault(kind.split("/")[0], path)
        picks = rng.sample(sorted(by_kind.items()), min(4, len(by_kind)))
        sample += [(loader, kind, path) for kind, path in picks]
    assert len(sample) >= 20

    def run(item):
        loader, kind, path = item
        out = subprocess.run(
            [sys.executable, "-m", "riskengine", *cli_args(loader, path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return item, out

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, sample))
    bad = [
        f"{loader} {kind} {path}: exit {out.returncode}\n{out.stderr[-800:]}"
        for (loader, kind, path), out in results
        if out.returncode != 2
        or "Traceback" in out.stderr
        or not out.stderr.startswith("riskengine: error: ")
    ]
    print(f"\n{len(results)} refused files through the command line: {len(bad)} not exit 2")
    assert not bad, "\n".join(bad)
