"""The store behind the command line: ``riskengine import`` then ``--prices <store URL>``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import ROOT

DATA = str(ROOT / "data" / "us_equities_daily.csv")
BOOK = str(ROOT / "examples" / "book.csv")


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "riskengine", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("method", ["historical", "parametric"])
def test_risk_on_the_store_equals_risk_on_the_csv(store_url, method):
    imported = run("import", DATA, "--database", store_url, "--quiet")
    assert imported.returncode == 0, imported.stderr
    assert "80520 daily closes imported" in imported.stdout
    reports = []
    for prices in (DATA, store_url):
        out = run("risk", "--portfolio", BOOK, "--prices", prices, "--method", method,
                  "--format", "json")  # fmt: skip
        assert out.returncode == 0, out.stderr
        reports.append(json.loads(out.stdout))
    csv_report, store_report = reports
    assert store_report["as_of"] == csv_report["as_of"]
    assert store_report["results"] == csv_report["results"]
    # the same closes: the same data snapshot id (last date + hash of the history)
    assert store_report["provenance"] == csv_report["provenance"]


def test_import_of_a_bad_file_exits_2_naming_the_problem(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,AAPL\n2024-01-02,abc\n")
    out = run("import", str(bad), "--database", f"sqlite:///{tmp_path / 's.db'}")
    assert out.returncode == 2
    assert "AAPL" in out.stderr and "'abc'" in out.stderr


def test_a_bad_store_url_exits_2(tmp_path):
    out = run("risk", "--portfolio", BOOK, "--prices", "postgres:/nohost")
    assert out.returncode == 2
    assert "riskengine: error:" in out.stderr


def test_quality_lists_recorded_events_and_stale_symbols(store_url, open_test_store):
    import datetime as dt

    from riskengine.market.tick import Tick
    from riskengine.store.base import QualityEvent

    now = dt.datetime.now(dt.UTC)
    store = open_test_store(store_url)
    try:
        store.write_ticks([
            Tick("kraken", "BTC-USD", now - dt.timedelta(hours=2), 100.0, 1.0, 1),
            Tick("kraken", "ETH-USD", now - dt.timedelta(seconds=5), 10.0, 1.0, 1),
        ])  # fmt: skip
        store.record_quality([
            QualityEvent(now - dt.timedelta(hours=1), "gap", "BTC-USD", "kraken",
                         "trade ids 5..9 missing", 5),
            QualityEvent(now, "malformed", None, "kraken", "3 malformed frames skipped", 3),
        ])  # fmt: skip
    finally:
        store.close()
    out = run("quality", "--database", store_url, "--stale-after", "600", "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert list(report["stale_symbols"]) == ["BTC-USD"]  # 2 h old; ETH-USD ticked 5 s ago
    assert [(e["kind"], e["count"]) for e in report["events"]] == [("gap", 5), ("malformed", 3)]
    only = run("quality", "--database", store_url, "--kind", "malformed", "--format", "json")
    assert [e["kind"] for e in json.loads(only.stdout)["events"]] == ["malformed"]
    table = run("quality", "--database", store_url, "--stale-after", "600")
    assert "BTC-USD" in table.stdout and "trade ids 5..9 missing" in table.stdout


def test_import_finds_records_and_lists_a_bad_print(store_url, tmp_path):
    """A bad print imported into a store is printed, recorded as a quality event that
    `riskengine quality` lists, and excluded from risk runs on the store by default."""
    lines = (ROOT / "data" / "us_equities_daily.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = len(lines) - 40
    cells = lines[row].split(",")
    day = cells[0]
    cells[header.index("AAPL")] = "1000000"
    lines[row] = ",".join(cells)
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(lines) + "\n")
    imported = run("import", str(path), "--database", store_url, "--quiet")
    assert imported.returncode == 0, imported.stderr
    assert f"AAPL close 1e+06 on {day} is a bad print" in imported.stdout
    listed = run("quality", "--database", store_url, "--kind", "bad_print", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (event,) = json.loads(listed.stdout)["events"]
    assert event["symbol"] == "AAPL" and event["ts"].startswith(day)
    out = run("risk", "--portfolio", BOOK, "--prices", store_url, "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [f["date"] for f in report["data_quality"] if f["code"] == "bad_print"] == [day]
    assert "AAPL" in {e["symbol"] for e in report["excluded_positions"]}
