"""Every bad input gets a clear refusal from the real server: a 4xx problem naming the field,
the value or the limit and the way out; never a 500, a reset connection or a traceback. And a
store failure is answered with what failed and what to do, never the database's path, host,
port or driver message (those go to the server's log)."""

from __future__ import annotations

import json
import sqlite3
import time

import orjson
import pytest
from websockets.sync.client import connect

from integration.api_support import api_settings, assert_problem, book_doc, start_api
from riskengine.store.sqlite import SQLiteStore

DEEP = 100_000  # nested lists: far past any parser's recursion limit


def deep_json(levels: int = DEEP) -> bytes:
    return b"[" * levels + b"]" * levels


def errors_of(body: dict) -> dict[str, str]:
    return {e["field"]: e["problem"] for e in body.get("errors", [])}


# --- 1. nesting -------------------------------------------------------------------------------
def test_deeply_nested_json_is_refused_naming_the_limit(api):
    c = api.client()
    for path in ("/api/v1/portfolios", "/api/v1/risk", "/api/v1/stress"):
        r = c.post(path, content=deep_json(), headers={"content-type": "application/json"})
        assert_problem(r, 422, "validation", "nested deeper than 32", "flatter")
    # a document within orjson's own limit (1024) but past the server's, inside a free-form field
    custom = {"name": "x", "type": "hypothetical", "shocks": json.loads(deep_json(40))}
    r = c.post("/api/v1/stress", json={"portfolio": book_doc(), "custom": [custom]})
    assert_problem(r, 422, "validation", "nested deeper than 32")
    r = c.post("/api/v1/portfolios/upload", files={"file": ("deep.json", deep_json())})
    body = assert_problem(r, 422, "validation", "file 'deep.json'", "nested deeper than 32")
    assert "file" in errors_of(body)
    # NaN first: orjson stops there, the loader's parser (which reads NaN) meets the depth
    file = b'{"x": NaN, "positions": ' + deep_json() + b"}"
    r = c.post("/api/v1/portfolios/upload", files={"file": ("nan.json", file)})
    assert_problem(r, 422, "invalid-input", "nan.json", "nested too deeply")
    assert c.get("/healthz").status_code == 200  # the same connection still answers


def test_a_deep_websocket_message_is_refused_and_the_socket_stays_open(api):
    ws_url = api.url.replace("http", "ws") + f"/api/v1/live?api_key={api.keys['alpha']}"
    with connect(ws_url, max_size=None) as ws:
        assert orjson.loads(ws.recv(10))["type"] == "hello"

        def answer():
            msg = orjson.loads(ws.recv(10))
            while msg["type"] == "prices":
                msg = orjson.loads(ws.recv(10))
            return msg

        ws.send('{"action": ' + deep_json(1000).decode() + "}")
        msg = answer()
        assert msg["type"] == "error" and "nested deeper than 32" in msg["problem"]["detail"]
        ws.send(b'{"action": "ping"}')  # a binary frame is read as UTF-8 JSON
        assert answer() == {"type": "pong"}
        ws.send(b'{"action": "\xff"}')
        msg = answer()
        assert msg["type"] == "error" and "offset 12" in msg["problem"]["detail"], msg
        ws.send('{"action": "ping"}')
        assert answer() == {"type": "pong"}


# --- 3. encoding and size ---------------------------------------------------------------------
def test_a_body_that_is_not_utf8_is_refused_naming_the_byte_offset(api):
    raw = b'{"name": "caf\xe9", "positions": [{"symbol": "AAPL", "quantity": 1}]}'
    r = api.client().post(
        "/api/v1/portfolios", content=raw, headers={"content-type": "application/json"}
    )
    body = assert_problem(r, 422, "validation", "offset 13", "0xe9", "send UTF-8 JSON")
    assert errors_of(body) == {"body": "byte 0xe9 at offset 13 is not UTF-8"}
    r = api.client().post(
        "/api/v1/risk", content=b'{"method": NaN}', headers={"content-type": "application/json"}
    )
    assert_problem(r, 422, "validation", "not JSON", "line 1, column 12", "send UTF-8 JSON")


