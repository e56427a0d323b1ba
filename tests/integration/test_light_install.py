"""``pip install riskengine`` alone (no extras) is the engine and the CLI's risk commands: a fresh
virtual environment with ``pip install .`` runs ``riskengine risk``, and a command that needs an
extra (``serve``) fails with the ``pip install`` to run. It downloads NumPy and SciPy (pip's
cache helps): about a minute."""

from __future__ import annotations

import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_plain_install_runs_risk_and_names_the_extra_for_serve(tmp_path):
    env_dir = tmp_path / "light"
    try:
        venv.create(env_dir, with_pip=True)
    except Exception as exc:  # e.g. Debian without python3-venv's ensurepip
        pytest.skip(f"cannot create a virtual environment here: {exc}")
    py = env_dir / "bin" / "python"
    src = tmp_path / "src"  # a copy without the checkout's build outputs and .venv
    skip = (".venv", "node_modules", ".git", "test-artifacts", "*.sqlite3*", "build", "*.egg-info")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*skip))
    out = subprocess.run([py, "-m", "pip", "install", "--quiet", str(src)], capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    installed = subprocess.run([py, "-m", "pip", "list", "--format=freeze"], capture_output=True,
                               text=True, timeout=120).stdout.lower()  # fmt: skip
    for absent in ("fastapi", "uvicorn", "psycopg", "websockets", "pandas", "pyarrow"):
        assert f"\n{absent}==" not in "\n" + installed, absent
    exe = env_dir / "bin" / "riskengine"
    risk = subprocess.run(
        [exe, "risk", "--portfolio", ROOT / "examples" / "book.csv", "--prices",
         ROOT / "data" / "us_equities_daily.csv", "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert risk.returncode == 0, risk.stderr
    assert '"value_at_risk"' in risk.stdout
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("riskengine ")
    serve = subprocess.run([exe, "serve"], capture_output=True, text=True, timeout=120)
    assert serve.returncode == 2, serve.stderr
    assert "pip install 'riskengine[server]'" in serve.stderr and "Traceback" not in serve.stderr
    frame = subprocess.run(
        [py, "-c", "import riskengine; riskengine.FactorHistory.from_frame(None)"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "pip install 'riskengine[pandas]'" in frame.stderr
