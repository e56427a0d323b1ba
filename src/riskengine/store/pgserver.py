"""A throw-away PostgreSQL server for tests and benchmarks (not for production data).

It runs Debian's PostgreSQL binaries (``apt-get install postgresql``; ``make test`` installs
them). initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user
(runuser), in a data directory made with ``tempfile.mkdtemp`` and handed to that user. The
server listens on 127.0.0.1 on a free port, with durability off (fsync, synchronous_commit,
full_page_writes): it is thrown away at the end. Extra server settings (``settings``: a mapping,
or ``parse_settings("key=value ...")``) go to the server as ``-c key=value`` options at every
start, e.g. to preload an extension installed on the machine; by default there are none.

    with TemporaryPostgres() as pg:
        store = open_store(pg.new_database())
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

INSTALL_HINT = "install PostgreSQL: apt-get install postgresql"


def _version(bindir: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run(
            [str(bindir / "initdb"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return ()
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in m.groups() if g) if m else ()


def find_pg_bindir() -> Path | None:
    """The newest directory holding initdb, pg_ctl and postgres: /usr/lib/postgresql/*/bin,
    ``pg_config --bindir``, or PATH."""
    candidates = {Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")}
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
            if out:
                candidates.add(Path(out))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.add(Path(initdb).resolve().parent)
    usable = [
        d for d in candidates if all((d / exe).exists() for exe in ("initdb", "pg_ctl", "postgres"))
    ]
    if not usable:
        return None
    return max(usable, key=_version)


_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def parse_settings(text: str | None) -> dict[str, str]:
    """Server settings from ``"key=value key=value"`` (shell-style quoting for a value with
    spaces, e.g. ``"shared_preload_libraries='a, b'"``); empty or None gives none."""
    out: dict[str, str] = {}
    for item in shlex.split(text or ""):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _SETTING_NAME.fullmatch(key):
            raise ValueError(
                f"server setting {item!r} is not key=value (e.g. shared_preload_libraries=NAME)"
            )
        out[key] = value.strip()
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A throw-away PostgreSQL server: ``url`` (the ``postgres`` database), ``stop()`` and
    ``start()`` (same port, same data directory), ``new_database()`` -> URL of a fresh one.
    ``settings``: extra server settings, passed as ``-c key=value`` at every start."""

    def __init__(self, bindir: Path, settings: Mapping[str, str] | None = None):
        self.bindir = bindir
        self.settings = dict(settings or {})
        for key in self.settings:
            if not _SETTING_NAME.fullmatch(key):
                raise ValueError(f"not a server setting name: {key!r}")
        self.version = _version(bindir)
        self.dir = tempfile.mkdtemp(prefix="riskengine-pg-")
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.running = False
        if self.as_root:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise RuntimeError(
                    f"no 'postgres' user to run the server as (we run as root); {INSTALL_HINT}"
                ) from None
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self._run("initdb", "-D", self.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, exe: str, *args: str) -> None:
        cmd = [str(self.bindir / exe), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                f"{self.log_tail()}"
            )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(Path(self.dir, "log").read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        # pg_ctl hands the options to a shell: each value quoted
        for key, value in self.settings.items():
            opts += f" -c {shlex.quote(f'{key}={value}')}"
        self._run("pg_ctl", "-D", self.dir, "-o", opts, "-l", f"{self.dir}/log", "-w", "start")
        self.running = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop")
        self.running = False

    @contextlib.contextmanager
    def down(self):
        """The server stopped inside the block, started again after it (whatever happens)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _admin(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def cleanup(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class TemporaryPostgres(PgServer):
    """``PgServer`` found, started and cleaned up by a ``with`` block (``settings`` as for
    ``PgServer``)."""

    def __init__(self, settings: Mapping[str, str] | None = None):
        bindir = find_pg_bindir()
        if bindir is None:
            raise RuntimeError(f"PostgreSQL server binaries not found: {INSTALL_HINT}")
        super().__init__(bindir, settings)

    def __enter__(self) -> TemporaryPostgres:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()
