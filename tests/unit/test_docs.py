"""The documentation stays true: its examples run and its tables match the code.

* the Python examples of README.md, docs/python.md and docs/ingest.md run from the repository
  root;
* docs/cli.md names exactly the options of ``riskengine risk`` (with their defaults and choices),
  and every ``riskengine risk`` command in README.md and docs/cli.md parses; the same for
  ``riskengine exposures`` and its own option table;
* the option tables of docs/ingest.md list exactly the options of ``riskengine import``,
  ``feed`` and ``ingest`` (defaults and choices included), and every such command in the shell
  examples of README.md and docs/ingest.md parses;
* examples/book.json is the same book as examples/book.csv;
* the book table of docs/formats.md lists exactly ``KNOWN_FIELDS``, its report table exactly
  the keys of ``RiskReport.to_dict()``, and its exposures tables the keys of ``Exposures`` and
  ``ExposureReport``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

import riskengine
from riskengine.cli import build_parser
from riskengine.instruments.bookfile import KNOWN_FIELDS
from riskengine.pricing.exposures import ExposureLine, Exposures, FactorExposure, TagExposure
from riskengine.report import ExposureReport, RiskMeasure, RiskReport

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(text: str, language: str) -> list[str]:
    """The bodies of the fenced code blocks of ``language`` in a markdown text."""
    return re.findall(rf"^```{language}[ \t]*\n(.*?)^```", text, flags=re.S | re.M)


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """Body rows (as stripped cells) of every markdown table whose first header cell is
    ``first_header``."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        cells = _cells(lines[i])
        if cells and cells[0] == first_header and i + 1 < len(lines):
            i += 2  # skip the header and the |---| separator
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            continue
        i += 1
    return rows


def _cells(line: str) -> list[str]:
    line = line.strip()
    if not line.startswith("|"):
        return []
    return [c.strip() for c in line.strip("|").split("|")]


def first_code(cell: str) -> str:
    """The first backticked word of a table cell, e.g. "`--window N`" -> "--window"."""
    m = re.search(r"`([^`]+)`", cell)
    assert m, f"table cell without a `name`: {cell!r}"
    return m.group(1).split()[0]


def risk_parser(command: str = "risk") -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def risk_options(command: str = "risk") -> dict[str, argparse.Action]:
    """Long option string -> action of ``riskengine <command>``, without --help."""
    return {
        s: a
        for a in risk_parser(command)._actions
        for s in a.option_strings
        if s.startswith("--") and s != "--help"
    }


# ---------------------------------------------------------------------------------------------
# Python examples


def run_blocks(blocks: list[str], monkeypatch) -> str:
    """Exec the blocks in order in one namespace from the repository root; return stdout."""
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__docs__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "<docs>", "exec"), namespace)
    return out.getvalue()


def test_readme_python_example_runs_and_prints_what_the_readme_shows(monkeypatch):
    text = read(README)
    blocks = code_blocks(text, "python")
    assert blocks, "README.md has no ```python example"
    out = run_blocks(blocks, monkeypatch)
    first = out.splitlines()[0]
    # The first line is rounded to whole units, so it does not depend on the last bits of BLAS.
    assert first in text, f"README shows other output than the example prints: {first!r}"


def test_python_md_examples_run(monkeypatch):
    blocks = code_blocks(read(DOCS / "python.md"), "python")
    assert blocks
    run_blocks(blocks, monkeypatch)


def test_ingest_md_python_examples_run(monkeypatch):
    """The feed -> ingest -> store examples, over real WebSocket connections on 127.0.0.1."""
    blocks = code_blocks(read(DOCS / "ingest.md"), "python")
    assert blocks, "docs/ingest.md has no ```python example"
    run_blocks(blocks, monkeypatch)


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_md_mentions_only_real_options_and_all_of_them():
    text = read(DOCS / "cli.md")
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", text))
    real = set(risk_options())
    assert mentioned - real - {"--help"} == set(), "docs/cli.md names options that do not exist"
    assert real - mentioned == set(), "docs/cli.md does not document these options"


OPTION_TABLES = [
    ("cli.md", "risk", "Option"),
    ("cli.md", "exposures", "Exposures option"),
    ("ingest.md", "import", "Import option"),
    ("ingest.md", "feed", "Feed option"),
    ("ingest.md", "ingest", "Ingest option"),
    ("ingest.md", "quality", "Quality option"),
    ("frtb.md", "frtb", "FRTB option"),
]


