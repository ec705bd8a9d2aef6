"""A throwaway PostgreSQL server on loopback for the test session.

Register with ``pytest_plugins = ["tests.pg_server"]`` (tests/conftest.py) and ask for the
``postgres_url`` fixture: a SQLAlchemy URL to an empty database on a server started in a
temp dir on 127.0.0.1 (random free port), stopped and removed at the end of the session.

If the server binaries are missing they are installed (``apt-get install postgresql``;
the tests run as root). initdb and postgres refuse to run as root, so as root they run as
the ``postgres`` user the Debian package creates, in a temp dir that user owns.

`fresh_database(url)` gives a new, empty namespace (a schema set as the search_path) on
the same server, so each test gets a clean database without paying for a new server.
`store_url` is an empty SQLite database, then an empty PostgreSQL one (marked
``postgres``): store tests that take it run the same suite on both.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICE_USER = "postgres"
STARTUP_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """The server could not be installed or started (one line, with the reason)."""


class PortTaken(RuntimeError):
    """The chosen port was taken before postgres could bind it (try another)."""


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL server binaries, if any."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _install() -> Path:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise PostgresUnavailable(f"{' '.join(args)} failed: {tail}")
    found = _bin_dir()
    if found is None:
        raise PostgresUnavailable("postgresql installed but initdb not found")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_service_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_USER, "--", *args]
    return args


class PostgresServer:
    """One postgres process with its data directory in a temp dir."""

    def __init__(self) -> None:
        self.bin = _bin_dir() or _install()
        self.root = Path(tempfile.mkdtemp(prefix="safeguard-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.user = SERVICE_USER if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        self.process: subprocess.Popen[bytes] | None = None

    def _own(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVICE_USER, SERVICE_USER)
            os.chmod(self.root, 0o700)

    def start(self) -> None:
        self._own()
        initdb = subprocess.run(
            _as_service_user(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if initdb.returncode != 0:
            tail = (initdb.stderr.strip().splitlines() or ["no output"])[-1]
            raise PostgresUnavailable(f"initdb failed: {tail}")
        for attempt in range(3):
            try:
                self._launch()
                return
            except PortTaken:
                # Another process took the free port between our check and the bind.
                self.port = _free_port()
                if attempt == 2:
                    raise PostgresUnavailable("no free port could be bound after 3 tries") from None

    def _launch(self) -> None:
        log_handle = open(self.log, "wb")  # noqa: SIM115 - one log per launch attempt
        self.process = subprocess.Popen(
            _as_service_user(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),  # unix socket in our temp dir, not /var/run
                    "-c",
                    "fsync=off",  # throwaway data: speed over crash safety
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "synchronous_commit=off",
                ]
            ),
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
        log_handle.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg2

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error = "not started"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = self._log_text()
                if "could not create any TCP/IP sockets" in log:
                    raise PortTaken(self._log_tail())
                raise PostgresUnavailable(f"postgres exited: {self._log_tail()}")
            try:
                # connect_timeout: a port someone else is listening on must not hang us.
                psycopg2.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg2.OperationalError as exc:
                last_error = str(exc).strip().splitlines()[0]
                time.sleep(0.1)
        raise PostgresUnavailable(f"postgres did not accept connections: {last_error}")

    def _log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def _log_tail(self) -> str:
        """The last FATAL line if any (the reason), else the last line."""
        lines = self._log_text().strip().splitlines()
        fatal = [line for line in lines if "FATAL" in line]
        return (fatal or lines or ["no log"])[-1].strip()

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        connection = psycopg2.connect(self.dsn("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def create_schema(self, database: str, name: str) -> None:
        import psycopg2

        connection = psycopg2.connect(self.dsn(database))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # "fast" shutdown through pg_ctl, then make sure the process we started is gone.
            subprocess.run(
                _as_service_user(
                    [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
                ),
                capture_output=True,
                check=False,
                timeout=60,
            )
            self.process.terminate()  # SIGTERM: postgres "smart" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


_servers: dict[str, PostgresServer] = {}
_shared: dict[str, object] = {"server": None, "url": None, "users": 0}


def _acquire() -> str:
    """Start the one shared server on first use; later users get the same database URL.

    Shared so that importing the fixture into a test module as well as registering the
    plugin never starts two servers.
    """
    if _shared["server"] is None:
        server = PostgresServer()
        try:
            server.start()
            url = server.create_database("safeguard_test")
        except PostgresUnavailable:
            server.stop()
            raise
        _servers[url] = server
        _shared.update(server=server, url=url)
    _shared["users"] = int(_shared["users"]) + 1
    return str(_shared["url"])


def _release() -> None:
    _shared["users"] = int(_shared["users"]) - 1
    server = _shared["server"]
    if int(_shared["users"]) <= 0 and isinstance(server, PostgresServer):
        server.stop()
        _servers.clear()
        _shared.update(server=None, url=None, users=0)


def fresh_database(url: str) -> str:
    """An empty database namespace on the server behind `url` (from the fixture).

    A new schema, made the connection's search_path through the URL, rather than a new
    database: tables, indexes, triggers, functions and ``alembic_version`` all land in it,
    and it costs milliseconds instead of copying a template database per test.
    """
    server = _servers[url]
    name = "t_" + uuid.uuid4().hex[:12]
    server.create_schema(url.rsplit("/", 1)[1], name)
    fresh = f"{url}?options=-csearch_path%3D{name}"
    _servers[fresh] = server
    return fresh


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty database on a throwaway loopback PostgreSQL server."""
    try:
        url = _acquire()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL test server: {exc}", pytrace=False)
    try:
        yield url
    finally:
        _release()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL: the same tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return fresh_database(request.getfixturevalue("postgres_url"))
