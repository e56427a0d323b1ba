"""Benchmark: reading a wide price file (issue "No overhead": files loaded at disk speed).

A wide CSV of ``--assets`` names x ``--days`` daily closes is written to a temporary
directory: random walks quoted with 2 to 4 decimals, each name listed from a random day (empty
cells before), about 229 MB at 5,000 x 2,500. Timed in one run (medians of ``--repeat``):

* the floor: reading the file's bytes (the page cache is warm: every reader reads it once
  first);
* ``load_prices`` with the columnar reader (pyarrow's CSV reader, when installed);
* ``load_prices`` with the NumPy reader (``loaders.USE_PYARROW = False``: what a user without
  pyarrow gets);
* ``load_prices`` with the row reader (``loaders.USE_COLUMNAR = False``; one run: it is slow);
* the CLI, ``riskengine risk --prices FILE --portfolio BOOK`` on a 5,000-stock book, as a user
  runs it (a new process: interpreter start, imports, loading, historical VaR and ES).

Targets (issue): loading >= 100 MB/s with the columnar reader and >= 75 MB/s without it; the
CLI <= 3 s in all. The three readers must give the same history, bit for bit (checked here).

Run with ``.venv/bin/python benchmarks/loader.py [--assets N] [--days N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from riskengine.market import loaders  # noqa: E402


def write_file(path: Path, assets: int, days: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    dates = np.busday_offset(np.datetime64("2015-01-02"), np.arange(days), roll="forward")
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.015, (days, assets)), axis=0))
    listed = rng.integers(0, days // 5, assets)  # empty cells before each name's listing
    decimals = rng.integers(2, 5, assets)
    with open(path, "w") as f:
        f.write("date," + ",".join(f"S{j:05d}" for j in range(assets)) + "\n")
        fmts = [f"{{:.{d}f}}" for d in decimals]
        for i, day in enumerate(dates.astype(str)):
            cells = [fmt.format(p) if i >= lo else "" for fmt, p, lo in
                     zip(fmts, prices[i], listed, strict=True)]  # fmt: skip
            f.write(day + "," + ",".join(cells) + "\n")


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assets", type=int, default=5000)
    ap.add_argument("--days", type=int, default=2500)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, NumPy {np.__version__}"
    )
    try:
        import pyarrow

        arrow = f"pyarrow {pyarrow.__version__}"
    except ImportError:
        arrow = "pyarrow not installed"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        t = time.perf_counter()
        write_file(path, args.assets, args.days)
        mb = path.stat().st_size / 1e6
        print(f"{args.assets:,} names x {args.days:,} days: {mb:,.0f} MB written in "
              f"{time.perf_counter() - t:.0f} s; {arrow}")  # fmt: skip
        book = Path(tmp) / "book.csv"
        book.write_text(
            "symbol,quantity\n" + "".join(f"S{j:05d},{100 + j % 7}\n" for j in range(args.assets))
        )
        floor, _ = median_time(path.read_bytes, args.repeat)
        columnar, fast = median_time(lambda: loaders.load_prices(path), args.repeat)
        loaders.USE_PYARROW = False
        numpy_s, by_numpy = median_time(lambda: loaders.load_prices(path), args.repeat)
        loaders.USE_PYARROW = True
        loaders.USE_COLUMNAR = False
        rows, slow = median_time(lambda: loaders.load_prices(path), 1)
        loaders.USE_COLUMNAR = True
        same = all(
            h.symbols == slow.symbols
            and np.array_equal(h.dates, slow.dates)
            and h.prices.tobytes() == slow.prices.tobytes()
            for h in (fast, by_numpy)
        )
        cli = [sys.executable, "-m", "riskengine", "risk", "--prices", str(path),
               "--portfolio", str(book), "--format", "json"]  # fmt: skip
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            done = subprocess.run(cli, capture_output=True, cwd=ROOT, check=False)
            times.append(time.perf_counter() - t)
            if done.returncode != 0:
                raise SystemExit(f"the CLI failed: {done.stderr.decode()[-2000:]}")
        cli_s = statistics.median(times)
    print(f"\n{'':<34} {'seconds':>8} {'MB/s':>8} {'x floor':>8}")
    for label, secs in (
        ("read the bytes (floor)", floor),
        ("load_prices, columnar reader", columnar),
        ("load_prices, NumPy reader", numpy_s),
        ("load_prices, row reader", rows),
    ):
        print(f"{label:<34} {secs:>8.2f} {mb / secs:>8.0f} {secs / floor:>8.1f}")
    print(f"{'riskengine risk (the CLI, all)':<34} {cli_s:>8.2f}")
    print(f"\nsame history from the three readers, bit for bit: {same}")
    for ok, text in (
        (mb / columnar >= 100, f"columnar reader {mb / columnar:.0f} MB/s >= 100 MB/s"),
        (mb / numpy_s >= 75, f"NumPy reader (no pyarrow) {mb / numpy_s:.0f} MB/s >= 75 MB/s"),
        (cli_s <= 3.0, f"CLI {cli_s:.2f} s <= 3 s"),
    ):
        print(f"{'ok    ' if ok else 'MISSED'} {text}")
    if not same:
        raise SystemExit("the readers disagree")


if __name__ == "__main__":
    main()