@pytest.mark.parametrize(("doc", "command", "header"), OPTION_TABLES)
def test_option_table_matches_the_parser(doc, command, header):
    rows = table_rows(read(DOCS / doc), header)
    assert rows, f"{doc} has no table headed {header!r}"
    options = risk_options(command)
    in_table = [first_code(r[0]) for r in rows]
    assert sorted(in_table) == sorted(options), "the option table must list each option once"
    for row in rows:
        action = options[first_code(row[0])]
        default_cell, meaning = row[1], row[2]
        if action.required:
            assert default_cell == "required", row
            continue
        m = re.fullmatch(r"`([^`]+)`", default_cell)
        if m:  # a literal default: compare it with the parser's
            default = action.default
            if isinstance(default, list):
                default = default[0] if len(default) == 1 else default
            shown = m.group(1)
            if isinstance(default, int | float):
                assert float(shown) == float(default), row
            else:
                assert shown == str(default), row
        elif isinstance(action, argparse._StoreTrueAction):  # a flag: off unless given
            assert default_cell == "off", row
        else:
            assert action.default is None, f"{row[0]}: the default {action.default!r} is not shown"
        for choice in action.choices or ():
            assert f"`{choice}`" in meaning, f"{row[0]}: choice {choice!r} is not documented"


def risk_commands(text: str, command: str = "risk") -> list[str]:
    """Every ``riskengine <command> ...`` command in the shell blocks, continuation lines
    joined."""
    commands = []
    for block in code_blocks(text, "sh"):
        joined = re.sub(r"\\\n", " ", block)
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if re.search(rf"(^|/)riskengine {command}\b", line):
                commands.append(line)
    return commands


@pytest.mark.parametrize(
    "doc", [README, DOCS / "cli.md", DOCS / "formats.md"], ids=lambda p: p.name
)
def test_documented_commands_parse(doc):
    text = read(doc)
    variables = dict(re.findall(r'^(\w+)="([^"]*)"$', text, flags=re.M))
    commands = risk_commands(text)
    assert commands, f"{doc.name} shows no riskengine risk command"
    parser = build_parser()
    for command in commands:
        for name, value in variables.items():
            command = command.replace(f"${name}", value)
        words = shlex.split(command.split(">", 1)[0])
        args = words[words.index("risk") :]
        parser.parse_args(args)  # argparse exits (SystemExit) on an invalid command


def test_documented_exposures_commands_parse():
    text = read(DOCS / "cli.md")
    variables = dict(re.findall(r'^(\w+)="([^"]*)"$', text, flags=re.M))
    commands = risk_commands(text, "exposures")
    assert commands, "cli.md shows no riskengine exposures command"
    parser = build_parser()
    for command in commands:
        for name, value in variables.items():
            command = command.replace(f"${name}", value)
        words = shlex.split(command.split(">", 1)[0])
        parser.parse_args(words[words.index("exposures") :])


MARKET_DATA_COMMANDS = ("import", "feed", "ingest", "quality")


def command_words(line: str, command: str) -> list[str]:
    """The words of a shell command line from ``command`` on, without what follows it: a
    redirection (``> f``, ``2>&1``), a pipe or ``&`` (run in the background)."""
    line = re.split(r"\s(?:\d?>|&|\|)", f"{line} ", maxsplit=1)[0]
    words = shlex.split(line)
    return words[words.index(command) :]


@pytest.mark.parametrize("doc", [README, DOCS / "ingest.md"], ids=lambda p: p.name)
@pytest.mark.parametrize("command", MARKET_DATA_COMMANDS)
def test_documented_market_data_commands_parse(doc, command):
    commands = risk_commands(read(doc), command)
    assert commands, f"{doc.name} shows no riskengine {command} command"
    parser = build_parser()
    for line in commands:
        args = parser.parse_args(command_words(line, command))  # SystemExit if invalid
        assert args.command == command


# ---------------------------------------------------------------------------------------------
# Formats


def test_book_json_is_the_same_book_as_book_csv():
    csv_book = riskengine.load_portfolio(ROOT / "examples" / "book.csv")
    json_book = riskengine.load_portfolio(ROOT / "examples" / "book.json")
    assert json_book.positions == csv_book.positions
    assert json_book.name == csv_book.name


