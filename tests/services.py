"""Which PostgreSQL or Redis server the tests use: one already running, or their own.

`choose` decides, for tests/pg_server.py and tests/redis_server.py, in this order:

1. the variable (``SAFEGUARD_TEST_PG_URL``, ``SAFEGUARD_TEST_REDIS_URL``) is set: use that
   existing server (a CI service, a container, a developer's own server);
2. the server binary is installed: start a throwaway server of our own on loopback;
3. we may install it (root, with apt-get): ``apt-get install`` it, then as 2;
4. none of these: fail with ONE line saying what to install or which variable to set.
   Never a silent skip: a suite that did not run must not look like one that passed.

`choose` only decides; it starts and installs nothing, so its tests monkeypatch the
environment and what is found, and run in milliseconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PG_URL_ENV = "SAFEGUARD_TEST_PG_URL"
REDIS_URL_ENV = "SAFEGUARD_TEST_REDIS_URL"


class ServiceUnavailable(RuntimeError):
    """No server can be had for the tests (one line: what to install or set)."""


@dataclass(frozen=True)
class Service:
    """What one kind of server needs: its variable, binary, package and URL schemes."""

    name: str  # "PostgreSQL"
    env: str  # the variable naming an existing server
    binary: str  # what must be installed to start our own ("initdb")
    package: str  # Debian's package for it
    schemes: tuple[str, ...]  # URL schemes the variable may use
    example: str  # an example URL for the message


POSTGRES = Service(
    name="PostgreSQL",
    env=PG_URL_ENV,
    binary="initdb",
    package="postgresql",
    schemes=("postgresql", "postgres", "postgresql+psycopg2"),
    example="postgresql://user:password@host:5432/safeguard_test",
)
REDIS = Service(
    name="Redis",
    env=REDIS_URL_ENV,
    binary="redis-server",
    package="redis-server",
    schemes=("redis", "rediss"),
    example="redis://host:6379",
)


@dataclass(frozen=True)
class Choice:
    """How: "existing" (url), "local" (binary found) or "install" (apt-get it first)."""

    how: str
    url: str | None = None


def can_install() -> bool:
    """True where ``apt-get install`` can work: as root, with apt-get on PATH."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def choose(
    service: Service,
    environ: Mapping[str, str],
    *,
    binary_found: bool,
    installable: bool,
) -> Choice:
    """Which server to use (see the module doc). Raises `ServiceUnavailable` (one line)."""
    url = (environ.get(service.env) or "").strip()
    if url:
        scheme = urlsplit(url).scheme
        if scheme not in service.schemes or not urlsplit(url).hostname:
            raise ServiceUnavailable(
                f"{service.env} must be a {service.name} URL like {service.example}, "
                f"not one starting {scheme + '://' if scheme else repr(url[:20])}"
            )
        return Choice("existing", url)
    if binary_found:
        return Choice("local")
    if installable:
        return Choice("install")
    raise ServiceUnavailable(
        f"no {service.name} for the tests: {service.binary} is not installed and cannot be "
        f"installed here (needs root and apt-get); install it (Debian/Ubuntu: apt-get "
        f"install {service.package}) or set {service.env} to an existing server, e.g. "
        f"{service.env}={service.example}"
    )
