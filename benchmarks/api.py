"""Benchmark: latency of the HTTP API under load, against the bare framework's floor.

In one run, on 127.0.0.1: the seed workload's history (500 names x 2,701 closes) imported into
an embedded SQLite store in a temporary directory, the real server started as a separate
process (``python -m riskengine serve``, settings from ``RISKENGINE_*`` variables, defaults
otherwise), and ``--clients`` books of 5,000 positions stored through the API: the seed book
with every quantity scaled by its own random factor, some positions turned short or long, and
the positions shuffled, so that no two books are alike and nothing can be served from a
result computed for another book.

Then a closed-loop load: ``--clients`` concurrent clients, each on its own keep-alive
connection and its own book, send a request, wait for the whole answer, verify it and send the
next, for ``--duration`` seconds. Measured per method (historical, parametric, Monte Carlo with
``--paths`` paths and one fixed seed, so that every book shares the snapshot's scenario set):

* a standard request with the API's defaults, contributions "components" (marginal and
  component VaR and ES per position and per tag, the answer is ~1.3 MB of JSON);
* the same with contributions "none" (VaR, ES, their standard errors, exposures, histogram);
* the floor: the same load on ``GET /healthz``, the framework's own latency on this machine.

Target (issue): p99 < 200 ms for the standard request, any method, with 10 clients. Runs of the
cases alternate, ``--repeat`` rounds; figures are medians over the rounds. The load generator
is one process, asyncio over raw sockets with pre-encoded requests (its own CPU use is
printed). Each answer is checked: status 200, ``results[*].value_at_risk`` finite and
positive; the last answer of every client is parsed in full and checked against its request.

Run with ``.venv/bin/python benchmarks/api.py [--duration S] [--repeat R] [--clients N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from riskengine.instruments.types import EuropeanOption, Portfolio  # noqa: E402
from riskengine.store.open import open_store  # noqa: E402
from workload import seed_workload  # noqa: E402

HOST = "127.0.0.1"
TARGET_MS = 200.0
PROBES = ("/healthz", "/api/v1/portfolios")  # probed during the heavy run
PROBE_TARGET_MS = 50.0
METHODS = ("historical", "parametric", "montecarlo")
CONTRIBUTIONS = ("components", "none")  # the API's default first
SEED = 7


# --- the books ---------------------------------------------------------------------------------
def _record(position, quantity: float, desk: str) -> dict:
    inst = position.instrument
    rec = {"id": position.id, "quantity": quantity, "tags": f"desk={desk}"}
    if isinstance(inst, EuropeanOption):
        rec |= {
            "instrument_type": "option",
            "symbol": inst.symbol or None,
            "underlying": inst.underlying,
            "strike": inst.strike,
            "expiry": inst.expiry.isoformat(),
            "option_type": inst.option_type,
            "implied_vol": inst.implied_vol,
            "rate": inst.rate,
            "dividend_yield": inst.dividend_yield,
            "multiplier": position.multiplier,
        }
    else:
        rec |= {"instrument_type": "equity", "symbol": inst.symbol}
        if position.multiplier != 1.0:
            rec["multiplier"] = position.multiplier
    return {k: v for k, v in rec.items() if v is not None}


def book_documents(portfolio: Portfolio, n_books: int) -> list[dict]:
    """``n_books`` variants of ``portfolio`` (same size): quantities scaled by a factor in
    [0.5, 1.5] each, 5% of the signs flipped, positions shuffled, desks assigned at random."""
    docs = []
    positions = portfolio.positions
    for k in range(n_books):
        rng = np.random.default_rng([SEED, k])
        scale = rng.uniform(0.5, 1.5, len(positions))
        sign = np.where(rng.random(len(positions)) < 0.05, -1.0, 1.0)
        desks = rng.integers(0, 8, len(positions))
        records = []
        for i in rng.permutation(len(positions)):
            p = positions[i]
            q = p.quantity * scale[i] * sign[i]
            q = float(round(q)) if abs(q) >= 1 else float(np.sign(q))  # whole units and contracts
            records.append(_record(p, q, f"d{desks[i]}"))
        docs.append({"name": f"bench-book-{k}", "positions": records})
    return docs


# --- the server --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``python -m riskengine serve`` in a child process, stopped on exit."""

    def __init__(self, database_url: str, log_path: Path, extra_env: dict[str, str]):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RISKENGINE_")}
        env |= {
            "RISKENGINE_DATABASE_URL": database_url,
            "RISKENGINE_HOST": HOST,
            "RISKENGINE_PORT": str(self.port),
            "RISKENGINE_AUTH": "false",
            "RISKENGINE_LOG_LEVEL": "warning",
        } | extra_env
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riskengine", "serve"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                status, _ = asyncio.run(one_request(self.port, get("/healthz")))
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        log = self.log_path.read_text(errors="replace")[-3000:]
        raise SystemExit(f"the server did not start on port {self.port}:\n{log}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far of the server process and its descendants (its
        worker processes; Linux /proc), else None. Descendants that ended count through
        their parent's children times (the process fields 13 and 14)."""
        stats = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
        if self.proc.pid not in stats:
            return None
        parent = {pid: int(f[1]) for pid, f in stats.items()}
        total = 0
        for pid, fields in stats.items():
            p = pid
            while p not in (self.proc.pid, 0, 1) and p in parent:
                p = parent[p]
            if p == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# --- the load generator ------------------------------------------------------------------------
