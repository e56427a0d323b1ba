"""Shared fixtures, and a per-suite timing summary printed at the end of the run."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "us_equities_daily.csv"

_suite_seconds: dict[str, float] = defaultdict(float)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = time.perf_counter()
    yield
    suite = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
    _suite_seconds["/".join(suite[:-1]) or "."] += time.perf_counter() - start
    _suite_seconds["  " + "/".join(suite)] += time.perf_counter() - start


def pytest_terminal_summary(terminalreporter):
    if not _suite_seconds:
        return
    terminalreporter.section("per-suite timings (seconds, test bodies)")
    for name in sorted(_suite_seconds, key=lambda n: n.strip()):
        terminalreporter.write_line(f"{name:<50} {_suite_seconds[name]:8.2f}")


@pytest.fixture(scope="session")
def real_history():
    from riskengine import load_prices

    return load_prices(DATA)