def test_a_chunked_body_over_the_limit_is_too_large(tmp_path):
    from riskengine.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'small.sqlite3'}")
    server = start_api(store, api_settings(max_body_bytes=10_000))
    try:

        def chunks():  # no Content-Length: the server counts the bytes as they come
            for _ in range(10):
                yield b" " * 4_000

        for path, headers in (
            ("/api/v1/portfolios", {"content-type": "application/json"}),
            ("/api/v1/risk", {}),
        ):
            r = server.client().post(path, content=chunks(), headers=headers)
            assert_problem(r, 413, "too-large", "limit of 10000 bytes", "RISKENGINE_MAX_BODY")
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        body = head + b"x" * 20_000
        r = server.client().post(
            "/api/v1/portfolios/upload",
            content=iter([body[:8_000], body[8_000:]]),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert_problem(r, 413, "too-large", "limit of 10000 bytes")
        assert server.client().get("/healthz").status_code == 200
    finally:
        server.close()
        store.close()


# --- 5. uploads -------------------------------------------------------------------------------
CSV = b"symbol,quantity\nAAPL,100\n"


def test_uploads_refuse_other_types_several_files_and_long_names(api):
    c = api.client()
    r = c.post("/api/v1/portfolios/upload", files={"file": ("book.txt", CSV)})
    assert_problem(r, 415, "unsupported-file", "'book.txt'", ".csv or .json")
    r = c.post(
        "/api/v1/portfolios/upload",
        files=[("file", ("a.csv", CSV)), ("file", ("b.csv", b"symbol,quantity\nMSFT,1\n"))],
    )
    body = assert_problem(r, 422, "validation", "2 parts named 'file'", "send one")
    assert "file" in errors_of(body)
    doc = book_doc(name="x" * 500)
    r = c.post("/api/v1/portfolios/upload", files={"file": ("b.json", json.dumps(doc).encode())})
    body = assert_problem(r, 422, "validation", "the name in file 'b.json'", "500", "1 to 200")
    assert "file.name" in errors_of(body)
    r = c.post(
        "/api/v1/portfolios/upload",
        files={"file": ("b.json", json.dumps(doc).encode())},
        data={"name": "short"},
    )
    assert r.status_code == 201 and r.json()["name"] == "short", r.text  # the form field wins


# --- 6. loose numbers -------------------------------------------------------------------------
def test_request_numbers_are_strict_and_bounded(api):
    c = api.client()
    bad_positions = {
        "quantity": ({"symbol": "AAPL", "quantity": True}, "valid number"),
        "implied_vol": (
            book_doc()["positions"][-1] | {"implied_vol": 1e6},
            "less than or equal to 10",
        ),
        "rate": (book_doc()["positions"][-1] | {"rate": 1e10}, "less than or equal to 1"),
        "dividend_yield": (
            book_doc()["positions"][-1] | {"dividend_yield": -2},
            "greater than or equal to -1",
        ),
    }
    for field, (position, words) in bad_positions.items():
        r = c.post("/api/v1/portfolios", json={"positions": [position]})
        body = assert_problem(r, 422, "validation", words)
        assert errors_of(body).keys() == {f"positions[0].{field}"}, body
        inline = {"portfolio": {"positions": [position]}, "contributions": "none"}
        r = c.post("/api/v1/risk", json=inline)
        assert f"portfolio.positions[0].{field}" in errors_of(assert_problem(r, 422, "validation"))
    book = {"positions": [{"symbol": "AAPL", "quantity": 5000}]}
    for field, value, words in (
        ("df", 2.0000001, "greater than or equal to 2.5"),
        ("horizon_days", True, "valid integer"),
        ("n_scenarios", "1000", "valid integer"),
        ("live", 1, "valid boolean"),
    ):
        r = c.post(
            "/api/v1/risk",
            json={"portfolio": book, "method": "parametric", "distribution": "student-t"}
            | {field: value},
        )
        body = assert_problem(r, 422, "validation", words)
        assert errors_of(body).keys() == {field}, body
    r = c.post(
        "/api/v1/risk",
        json={"portfolio": book, "method": "parametric", "distribution": "student-t", "df": 2.5},
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["value_at_risk"] > 1000  # not the 6.5 of df 2.0000001


def test_risk_spec_refuses_a_student_t_df_below_the_minimum():
    from riskengine.errors import InputError
    from riskengine.pipeline import MIN_STUDENT_T_DF, RiskSpec

    with pytest.raises(InputError, match=r"df must be >= 2.5.*got 2.0000001"):
        RiskSpec(method="parametric", distribution="student-t", df=2.0000001)
    assert RiskSpec(method="parametric", distribution="student-t", df=MIN_STUDENT_T_DF).df == 2.5


# --- 2. control characters, on both backends --------------------------------------------------
def test_control_characters_in_names_symbols_and_ids_are_refused(store, bundled_history):
    store.import_daily(bundled_history)
    server = start_api(store)
    c = server.client()
    try:
        for doc, field in (
            ({"name": "desk\x00a"}, "name"),
            ({"positions": [{"symbol": "AA\x00PL", "quantity": 1}]}, "positions[0].symbol"),
            ({"positions": [{"symbol": "AAPL", "quantity": 1, "id": "p\n1"}]}, "positions[0].id"),
            ({"positions": [{"symbol": "AAPL", "quantity": 1, "tags": {"a": "b\x00"}}]}, None),
            ({"base_currency": "U\x00D"}, "base_currency"),
        ):
            r = c.post("/api/v1/portfolios", json=book_doc() | doc)
            body = assert_problem(r, 422, "validation")
            problems = errors_of(body)
            assert any("control character" in p and "printable" in p for p in problems.values())
            if field is not None:  # (tags, a union, lists a problem for each of its forms)
                assert "control character" in problems[field], body
        r = c.get("/api/v1/market/bars/AA%00PL")
        body = assert_problem(r, 422, "validation", "U+0000", "printable")
        assert "path.symbol" in errors_of(body)
        r = c.get("/api/v1/market/prices", params={"symbols": "AAPL,MS\x00FT"})
        assert_problem(r, 422, "validation", "U+0000")
        r = c.post(
            "/api/v1/portfolios/upload", files={"file": ("b.csv", CSV)}, data={"name": "a\x00"}
        )
        body = assert_problem(r, 422, "validation", "the name form field", "U+0000")
        assert "name" in errors_of(body)
        doc = book_doc(name="tab\there")
        r = c.post("/api/v1/portfolios/upload", files={"file": ("b.json", json.dumps(doc))})
        assert_problem(r, 422, "validation", "the name in file 'b.json'", "U+0009")
        custom = {"name": "a\x00", "type": "hypothetical", "shocks": ["AAPL:-0.1"]}
        r = c.post("/api/v1/stress", json={"portfolio": book_doc(), "custom": [custom]})
        assert_problem(r, 422, "validation", "custom[0].name", "U+0000")
        assert c.get("/api/v1/portfolios").json() == []  # nothing was stored
    finally:
        server.close()


def test_postgres_refuses_nul_in_text_as_the_callers_input(pg_url, open_test_store):
    """PostgreSQL cannot store NUL in text (SQLite can): an InputError naming the character,
    which is still a StoreError for the callers that handle those (ingest, jobs)."""
    from riskengine.errors import InputError
    from riskengine.store.base import StoreError

    store = open_test_store(pg_url)
    try:
        for call in (
            lambda: store.save_portfolio("alpha", "desk\x00a", "{}"),
            lambda: store.bars("AA\x00PL", "1d"),
        ):
            with pytest.raises(InputError, match="NUL character") as exc:
                call()
            assert isinstance(exc.value, StoreError)
            assert "127.0.0.1" not in str(exc.value)
        assert store.list_portfolios("alpha") == []
    finally:
        store.close()


# --- 4. store errors --------------------------------------------------------------------------
class FailingReports(SQLiteStore):
    """A SQLite store whose report writes fail with ``message`` as SQLite words it, through
    the store's own translation of driver errors."""

    error: type[sqlite3.Error] = sqlite3.OperationalError
    message = "database is locked"

    def save_report(self, *args, **kwargs):
        with self._errors():
            raise self.error(self.message)


def test_store_errors_say_what_to_do_without_showing_the_database(
    tmp_path, bundled_history, caplog
):
    path = str(tmp_path / "secret-store.sqlite3")
    store = FailingReports(path, timeout=0.5)
    store.import_daily(bundled_history)
    server = start_api(store)
    c = server.client()
    try:
        pid = c.post("/api/v1/portfolios", json=book_doc()).json()["id"]
        request = {"portfolio_id": pid, "contributions": "none"}
        cases = (
            (sqlite3.OperationalError, "database is locked", 503, "store-unavailable", "busy"),
            (sqlite3.OperationalError, "disk I/O error", 503, "store-unavailable", "answer"),
            (sqlite3.IntegrityError, "UNIQUE constraint failed: x", 500, "store-error", "log"),
        )
        for error, message, status, kind, words in cases:
            store.error, store.message = error, message
            r = c.post("/api/v1/risk", json=request)
            body = assert_problem(r, status, kind, words, "etry")
            assert "secret-store" not in r.text and message not in r.text, body
            if status == 503:
                assert r.headers["retry-after"] == "5"
        # a job's error is shown to clients too
        r = c.post("/api/v1/risk", json=request, headers={"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        url = r.headers["location"]
        deadline = time.monotonic() + 60
        while (job := c.get(url).json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job["state"] == "failed", job
        assert "secret-store" not in job["error"] and "log" in job["error"], job
        assert "UNIQUE constraint" not in c.get(url + "/result").text
    finally:
        server.close()
        store.close()
    assert "secret-store" in caplog.text  # the operator's log has the whole story


def test_a_postgres_outage_is_answered_without_the_server_address(
    pg_server, pg_url, open_test_store, bundled_history
):
    from riskengine.store.postgres import describe_url

    store = open_test_store(pg_url)
    store.import_daily(bundled_history)
    server = start_api(store)
    where = describe_url(pg_url)
    host_port, dbname = where.split("/", 1)
    c = server.client()
    try:
        with pg_server.down():
            r = c.get("/api/v1/portfolios")
            assert_problem(r, 503, "store-unavailable", "retry in a few seconds")
            r2 = server.anonymous.get("/readyz")
            assert_problem(r2, 503, "not-ready", "retry")
            for answer in (r, r2):
                assert host_port not in answer.text and dbname not in answer.text, answer.text
                assert "PostgreSQL" not in answer.text and "connection" not in answer.text
        assert server.anonymous.get("/readyz").status_code == 200
    finally:
        server.close()
        store.close()


def test_a_custom_shock_reaching_no_position_is_refused_or_kept_with_a_warning(api):
    """A mistyped symbol (APPL) answered 200 with a $0 scenario and only a note."""
    c = api.client()
    custom = [{"name": "typo", "type": "hypothetical", "shocks": ["APPL=-20%", "MSFT=-5%"]}]
    body = {"portfolio": book_doc(), "scenarios": [], "custom": custom}
    r = c.post("/api/v1/stress", json=body)
    assert_problem(r, 422, "invalid-input", "APPL=-20%", "reach no position", "keep_idle_shocks")
    r = c.post("/api/v1/stress", json=body | {"keep_idle_shocks": True})
    assert r.status_code == 200, r.text
    (result,) = r.json()["scenarios"]
    assert result["scenario"] == "typo" and "APPL=-20%" in result["warnings"][0]
    assert result["pnl"] < 0  # MSFT still moves