def test_formats_md_book_table_lists_exactly_the_known_fields():
    rows = table_rows(read(DOCS / "formats.md"), "Column")
    columns = [first_code(r[0]) for r in rows]
    assert len(columns) == len(set(columns)), "a column is listed twice"
    assert set(columns) == set(KNOWN_FIELDS)


def test_formats_md_report_table_lists_exactly_the_report_fields():
    rows = table_rows(read(DOCS / "formats.md"), "Field")
    names = [first_code(r[0]) for r in rows]
    report = RiskReport(
        method="historical",
        as_of="2022-12-28",
        base_currency="USD",
        measures=(RiskMeasure(0.99, 1.0, 1.5),),
        parameters={},
        n_scenarios=1,
        portfolio={},
    )
    doc = report.to_dict()
    top = {n for n in names if "." not in n and "[" not in n}
    assert top == set(doc)
    per_result = {n.split(".", 1)[1] for n in names if n.startswith("results[].")}
    assert per_result == set(doc["results"][0])


def test_formats_md_exposures_tables_list_exactly_the_exposures_fields():
    line = ExposureLine(1.0, 0.0, 0.0, 1.0, 1.0, 1)
    exposures = Exposures(
        line, (FactorExposure("AAA", 10.0, 0.1, line),), (TagExposure("desk", "a", line),)
    )
    doc = exposures.to_dict()
    rows = {
        first_code(r[0]): r[2] for r in table_rows(read(DOCS / "formats.md"), "Exposures field")
    }
    assert set(rows) == set(doc) | set(doc["total"])
    # The fields a row of a list adds to the six numbers are named in that list's row.
    for part in ("by_underlying", "by_tag"):
        for extra in set(doc[part][0]) - set(doc["total"]):
            assert f"`{extra}`" in rows[part], (part, extra)
    report = ExposureReport("2022-12-28", "USD", {}, exposures)
    rows = table_rows(read(DOCS / "formats.md"), "Exposures report field")
    assert {first_code(r[0]) for r in rows} == set(report.to_dict())


def test_formats_md_contributions_table_lists_exactly_the_contributions_fields():
    portfolio = riskengine.load_portfolio(ROOT / "examples" / "book.csv")
    history = riskengine.load_prices(ROOT / "data" / "us_equities_daily.csv")
    doc = riskengine.compute_risk(portfolio, history, contributions=True).to_dict()
    c = doc["contributions"]
    fields = set(c) | set(c["summary"][0]) | set(c["by_position"][0]) | set(c["by_tag"][0])
    rows = table_rows(read(DOCS / "formats.md"), "Contributions field")
    names = [first_code(r[0]) for r in rows]
    assert len(names) == len(set(names)), "a field is listed twice"
    assert set(names) == fields
    estimator = next(r[2] for r in rows if first_code(r[0]) == "estimator")
    for key in c["estimator"]:
        assert f"`{key}`" in estimator, f"estimator key {key!r} is not documented"


# ---------------------------------------------------------------------------------------------
# docs/api.md


def test_api_md_settings_table_lists_exactly_the_settings():
    import dataclasses

    from riskengine.service.settings import PREFIX, Settings

    documented = [first_code(row[0]) for row in table_rows(read(DOCS / "api.md"), "Variable")]
    assert documented == [PREFIX + f.name.upper() for f in dataclasses.fields(Settings)]
    defaults = {first_code(r[0]): r[1] for r in table_rows(read(DOCS / "api.md"), "Variable")}
    for f in dataclasses.fields(Settings):
        if f.default is dataclasses.MISSING or f.default in (None, ()):
            continue
        want = str(f.default).lower() if isinstance(f.default, bool) else str(f.default)
        assert defaults[PREFIX + f.name.upper()] == f"`{want}`", f.name


def test_api_md_endpoint_table_lists_exactly_the_routes():
    from riskengine.api import create_app
    from riskengine.service.settings import Settings

    app = create_app(Settings(database_url="sqlite://:memory:"))
    routes = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    routes.add(("WEBSOCKET", "/api/v1/live"))
    rows = table_rows(read(DOCS / "api.md"), "Method")
    documented = {(r[0].upper(), first_code(r[1])) for r in rows if r[0] != "`type`"}
    assert documented == routes
