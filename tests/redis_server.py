"""A throwaway Redis server on loopback, for the two-server tests and scripts/scale_out.py.

`RedisServer().start()` runs ``redis-server`` bound to 127.0.0.1 on a free port, with no
persistence, in a temp dir; `.url(db)` is a ``redis://`` URL for one database number;
`.stop()` ends it. If the binary is missing it is installed (``apt-get install
redis-server``; the tests run as root), as tests/pg_server.py does for PostgreSQL.

The ``redis_server`` fixture (session scope) gives a started server to a test module that
imports it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT_S = 30


class RedisUnavailable(RuntimeError):
    """Redis could not be installed or started (one line, with the reason)."""


def _binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def _install() -> str:
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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A started throwaway Redis server on loopback (stopped at the end of the session)."""
    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        pytest.fail(f"Redis test server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
