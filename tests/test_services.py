"""Which PostgreSQL and Redis servers the suites use (tests/services.py), unit by unit.

The environment and what is installed are monkeypatched: nothing is installed or started.
The order: SAFEGUARD_TEST_PG_URL / SAFEGUARD_TEST_REDIS_URL (an existing server), else the
installed binaries, else apt-get as root, else ONE line saying what to install or set.
"""

from __future__ import annotations

import pytest

from tests import pg_server, redis_server, services
from tests.conftest import free_port
from tests.services import POSTGRES, REDIS, Choice, ServiceUnavailable, choose

BOTH = pytest.mark.parametrize("service", [POSTGRES, REDIS], ids=["postgres", "redis"])


@pytest.mark.parametrize(
    ("service", "url"),
    [
        (POSTGRES, "postgresql://ci:secret@db.internal:5432/safeguard_test"),
        (POSTGRES, "postgresql+psycopg2://ci@127.0.0.1:5433/t"),
        (REDIS, "redis://cache.internal:6379"),
        (REDIS, "rediss://:pw@cache:6380/0"),
    ],
)
def test_the_variable_names_an_existing_server_first(service, url: str) -> None:  # noqa: ANN001
    environ = {service.env: f"  {url} "}
    # Even where the binary is installed: the variable wins.
    assert choose(service, environ, binary_found=True, installable=True) == Choice("existing", url)


@BOTH
def test_without_the_variable_our_own_server_or_an_install(service) -> None:  # noqa: ANN001
    for environ in ({}, {service.env: ""}, {service.env: "   "}):
        assert choose(service, environ, binary_found=True, installable=False) == Choice("local")
        assert choose(service, environ, binary_found=False, installable=True) == Choice("install")


@BOTH
def test_nothing_possible_is_one_line_saying_what_to_install_or_set(service) -> None:  # noqa: ANN001
    with pytest.raises(ServiceUnavailable) as caught:
        choose(service, {}, binary_found=False, installable=False)
    message = str(caught.value)
    assert "\n" not in message
    assert f"apt-get install {service.package}" in message
    assert f"set {service.env}" in message


@pytest.mark.parametrize(
    ("service", "url"),
    [
        (POSTGRES, "redis://localhost:6379"),
        (POSTGRES, "localhost:5432"),
        (POSTGRES, "postgresql:///no-host"),
        (REDIS, "postgresql://u@h/db"),
        (REDIS, "cache.internal"),
    ],
)
def test_a_malformed_variable_is_one_line_naming_it(service, url: str) -> None:  # noqa: ANN001
    with pytest.raises(ServiceUnavailable) as caught:
        choose(service, {service.env: url}, binary_found=True, installable=True)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{service.env} must be a {service.name} URL")


def test_install_needs_root_and_apt_get(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(services.os, "geteuid", lambda: 0)
    assert services.can_install()
    monkeypatch.setattr(services.os, "geteuid", lambda: 1000)
    assert not services.can_install()
    monkeypatch.setattr(services.os, "geteuid", lambda: 0)
    monkeypatch.setattr(services.shutil, "which", lambda name: None)
    assert not services.can_install()


# ------------------------------------------------------------- wired into the harness


def test_postgres_harness_without_binaries_or_install_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(POSTGRES.env, raising=False)
    monkeypatch.setattr(pg_server, "_bin_dir", lambda: None)
    monkeypatch.setattr(pg_server, "can_install", lambda: False)
    with pytest.raises(ServiceUnavailable, match=r"apt-get install postgresql.*SAFEGUARD_TEST_PG"):
        pg_server._start_server()
    # Anything that starts a server itself (make bench, scripts/scale_out.py) says the same.
    with pytest.raises(pg_server.PostgresUnavailable, match="SAFEGUARD_TEST_PG_URL"):
        pg_server.PostgresServer()


def test_redis_harness_without_binary_or_install_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redis_server, "_binary", lambda: None)
    monkeypatch.setattr(redis_server, "can_install", lambda: False)
    with pytest.raises(ServiceUnavailable, match=r"apt-get install redis-server.*TEST_REDIS"):
        redis_server.start_redis({})
    with pytest.raises(redis_server.RedisUnavailable, match="SAFEGUARD_TEST_REDIS_URL"):
        redis_server.RedisServer()


def test_the_fixtures_fail_never_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> str:
        raise pg_server.PostgresUnavailable("no PostgreSQL for the tests: ...")

    monkeypatch.setattr(pg_server, "_acquire", unavailable)
    fixture = pg_server.postgres_url.__wrapped__  # the function under @pytest.fixture
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL test server: no PostgreSQL"):
        next(fixture())

    def no_redis(environ=None):  # noqa: ANN001, ANN202
        raise redis_server.RedisUnavailable("no Redis for the tests: ...")

    monkeypatch.setattr(redis_server, "start_redis", no_redis)
    with pytest.raises(pytest.fail.Exception, match="Redis test server: no Redis"):
        next(redis_server.redis_server.__wrapped__())


def test_an_unreachable_existing_postgres_is_one_line_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv(POSTGRES.env, f"postgresql://ci:hunter2@127.0.0.1:{port}/safeguard_test")
    with pytest.raises(pg_server.PostgresUnavailable) as caught:
        pg_server._start_server()
    message = str(caught.value)
    assert "\n" not in message and "cannot connect" in message
    assert "hunter2" not in message and f"127.0.0.1:{port}" in message


def test_an_existing_postgres_url_is_used_with_the_driver_and_must_name_a_database() -> None:
    existing = pg_server.ExistingPostgres("postgresql://ci:pw@db.internal:5433/safeguard_test")
    assert existing.url == "postgresql+psycopg2://ci:pw@db.internal:5433/safeguard_test"
    assert existing.database == "safeguard_test"
    with pytest.raises(pg_server.PostgresUnavailable, match="must name a database"):
        pg_server.ExistingPostgres("postgresql://ci@db.internal:5433")


def test_fresh_database_keeps_the_existing_urls_own_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[tuple[str, str]] = []

    class Recorder:
        def create_schema(self, database: str, name: str) -> None:
            made.append((database, name))

    url = "postgresql+psycopg2://ci@db.internal:5432/safeguard_test?sslmode=require"
    monkeypatch.setitem(pg_server._servers, url, Recorder())
    fresh = pg_server.fresh_database(url)
    ((database, schema),) = made
    assert database == "safeguard_test"
    assert fresh == f"{url}&options=-csearch_path%3D{schema}"
    monkeypatch.delitem(pg_server._servers, fresh)


def test_an_existing_redis_gives_urls_per_database_and_hides_its_password() -> None:
    existing = redis_server.ExistingRedis("redis://:s3cret@cache.internal:6380/0")
    assert existing.url(3) == "redis://:s3cret@cache.internal:6380/3"
    assert "s3cret" not in existing.shown
    existing.stop()  # not ours: nothing happens


def test_an_unreachable_existing_redis_is_one_line() -> None:
    port = free_port()
    with pytest.raises(redis_server.RedisUnavailable) as caught:
        redis_server.start_redis({REDIS.env: f"redis://:pw@127.0.0.1:{port}"})
    message = str(caught.value)
    assert "\n" not in message and "cannot connect" in message and "pw@" not in message
