"""The command line contract, run as a real process."""

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


def test_issue_example_montecarlo_json_is_the_report_schema():
    out = run(
        "risk",
        "--portfolio",
        BOOK,
        "--prices",
        DATA,
        "--method",
        "montecarlo",
        "--confidence",
        "0.95",
        "0.99",
        "--horizon-days",
        "10",
        "--window",
        "1000",
        "--paths",
        "100000",
        "--seed",
        "7",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) >= {
        "schema_version",
        "method",
        "as_of",
        "base_currency",
        "results",
        "parameters",
        "n_scenarios",
        "portfolio",
        "excluded_positions",
        "data_quality",
        "notes",
        "provenance",
        "pnl_histogram",
    }
    assert doc["method"] == "montecarlo" and doc["as_of"] == "2022-12-28"
    assert [r["confidence"] for r in doc["results"]] == [0.95, 0.99]
    for r in doc["results"]:
        assert r["expected_shortfall"] >= r["value_at_risk"] > 0
        assert 0 < r["value_at_risk_standard_error"] < 0.02 * r["value_at_risk"]
    p = doc["parameters"]
    assert (p["horizon_days"], p["window"], p["n_scenarios"], p["distribution"], p["mean"]) == (
        10,
        1000,
        100_000,
        "normal",
        "zero",
    )
    assert doc["n_scenarios"] == 100_000
    assert doc["provenance"]["seed"] == 7
    assert doc["provenance"]["data_snapshot_id"].startswith("2022-12-28:")
    assert sum(doc["pnl_histogram"]["counts"]) == 100_000


@pytest.mark.parametrize("method", ["historical", "parametric", "montecarlo"])
def test_table_output_for_each_method(method):
    out = run(
        "risk",
        "--portfolio",
        BOOK,
        "--prices",
        DATA,
        "--method",
        method,
        "--confidence",
        "0.99",
        "--seed",
        "1",
    )
    assert out.returncode == 0, out.stderr
    assert f"riskengine {method} VaR/ES  as_of 2022-12-28" in out.stdout
    assert "0.99" in out.stdout and "ES (CVaR)" in out.stdout


def test_same_seed_same_output():
    args = (
        "risk",
        "--portfolio",
        BOOK,
        "--prices",
        DATA,
        "--method",
        "montecarlo",
        "--seed",
        "3",
        "--format",
        "json",
    )
    assert json.loads(run(*args).stdout)["results"] == json.loads(run(*args).stdout)["results"]


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--confidence", "99"], "confidence must be strictly between 0 and 1"),
        (["--horizon-days", "0"], "horizon_days must be an integer >= 1; got 0"),
        (["--window", "5000"], "needs 5001 closes"),
        (["--method", "montecarlo", "--distribution", "cornish-fisher"], "not one of: normal"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(extra, match):
    out = run("risk", "--portfolio", BOOK, "--prices", DATA, *extra)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.startswith("riskengine: error: ") and match in out.stderr


def test_missing_files_exit_2():
    out = run("risk", "--portfolio", "nope.csv", "--prices", DATA)
    assert out.returncode == 2 and "portfolio file 'nope.csv' does not exist" in out.stderr
