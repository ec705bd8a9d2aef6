"""The PostgreSQL server of the test session: an existing one, or a throwaway on loopback.

Register with ``pytest_plugins = ["tests.pg_server"]`` (tests/conftest.py) and ask for the
``postgres_url`` fixture: a SQLAlchemy URL to an empty database. Which server (the order of
tests/services.py):

- ``SAFEGUARD_TEST_PG_URL`` set (``postgresql://user:password@host:5432/db``): that existing
  database. Nothing is started or installed; every test namespace made in it is dropped at
  the end of the session.
- otherwise a server started in a temp dir on 127.0.0.1 (random free port), stopped and
  removed at the end of the session. If the server binaries are missing they are installed
  (``apt-get install postgresql``) when we are root with apt-get; where that cannot be, the
  fixture fails with one line saying what to install or set, never a skip.

initdb and postgres refuse to run as root, so as root they run as the ``postgres`` user the
Debian package creates, in a temp dir that user owns.

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

from tests.services import POSTGRES, ServiceUnavailable, can_install, choose

SERVICE_USER = "postgres"
STARTUP_TIMEOUT_S = 60


class PostgresUnavailable(ServiceUnavailable):
    """The server could not be found, installed or started (one line, with the reason)."""


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
    if not can_install():
        # The one line of tests/services.py: what to install, or which variable to set.
        try:
            choose(POSTGRES, {}, binary_found=False, installable=False)
        except ServiceUnavailable as exc:
            raise PostgresUnavailable(str(exc)) from None
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

    def data_dir(self) -> Path | None:
        """The server's data directory (tests that read its raw bytes on disk)."""
        return self.data

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


class ExistingPostgres:
    """The database named by SAFEGUARD_TEST_PG_URL: never started, stopped or installed by us.

    Test namespaces (schemas) made in it are dropped again by `stop`.
    """

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg2")
        if not parsed.database:
            raise PostgresUnavailable(
                f"{POSTGRES.env} must name a database (its last part), like {POSTGRES.example}"
            )
        self.parsed = parsed
        self.database = parsed.database
        self.schemas: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return self.parsed.render_as_string(hide_password=False)

    def connect(self, database: str | None = None):  # noqa: ANN201 - a psycopg2 connection
        import psycopg2

        p = self.parsed
        return psycopg2.connect(
            host=p.host,
            port=p.port,
            user=p.username,
            password=p.password,
            dbname=database or self.database,
            connect_timeout=5,
            **{k: v for k, v in p.query.items() if isinstance(v, str)},
        )

    def check(self) -> None:
        import psycopg2

        try:
            self.connect().close()
        except psycopg2.Error as exc:
            first = (str(exc).strip().splitlines() or ["no reason given"])[0]
            shown = self.parsed.render_as_string(hide_password=True)
            raise PostgresUnavailable(f"{POSTGRES.env}={shown}: cannot connect ({first})") from None

    def create_schema(self, database: str, name: str) -> None:
        connection = self.connect(database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{name}"')
        finally:
            connection.close()
        self.schemas.append((database, name))

    def data_dir(self) -> Path | None:
        """The data directory, if the server is on this machine and we may read it."""
        try:
            connection = self.connect()
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SHOW data_directory")
                    path = Path(cursor.fetchone()[0])
            finally:
                connection.close()
        except Exception:  # noqa: BLE001 - not allowed to see it: then we cannot read it
            return None
        return path if path.is_dir() and os.access(path, os.R_OK | os.X_OK) else None

    def stop(self) -> None:
        for database, name in reversed(self.schemas):
            try:
                connection = self.connect(database)
                try:
                    connection.autocommit = True
                    with connection.cursor() as cursor:
                        cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                finally:
                    connection.close()
            except Exception:  # noqa: BLE001, S112 - best effort: the session is ending
                continue
        self.schemas.clear()


_servers: dict[str, PostgresServer | ExistingPostgres] = {}
_shared: dict[str, object] = {"server": None, "url": None, "users": 0}


def _start_server() -> tuple[PostgresServer | ExistingPostgres, str]:
    """The server tests/services.py chooses, ready, and the URL of its test database."""
    choice = choose(
        POSTGRES, os.environ, binary_found=_bin_dir() is not None, installable=can_install()
    )
    if choice.how == "existing":
        existing = ExistingPostgres(str(choice.url))
        existing.check()
        return existing, existing.url
    server = PostgresServer()  # installs the binaries first when choice.how == "install"
    try:
        server.start()
        return server, server.create_database("safeguard_test")
    except PostgresUnavailable:
        server.stop()
        raise


def _acquire() -> str:
    """Start (or reach) the one shared server on first use; later users get the same URL.

    Shared so that importing the fixture into a test module as well as registering the
    plugin never starts two servers.
    """
    if _shared["server"] is None:
        server, url = _start_server()
        _servers[url] = server
        _shared.update(server=server, url=url)
    _shared["users"] = int(_shared["users"]) + 1
    return str(_shared["url"])


def _release() -> None:
    _shared["users"] = int(_shared["users"]) - 1
    server = _shared["server"]
    if int(_shared["users"]) <= 0 and server is not None:
        server.stop()  # type: ignore[attr-defined]
        _servers.clear()
        _shared.update(server=None, url=None, users=0)


def fresh_database(url: str) -> str:
    """An empty database namespace on the server behind `url` (from the fixture).

    A new schema, made the connection's search_path through the URL, rather than a new
    database: tables, indexes, triggers, functions and ``alembic_version`` all land in it,
    and it costs milliseconds instead of copying a template database per test.
    """
    from sqlalchemy.engine import make_url

    server = _servers[url]
    name = "t_" + uuid.uuid4().hex[:12]
    server.create_schema(str(make_url(url).database), name)
    fresh = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    _servers[fresh] = server
    return fresh


def data_dir(url: str) -> Path | None:
    """The data directory of the server behind `url`, where this machine can read it (our
    own server, or an existing one on this machine that lets us); None otherwise."""
    return _servers[url].data_dir()


def raw_bytes_on_disk(url: str) -> bytes:
    """Every byte the PostgreSQL server behind `url` keeps on disk, after a CHECKPOINT (the
    tests that prove a child's words never reach the disk in clear). A server whose files
    this machine cannot read fails the test with one line: it is never skipped."""
    import sqlalchemy as sa

    data = data_dir(url)
    if data is None:
        pytest.fail(
            f"{POSTGRES.env} points at a PostgreSQL server whose files this machine cannot "
            "read, and these tests read its bytes on disk: use a server on this machine "
            f"(run as its owner, or as root) or unset {POSTGRES.env} so the harness starts "
            "its own",
            pytrace=False,
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("CHECKPOINT"))
    finally:
        engine.dispose()
    chunks = []
    for path in data.rglob("*"):
        if path.is_file():
            try:
                chunks.append(path.read_bytes())
            except OSError:
                continue
    return b"".join(chunks)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL of an empty database: SAFEGUARD_TEST_PG_URL's, or a throwaway loopback
    server's."""
    try:
        url = _acquire()
    except ServiceUnavailable as exc:
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
