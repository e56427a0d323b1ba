"""The reference corpus (tests/golden/corpus.py): every method and variant, stress, backtest and
exposures recomputed and compared with the stored reports at relative 1e-12. A change meant to
move numbers regenerates them (``make golden``) and says which moved and why."""

from __future__ import annotations

import json
import math

import pytest

from golden.corpus import CASES, STORED, compute

REL = 1e-12
# Values that are zero up to rounding (a hedged book's P&L, a sum of +/- contributions) have
# no relative precision: they may differ by this much times the largest number in their report
ABS_OF_SCALE = 1e-13


def _largest(doc) -> float:
    if isinstance(doc, bool) or doc is None or isinstance(doc, str):
        return 0.0
    if isinstance(doc, int | float):
        return abs(float(doc))
    items = doc.values() if isinstance(doc, dict) else doc
    return max((_largest(v) for v in items), default=0.0)


def _differences(got, want, path: str, scale: float, out: list[str]) -> None:
    if len(out) >= 10:
        return
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            keys = sorted(set(got) ^ set(want)) if isinstance(got, dict) else type(got).__name__
            out.append(f"{path}: keys differ: {keys}")
            return
        for k in want:
            _differences(got[k], want[k], f"{path}.{k}", scale, out)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            out.append(f"{path}: length {len(got) if isinstance(got, list) else got!r} "
                       f"!= {len(want)}")  # fmt: skip
            return
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _differences(g, w, f"{path}[{i}]", scale, out)
    elif isinstance(want, float) or (isinstance(want, int) and not isinstance(want, bool)):
        if isinstance(got, bool) or not isinstance(got, int | float):
            out.append(f"{path}: {got!r} != {want!r}")
        elif not math.isclose(got, want, rel_tol=REL, abs_tol=ABS_OF_SCALE * scale):
            out.append(f"{path}: {got!r} != {want!r} (rel {abs(got - want) / abs(want or 1):.2g})")
    elif got != want:
        out.append(f"{path}: {got!r} != {want!r}")


@pytest.fixture(scope="module")
def stored():
    return json.loads(STORED.read_text())


def test_the_stored_corpus_covers_every_case(stored):
    assert sorted(stored) == sorted(CASES), "regenerate: make golden"


@pytest.mark.parametrize("name", sorted(CASES))
def test_reports_match_the_stored_corpus(name, stored):
    (got,) = compute([name]).values()
    want = stored[name]
    diffs: list[str] = []
    _differences(got, want, name, _largest(want), diffs)
    assert not diffs, "\n".join(diffs)


def test_the_comparison_sees_a_moved_number(stored):
    """The oracle can fail: one VaR moved by 1e-9 relative is a difference."""
    doc = json.loads(json.dumps(stored["hs"]))
    doc["results"][0]["value_at_risk"] *= 1 + 1e-9
    diffs: list[str] = []
    _differences(doc, stored["hs"], "hs", _largest(stored["hs"]), diffs)
    assert diffs and "results[0].value_at_risk" in diffs[0]
