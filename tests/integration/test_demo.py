"""``riskengine demo`` (what ``make run`` starts), as a user runs it: a separate process on a
free port that serves the page and the API, ingests simulated ticks, pushes live VaR, and
stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
from websockets.sync.client import connect

from riskengine.api.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_serves_live_var_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskengine", "demo", "--port", str(port), "--rate", "100"],
        cwd=tmp_path,  # the demo's store is created in the working directory
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            if "open http://" in line:
                break
        assert f"open {url}/" in "".join(lines)
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "riskengine" in page.text
        books = httpx.get(url + "/api/v1/portfolios").json()  # no key: the demo runs without
        assert books and books[0]["name"] == "Demo book"
        with connect(url.replace("http", "ws") + "/api/v1/live") as ws:
            ws.send(orjson.dumps({"action": "watch", "portfolio_id": books[0]["id"]}).decode())
            reports = []
            while len(reports) < 2:
                msg = orjson.loads(ws.recv(30))
                if msg["type"] == "report":
                    reports.append(msg["report"])
        assert any("live prices" in n for n in reports[-1]["notes"])
        assert reports[-1]["as_of"] == "2022-12-28"  # VaR from the closed daily bars
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "ticks stored" in out and "Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "riskengine-demo.sqlite3").exists()


def _start_demo(tmp_path, *args, env=None):
    return subprocess.Popen(
        [sys.executable, "-m", "riskengine", "demo", "--rate", "100", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {}),
    )


def test_the_demo_prints_its_url_once_the_port_listens(tmp_path):
    """The URL was printed before the server had bound the port, so a browser (and this
    project's demo test, once, on a busy machine) got "connection refused". Here the demo is
    frozen (SIGSTOP) the moment it prints the URL: the port must already take connections."""
    port = free_port()
    proc = _start_demo(tmp_path, env={"RISKENGINE_PORT": str(port)})  # the variable is honoured
    try:
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            if "open http://" in line:
                proc.send_signal(signal.SIGSTOP)
                break
        assert f"open http://127.0.0.1:{port}/" in "".join(lines)
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # the kernel completes the handshake for a listening socket
        proc.send_signal(signal.SIGCONT)
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert r.status_code == 200, (r.headers, r.text)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, "".join(lines) + out
        assert "".join(lines).count("open http://") == 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait()


def test_a_busy_port_is_refused_with_the_way_out(tmp_path):
    """With the port taken the demo printed the URL, then a bind error, then an unrelated
    ingest message, exit 3: now it says the port is busy and how to choose another, and
    starts nothing."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start_demo(tmp_path, "--port", str(port))
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    assert f"port {port} on 127.0.0.1 is in use" in out
    for way_out in ("--port", "RISKENGINE_PORT", "make run PORT="):
        assert way_out in out, out
    assert "open http" not in out and "imported" not in out and "Traceback" not in out
    assert not (tmp_path / "riskengine-demo.sqlite3").exists()