def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


def post(path: str, doc) -> bytes:
    body = orjson.dumps(doc)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Connection:
    """One HTTP/1.1 keep-alive connection; answers must carry a Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port, limit=2**20)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        m = _LENGTH.search(head)
        if m is None:
            raise RuntimeError(f"answer without Content-Length: {head[:200]!r}")
        return int(head[9:12]), await self.reader.readexactly(int(m.group(1)))

    def close(self) -> None:
        self.writer.close()


async def one_request(port: int, raw: bytes) -> tuple[int, bytes]:
    conn = await Connection.open(port)
    try:
        return await conn.send(raw)
    finally:
        conn.close()


def check_quick(status: int, body: bytes) -> None:
    """Status 200 and every ``results[*].value_at_risk`` finite and > 0, parsing only the
    ``results`` list (it comes early in the report and holds no nested list)."""
    if status != 200:
        raise RuntimeError(f"status {status}: {body[:500]!r}")
    start = body.find(b'"results":')
    end = body.find(b"]", start)
    if start < 0 or end < 0:
        raise RuntimeError(f"no results in the answer: {body[:300]!r}")
    results = orjson.loads(body[start + 10 : end + 1])
    for r in results:
        var = r["value_at_risk"]
        if not (isinstance(var, float) and math.isfinite(var) and var > 0):
            raise RuntimeError(f"VaR {var!r} is not finite and positive")


def check_full(body: bytes, request: dict, book_id: int) -> None:
    report = orjson.loads(body)
    if report["method"] != request["method"] or report["portfolio"]["id"] != book_id:
        raise RuntimeError(f"answer for another request: {report['method']}, {report['portfolio']}")
    if report["portfolio"]["n_included"] != 5_000:
        raise RuntimeError(f"positions excluded: {report['excluded_positions'][:3]}")
    has = report["contributions"] is not None
    if has != (request["contributions"] != "none"):
        raise RuntimeError(f"contributions {request['contributions']!r} but answer has {has}")
    if request["method"] == "montecarlo" and report["provenance"]["seed"] != SEED:
        raise RuntimeError(f"seed {report['provenance']['seed']} instead of {SEED}")


def busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy so far (Linux /proc/stat, steal included)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    probes: dict[str, list[float]] = field(default_factory=dict)
    prepared: tuple[float, float] | None = None  # compiled-book cache (hits, lookups) in the run
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float | None = None
    machine_cpu: float | None = None

    @property
    def others(self) -> float | None:
        """CPU seconds of other processes (and the hypervisor's steal) during the run."""
        if self.machine_cpu is None or self.server_cpu is None:
            return None
        return max(0.0, self.machine_cpu - self.server_cpu - self.client_cpu)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile in ms (the ceil(q n)-th smallest latency)."""
        data = sorted(self.latencies)
        return 1e3 * data[max(0, math.ceil(q * len(data) - 1e-9) - 1)]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def _load(port: int, requests: list[bytes], duration: float, check, full, probes) -> Run:
    conns = [await Connection.open(port) for _ in requests]
    run = Run()
    probe_conn = await Connection.open(port) if probes else None
    last: list[bytes] = [b""] * len(requests)
    stop_at = 0.0

    async def client(i: int) -> None:
        conn, raw = conns[i], requests[i]
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            status, body = await conn.send(raw)
            run.latencies.append(time.perf_counter() - t0)
            check(status, body)
            last[i] = body

    async def probe() -> None:  # another client's small requests, every 20 ms, meanwhile
        assert probe_conn is not None
        while time.perf_counter() < stop_at:
            for path in probes:
                t = time.perf_counter()
                status, body = await probe_conn.send(get(path))
                run.probes.setdefault(path, []).append(time.perf_counter() - t)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}: {body[:200]!r}")
            await asyncio.sleep(0.02)

    c0 = time.process_time()
    t0 = time.perf_counter()
    stop_at = t0 + duration
    tasks = [client(i) for i in range(len(requests))] + ([probe()] if probes else [])
    await asyncio.gather(*tasks)
    run.seconds = time.perf_counter() - t0
    run.client_cpu = time.process_time() - c0
    for c in conns:
        c.close()
    if probe_conn is not None:
        probe_conn.close()
    if full is not None:
        for i, body in enumerate(last):
            full(i, body)
    return run


def load(
    port: int, requests: list[bytes], duration: float, check, full=None, server=None, probes=()
) -> Run:
    s0 = server.cpu_seconds() if server is not None else None
    p0 = preparation(port) if server is not None else None
    m0 = busy_seconds()
    run = _run_loop(_load(port, requests, duration, check, full, list(probes)))
    m1 = busy_seconds()
    s1 = server.cpu_seconds() if server is not None else None
    p1 = preparation(port) if server is not None else None
    if p0 is not None and p1 is not None:
        run.prepared = (p1[0] - p0[0], p1[1] - p0[1])
    if s0 is not None and s1 is not None:
        run.server_cpu = s1 - s0
    if m0 is not None and m1 is not None:
        run.machine_cpu = m1 - m0
    return run


_PREPARED = re.compile(rb'riskengine_book_preparation\{counter="(hits|lookups)"\} ([0-9.e+]+)')


def preparation(port: int) -> tuple[float, float] | None:
    """The server's compiled-book cache counters (hits, lookups) from /metrics; None when it
    has none (a server before they were added)."""
    status, body = _run_loop(one_request(port, get("/metrics")))
    found = dict(_PREPARED.findall(body)) if status == 200 else {}
    if b"hits" not in found or b"lookups" not in found:
        return None
    return float(found[b"hits"]), float(found[b"lookups"])


class Feed:
    """The built-in simulated feed (``riskengine`` protocol) on its own loop in a thread:
    ``rate`` trades per second over the history's symbols, for the server to ingest, so that
    the market snapshot moves during the runs."""

    def __init__(self, history, rate: float):
        import datetime as dt
        import threading

        from riskengine.ingest.sources import simulated_ticks

        try:
            from riskengine.ingest.exchange import FeedServer
        except ImportError:  # the module's name in older versions (an A/B against them)
            from riskengine.ingest.feed import FeedServer  # type: ignore[no-redef]

        self.loop = asyncio.new_event_loop()
        ticks = simulated_ticks(history, seed=SEED, start=dt.datetime.now(dt.UTC),
                                step=dt.timedelta(milliseconds=1000 / rate))  # fmt: skip
        self.server = FeedServer(ticks, rate=rate)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def _run_loop(coro):
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def check_health(status: int, body: bytes) -> None:
    if status != 200 or b'"ok"' not in body:
        raise RuntimeError(f"healthz answered {status}: {body[:200]!r}")


# --- the run -----------------------------------------------------------------------------------
def risk_request(book_id: int, method: str, contributions: str, paths: int) -> dict:
    req = {"portfolio_id": book_id, "method": method, "confidence": [0.99]}
    if method == "montecarlo":
        req |= {"n_scenarios": paths, "seed": SEED}
    return req | {"contributions": contributions}


def machine() -> str:
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load_avg = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores{mem}"
        f"{load_avg}; Python {platform.python_version()}, NumPy {np.__version__}"
    )


def ms(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=10, help="concurrent clients (one book each)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds over all the cases")
    ap.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    ap.add_argument(
        "--contributions",
        default=",".join(CONTRIBUTIONS),
        help="comma-separated contribution details (components, none, full)",
    )
    ap.add_argument(
        "--feed-rate",
        type=float,
        default=50.0,
        help="trades per second of the simulated feed the server ingests (0: no feed)",
    )
    ap.add_argument(
        "--heavy-paths",
        type=int,
        default=40_000,
        help="paths of the heavy Monte Carlo run (probed for /healthz and a store read); 0: skip",
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=None,
        help="RISKENGINE_COMPUTE_PROCESSES for the server (default: its own default)",
    )
    ap.add_argument(
        "--compute-threads",
        type=int,
        default=None,
        help="RISKENGINE_COMPUTE_THREADS for the server (default: its own default)",
    )
    args = ap.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    details = [c.strip() for c in args.contributions.split(",") if c.strip()]
    started = time.perf_counter()
    print(machine())
    print(
        f"{args.clients} clients, closed loop on 127.0.0.1, {args.duration:g} s per run, "
        f"{args.repeat} rounds; Monte Carlo {args.paths:,} paths, seed {SEED}; the simulated "
        f"feed at {args.feed_rate:g} trades/s"
    )
    history, portfolio = seed_workload()
    docs = book_documents(portfolio, args.clients)
    extra = {}
    feed = Feed(history, args.feed_rate) if args.feed_rate > 0 else None
    if feed is not None:
        extra["RISKENGINE_FEED_URL"] = feed.url
    if args.processes is not None:
        extra["RISKENGINE_COMPUTE_PROCESSES"] = str(args.processes)
    if args.compute_threads is not None:
        extra["RISKENGINE_COMPUTE_THREADS"] = str(args.compute_threads)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "api-bench.sqlite3"
        url = f"sqlite:///{db}"
        store = open_store(url)
        try:
            store.import_daily(history)
        finally:
            store.close()
        server = Server(url, Path(tmp) / "server.log", extra)
        try:
            server.wait_ready()
            t_setup = time.perf_counter() - started
            ids = []
            for doc in docs:
                status, body = _run_loop(one_request(server.port, post("/api/v1/portfolios", doc)))
                if status != 201:
                    raise SystemExit(f"creating a book answered {status}: {body[:500]!r}")
                ids.append(orjson.loads(body)["id"])
            cases = [("GET /healthz (floor)", None, None)]
            cases += [(f"{m}, {c}", m, c) for m in methods for c in details]
            requests: dict[str, list[bytes]] = {}
            plain: dict[str, list[dict]] = {}
            for label, m, c in cases:
                if m is None:
                    requests[label] = [get("/healthz")] * args.clients
                    continue
                plain[label] = [risk_request(i, m, c, args.paths) for i in ids]
                requests[label] = [post("/api/v1/risk", r) for r in plain[label]]
            # Warm-up: history loaded, covariance and scenario sets built, every book parsed.
            t0 = time.perf_counter()
            for label, m, _ in cases:
                reqs = requests[label]
                check = check_health if m is None else check_quick
                load(server.port, reqs, 0.5, check)
            t_warm = time.perf_counter() - t0
            runs: dict[str, list[Run]] = {label: [] for label, _, _ in cases}
            for _ in range(args.repeat):
                for label, m, _ in cases:
                    if m is None:
                        runs[label].append(
                            load(
                                server.port,
                                requests[label],
                                args.duration,
                                check_health,
                                server=server,
                            )  # fmt: skip
                        )
                        continue

                    def full(i, body, label=label):
                        check_full(body, plain[label][i], ids[i])

                    runs[label].append(
                        load(
                            server.port,
                            requests[label],
                            args.duration,
                            check_quick,
                            full,
                            server=server,
                        )  # fmt: skip
                    )
            heavy: list[Run] = []
            if args.heavy_paths:  # every client heavy; another client's small reads meanwhile
                heavy_docs = [risk_request(i, "montecarlo", "none", args.heavy_paths) for i in ids]
                reqs = [post("/api/v1/risk", r) for r in heavy_docs]
                load(server.port, reqs, 0.5, check_quick)
                for _ in range(args.repeat):
                    heavy.append(load(server.port, reqs, args.duration, check_quick,
                                      server=server, probes=PROBES))  # fmt: skip
            n_answers = sum(len(r.latencies) for k, rs in runs.items() if k in plain for r in rs)
            size_mb = sum(p.stat().st_size for p in Path(tmp).glob("api-bench.sqlite3*")) / 2**20
        finally:
            server.stop()
            if feed is not None:
                feed.close()
    print(
        f"setup (store import, server start) {t_setup:.1f} s, warm-up {t_warm:.1f} s; "
        f"{n_answers:,} risk answers measured; the store (history imported, a history entry "
        f"kept for every answer) ended at {size_mb:,.0f} MiB"
    )
    print(f"\nlatency in ms, median over {args.repeat} rounds of each figure")
    head = (
        f"{'request':<26} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'req/s':>7} "
        f"{'server CPU':>11} {'cores':>6} {'prep':>6} {'client CPU':>11} {'others':>10} "
        f"{'p99/floor':>10}"
    )
    print(head)
    print(
        f"{'':<26} {'':>7} {'':>7} {'':>7} {'':>7} {'':>7} {'ms/req':>11} {'busy':>6} "
        f"{'hits':>6} "
        f"{'% of core':>11} "
        f"{'% of core':>10}"
    )
    summary = {}
    floor_p99 = None
    for label, m, c in cases:
        rs = runs[label]
        p50 = statistics.median(r.percentile(0.50) for r in rs)
        p90 = statistics.median(r.percentile(0.90) for r in rs)
        p99 = statistics.median(r.percentile(0.99) for r in rs)
        mx = statistics.median(1e3 * max(r.latencies) for r in rs)
        rate = statistics.median(r.rate for r in rs)
        cpus = [1e3 * r.server_cpu / len(r.latencies) for r in rs if r.server_cpu is not None]
        server_ms = f"{statistics.median(cpus):.1f}" if cpus else "-"
        busy = [r.server_cpu / r.seconds for r in rs if r.server_cpu is not None]
        cores = f"{statistics.median(busy):.2f}" if busy else "-"
        rates = [h / n for r in rs if r.prepared for h, n in [r.prepared] if n > 0]
        prep = f"{100 * statistics.median(rates):.0f}%" if rates else "-"
        client = statistics.median(100 * r.client_cpu / r.seconds for r in rs)
        other = [100 * r.others / r.seconds for r in rs if r.others is not None]
        others = f"{statistics.median(other):.0f}%" if other else "-"
        if m is None:
            floor_p99 = p99
        ratio = p99 / floor_p99 if floor_p99 else float("nan")
        print(
            f"{label:<26} {ms(p50):>7} {ms(p90):>7} {ms(p99):>7} {ms(mx):>7} {rate:>7.1f} "
            f"{server_ms:>11} {cores:>6} {prep:>6} {client:>10.0f}% {others:>10} {ratio:>9.0f}x"
        )
        n = sum(len(r.latencies) for r in rs)
        summary[label] = (m, c, p99, [r.percentile(0.99) for r in rs], n)
    print(
        "\nserver CPU ms/req: the CPU time of the server and its worker processes over the "
        "run / answers; cores busy: that CPU time / the run's seconds; prep hits: the share of "
        "book preparations (compiled positions per book version and market snapshot) found "
        "ready (with "
        f"{args.clients} clients on {os.cpu_count()} cores the latency is at least about "
        f"{args.clients} x that / {os.cpu_count()}); client CPU: this load generator; others: "
        "every other process on the machine and the hypervisor's steal, during the runs"
    )
    print()
    for m, c, p99, each, n in summary.values():
        if m is None:
            continue
        what = "standard request (API defaults)" if c == "components" else f"contributions {c}"
        ok = p99 < TARGET_MS
        print(
            f"{'ok    ' if ok else 'MISSED'} {m} {what}: p99 {ms(p99)} ms "
            f"{'<' if ok else '>='} {TARGET_MS:.0f} ms (rounds: "
            f"{', '.join(ms(x) for x in each)}; {n:,} answers, all checked)"
        )
    if heavy:
        print(
            f"\nwhile {args.clients} clients send Monte Carlo requests of {args.heavy_paths:,} "
            f"paths (p99 {ms(statistics.median(r.percentile(0.99) for r in heavy))} ms, "
            f"{statistics.median(r.rate for r in heavy):.1f} req/s, server "
            f"{statistics.median(r.server_cpu / r.seconds for r in heavy if r.server_cpu):.2f}"
            " cores busy), another client's requests every 20 ms:"
        )
        for path in PROBES:
            p99 = statistics.median(_p99(r.probes.get(path, [])) for r in heavy)
            ok = p99 < PROBE_TARGET_MS
            print(
                f"{'ok    ' if ok else 'MISSED'} GET {path}: p99 {ms(p99)} ms "
                f"{'<' if ok else '>='} {PROBE_TARGET_MS:.0f} ms"
            )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


def _p99(latencies: list[float]) -> float:
    data = sorted(latencies)
    return 1e3 * data[max(0, math.ceil(0.99 * len(data) - 1e-9) - 1)] if data else float("nan")


if __name__ == "__main__":
    main()
