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
