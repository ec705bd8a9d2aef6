"""The Redis server of the two-server tests: an existing one, or a throwaway on loopback.

`RedisServer().start()` runs ``redis-server`` bound to 127.0.0.1 on a free port, with no
persistence, in a temp dir; `.url(db)` is a ``redis://`` URL for one database number;
`.stop()` ends it. If the binary is missing it is installed (``apt-get install
redis-server``) when we are root with apt-get, as tests/pg_server.py does for PostgreSQL;
where that cannot be, it fails with one line saying what to install or set.

The ``redis_server`` fixture (session scope) gives a server to a test module that imports
it, chosen as tests/services.py says: ``SAFEGUARD_TEST_REDIS_URL`` (``redis://host:6379``)
names an existing server, used as it is (`ExistingRedis`: nothing started, stopped or
flushed); otherwise our own `RedisServer`. scripts/scale_out.py always starts its own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.services import REDIS, ServiceUnavailable, can_install, choose

STARTUP_TIMEOUT_S = 30


class RedisUnavailable(ServiceUnavailable):
    """Redis could not be found, installed or started (one line, with the reason)."""


def _binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def _install() -> str:
    if not can_install():
        # The one line of tests/services.py: what to install, or which variable to set.
        try:
            choose(REDIS, {}, binary_found=False, installable=False)
        except ServiceUnavailable as exc:
            raise RedisUnavailable(str(exc)) from None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for args in (["apt-get", "update"], ["apt-get", "install", "-y", "redis-server"]):
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise RedisUnavailable(f"{' '.join(args)} failed: {tail}")
    found = _binary()
    if found is None:
        raise RedisUnavailable("redis-server installed but not found on PATH")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process on 127.0.0.1, nothing written to disk."""

    def __init__(self) -> None:
        self.binary = _binary() or _install()
        self.root = Path(tempfile.mkdtemp(prefix="safeguard-redis-"))
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        for _attempt in range(3):
            self.port = _free_port()
            log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - handed to the child
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--bind", "127.0.0.1",
                    "--port", str(self.port),
                    "--dir", str(self.root),
                    "--save", "",
                    "--appendonly", "no",
                    "--protected-mode", "yes",
                    "--databases", "16",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            log.close()
            if self._wait_ready():
                return self
            self.process.kill()
            self.process.wait(timeout=10)
        tail = (self.root / "redis.log").read_text(errors="replace").strip().splitlines()
        raise RedisUnavailable(f"redis-server did not start: {(tail or ['no log'])[-1]}")

    def _wait_ready(self) -> bool:
        import redis

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False  # e.g. the port was taken between our check and the bind
            try:
                if redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2).ping():
                    return True
            except redis.RedisError:
                time.sleep(0.1)
        return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0):  # noqa: ANN201
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class ExistingRedis:
    """The server named by SAFEGUARD_TEST_REDIS_URL, used as it is: never started, stopped
    or flushed by us (its other databases may be someone else's)."""

    def __init__(self, url: str) -> None:
        self.parts = urlsplit(url)
        self.port = self.parts.port or 6379

    def start(self) -> ExistingRedis:
        import redis

        try:
            self.client().ping()
        except redis.RedisError as exc:
            first = (str(exc).strip().splitlines() or ["no reason given"])[0]
            raise RedisUnavailable(f"{REDIS.env}={self.shown}: cannot connect ({first})") from None
        return self

    @property
    def shown(self) -> str:
        """The URL with any password replaced by ***."""
        netloc = self.parts.netloc
        if self.parts.password:
            netloc = netloc.replace(f":{self.parts.password}@", ":***@", 1)
        return urlunsplit(self.parts._replace(netloc=netloc))

    def url(self, db: int = 0) -> str:
        return urlunsplit(self.parts._replace(path=f"/{db}"))

    def client(self, db: int = 0):  # noqa: ANN201
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def stop(self) -> None:
        """Nothing to stop: the server is not ours."""


def start_redis(environ: Mapping[str, str] | None = None) -> RedisServer | ExistingRedis:
    """The server tests/services.py chooses, started or reached. Raises RedisUnavailable
    (or ServiceUnavailable for a malformed SAFEGUARD_TEST_REDIS_URL), one line."""
    choice = choose(
        REDIS,
        os.environ if environ is None else environ,
        binary_found=_binary() is not None,
        installable=can_install(),
    )
    if choice.how == "existing":
        return ExistingRedis(str(choice.url)).start()
    return RedisServer().start()  # installs redis-server first when choice.how == "install"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer | ExistingRedis]:
    """A Redis server: SAFEGUARD_TEST_REDIS_URL's, or a throwaway on loopback (stopped at the
    end of the session)."""
    try:
        server = start_redis()
    except ServiceUnavailable as exc:
        pytest.fail(f"Redis test server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
