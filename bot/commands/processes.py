"""Start the Rasa server, the action server and helpers as child processes, and stop them.

Used by `safeguard serve` and `safeguard chat`. Every child is stopped when the parent
gets Ctrl-C or SIGTERM, so nothing is left running. `Supervisor` (`safeguard serve`) either
restarts a part that dies, with back-off, while the others keep serving (`--role all`), or
stops with its exit code so systemd restarts it (one role per unit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot import ROOT

BIN = Path(sys.executable).parent
DEFAULT_MODEL = ROOT / "models" / "safeguard.tar.gz"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Library deprecation warnings (Rasa's pins are old) would bury the conversation.
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    # One TensorFlow thread per op: the models are small and Rasa runs them one message at
    # a time, so thread pools only contend for the cores (`make bench`: per-turn mean 69 ->
    # 57 ms, p99 164 -> 107 ms on the 2-core machine). Set either variable to override.
    env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # Rasa and the action server share the action secret, the REST channel and its clients
    # the channel secret: made once (0600, under the var directory) and named to every child.
    from bot.config.secrets import hand_to_children  # heavy: imported on first use, not at start-up

    hand_to_children(env)
    return env


LOOPBACK = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str) -> bool:
    import ipaddress  # heavy: imported on first use, not at start-up

    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def action_server_cmd(port: int, host: str = LOOPBACK) -> list[str]:
    """The action server (bot/rasa/action_server.py: rasa_sdk that obeys Rasa's secret only)."""
    return [
        sys.executable,
        "-m",
        "bot.rasa.action_server",
        "--actions",
        "actions",
        "--port",
        str(port),
        "--host",
        host,
    ]


def probe_host(host: str) -> str:
    """Where this machine reaches a listener bound to `host` (any-address: loopback)."""
    return LOOPBACK if host in ("0.0.0.0", "::", "") or is_loopback(host) else host


def exposure_lines(
    rasa_host: str, actions_host: str, rasa_port: int, actions_port: int
) -> list[str]:
    """One line per listener not on loopback, saying what protects it (printed at start)."""
    out: list[str] = []
    if not is_loopback(rasa_host):
        out.append(
            f"Rasa listens on {rasa_host}:{rasa_port}: the REST channel takes only requests "
            "signed with the channel secret (SAFEGUARD_CHANNEL_SECRET_FILE); Teams only "
            "Microsoft-signed tokens"
        )
    if not is_loopback(actions_host):
        out.append(
            f"the action server listens on {actions_host}:{actions_port}: every call needs "
            "the action secret header (SAFEGUARD_ACTION_SECRET_FILE)"
        )
    return out


def console_pager_env() -> dict[str, str]:
    """The embedded default for `make run`: pages are printed in this terminal, never sent."""
    env = child_env()
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN"):
        env.pop(name, None)
    env["SAFEGUARD_TEAMS_DISABLED"] = "1"
    return env


# Seconds between the pager's passes under `safeguard serve` and `safeguard chat`. A page
# waits for the next pass, so this bounds the wait between a concern being written and its
# page leaving: at 1 s, danger -> page p95 was 2.2 s under load (target < 2 s, `make
# bench`); at 0.25 s it was 0.54 s, but a busy pager on SQLite then took ~30% of a core
# (each pass revisits every unacknowledged page, on a new connection), slowing Rasa.
PAGER_INTERVAL_S = 0.5


def pager_cmd(print_notices: bool = False) -> list[str]:
    """The paging loop: sends due pages, retries, escalates (bot/paging/pager.py)."""
    cmd = [
        sys.executable, "-m", "bot.commands.cli", "pager", "run",
        "--interval", f"{PAGER_INTERVAL_S:g}",
    ]  # fmt: skip
    return [*cmd, "--print-notices"] if print_notices else cmd


# Shared conversation state for running more than one Rasa server (README, "Run it on more
# than one server"). Unset: what endpoints.yml says (by default Rasa's in-memory stores).
TRACKER_URL_ENV = "SAFEGUARD_TRACKER_URL"
TRACKER_RETENTION_ENV = "SAFEGUARD_TRACKER_RETENTION_DAYS"
LOCK_URL_ENV = "SAFEGUARD_LOCK_URL"
LOCK_KEY_PREFIX = "safeguard"


def tracker_store_config(url: str, retention_days: str | float | None = "") -> dict:
    """endpoints.yml `tracker_store:` for a SQLAlchemy URL: the protected SQL tracker store
    (bot/rasa/tracker_store.py: conversation text sealed with the concern key, redacted once the
    disclosure is saved). Raises ValueError (one line) for a URL it cannot use."""
    from sqlalchemy.engine import make_url  # heavy: imported on first use, not at start-up
    from sqlalchemy.exc import ArgumentError  # heavy: imported on first use, not at start-up

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{TRACKER_URL_ENV} is not a database URL") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValueError(
            f"{TRACKER_URL_ENV}: use postgresql+psycopg2://... (or sqlite:///... for one "
            f"server), not {parsed.get_backend_name()}"
        )
    config: dict = {"type": "bot.rasa.tracker_store.ProtectedSQLTrackerStore", "url": url}
    if retention_days is not None and str(retention_days).strip():
        try:
            days = float(retention_days)
        except ValueError:
            days = -1.0
        if days < 0:
            raise ValueError(f"{TRACKER_RETENTION_ENV} must be a number of days (0 = keep)")
        config["retention_days"] = days
    return config


def lock_store_config(url: str) -> dict:
    """endpoints.yml `lock_store:` for redis://[:password@]host[:port][/db] (rediss:// for
    TLS). The database number defaults to 1, apart from anything else on database 0.
    Raises ValueError (one line) for a URL it cannot use."""
    from urllib.parse import unquote, urlsplit  # heavy: imported on first use, not at start-up

    parts = urlsplit(url.strip())
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"{LOCK_URL_ENV} must look like redis://host:6379/1")
    try:
        port = parts.port or 6379
        db = int(parts.path.strip("/") or 1)
    except ValueError:
        raise ValueError(f"{LOCK_URL_ENV}: the port and database must be numbers") from None
    if not 0 <= db <= 15:
        raise ValueError(f"{LOCK_URL_ENV}: the database number must be 0-15")
    config: dict = {
        "type": "redis",
        "url": parts.hostname,
        "port": port,
        "db": db,
        "key_prefix": LOCK_KEY_PREFIX,
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def store_endpoints(environ: dict[str, str] | None = None) -> dict:
    """The tracker and lock store settings from the environment (empty when unset), or from
    `environ` instead. Raises ValueError (one line) for a setting it cannot use."""
    from bot.config import settings  # heavy: imported on first use, not at start-up

    config = settings.current() if environ is None else settings.Settings.from_environ(environ)
    out: dict = {}
    if config.tracker_url:
        out["tracker_store"] = tracker_store_config(
            config.tracker_url, config.tracker_retention_days
        )
    if config.lock_url:
        out["lock_store"] = lock_store_config(config.lock_url)
    return out


ACTIONS_URL_ENV = "SAFEGUARD_ACTIONS_ADDRESS"


def action_host(action_port: int) -> str:
    """host:port Rasa calls the action server on: this machine's loopback, or the
    SAFEGUARD_ACTIONS_ADDRESS (host:port) of one elsewhere (it takes the same secret)."""
    from bot.config import settings  # heavy: imported on first use, not at start-up

    return settings.current().actions_address or f"{LOOPBACK}:{action_port}"


def endpoints_file(action_port: int) -> Path:
    """endpoints.yml with the action server URL on the port we started it on, and the
    tracker/lock stores from SAFEGUARD_TRACKER_URL / SAFEGUARD_LOCK_URL when set."""
    import yaml  # heavy: imported on first use, not at start-up

    from bot.config import settings  # heavy: imported on first use, not at start-up

    text = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:5055", f"{action_host(action_port)}")
    text = text.replace("localhost:5055", f"{action_host(action_port)}")
    stores = store_endpoints()
    if stores:
        config = yaml.safe_load(text) or {}
        config.update(stores)
        text = "# Written by safeguard from endpoints.yml and the environment.\n" + yaml.safe_dump(
            config, sort_keys=False
        )
    path = settings.var_dir() / f"endpoints-{action_port}.yml"
    # May hold a database or Redis password: readable by this user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def rasa_run_cmd(model: Path, port: int, action_port: int, host: str = LOOPBACK) -> list[str]:
    """`rasa run` through bot.rasa.server, which caches work Rasa repeats per message; bound
    to `host` (loopback unless told: Rasa's own default is every interface)."""
    return [
        sys.executable,
        "-m",
        "bot.rasa.server",
        "run",
        "--model",
        str(model),
        "--interface",
        host,
        "--port",
        str(port),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--endpoints",
        str(endpoints_file(action_port)),
        "--quiet",
    ]


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll `url` until it answers 200, the process dies, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    return False


@dataclass
class ProcessGroup:
    """Children started together and stopped together."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:  # noqa: ANN003
        kwargs.setdefault("env", child_env())
        kwargs.setdefault("cwd", ROOT)
        proc = subprocess.Popen(cmd, **kwargs)
        self.children[name] = proc
        return proc

    def first_exit(self) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, grace: float = 10.0) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# Restart back-off under `safeguard serve`: 1 s, 2 s, 4 s ... up to 30 s between tries; a
# part that ran for a minute before dying starts again from 1 s.
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
RESTART_STABLE_S = 60.0
# A part that has died this many times in a row (none of its runs lasting RESTART_STABLE_S)
# keeps failing: the on-call lead is told once for that streak (`on_keeps_failing`).
KEEPS_FAILING_AFTER = 3


@dataclass
class Part:
    """One supervised child: how to start it, and what happened to it so far."""

    name: str
    cmd: list[str]
    kwargs: dict
    proc: subprocess.Popen | None = None
    state: str = "starting"
    restarts: int = 0
    failures: int = 0  # exits in a row without a stable run: the back-off's exponent
    started_at: float = 0.0
    restart_at: float | None = None
    last_exit: int | None = None
    told: bool = False  # the lead was told about the current streak of failures

    def report(self) -> dict:
        return {
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "pid": getattr(self.proc, "pid", None) if self.state == "running" else None,
        }


class Supervisor:
    """Runs parts in a `ProcessGroup`. `check()` is one pass: with `restart`, a part that
    exited is reported and started again after a back-off delay while the others keep
    running; without, the first exit is returned for the caller to stop with. The clock and
    the report line are injectable (tests move the clock by hand)."""

    def __init__(
        self,
        group: ProcessGroup | None = None,
        *,
        restart: bool = True,
        first_delay: float = RESTART_FIRST_S,
        max_delay: float = RESTART_MAX_S,
        stable_after: float = RESTART_STABLE_S,
        clock=time.monotonic,  # noqa: ANN001
        report=None,  # noqa: ANN001
        status_file: Path | None | bool = None,
        on_keeps_failing=None,  # noqa: ANN001 - called with the part's name, once per streak
        keeps_failing_after: int = KEEPS_FAILING_AFTER,
    ) -> None:
        self.group = group or ProcessGroup()
        self.restart = restart
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.clock = clock
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.status_file = status_file
        self.parts: dict[str, Part] = {}
        self.on_keeps_failing = on_keeps_failing
        self.keeps_failing_after = keeps_failing_after

    def start(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:  # noqa: ANN003
        part = self.parts.get(name) or Part(name, cmd, kwargs)
        self.parts[name] = part
        part.proc = self.group.start(name, part.cmd, **part.kwargs)
        part.state = "running"
        part.started_at = self.clock()
        part.restart_at = None
        self._write_status()
        return part.proc

    def delay(self, part: Part) -> float:
        return min(self.first_delay * 2 ** max(part.failures - 1, 0), self.max_delay)

    def check(self) -> tuple[str, int] | None:
        """One pass. Returns (name, exit code) when a part exited and is not restarted."""
        now = self.clock()
        changed = False
        for part in self.parts.values():
            if part.state == "running" and part.proc is not None:
                code = part.proc.poll()
                if code is None:
                    continue
                part.last_exit = code
                changed = True
                if not self.restart:
                    part.state = "stopped"
                    self._write_status()
                    return part.name, code
                ran = now - part.started_at
                if ran >= self.stable_after:
                    part.failures, part.told = 1, False  # a new streak
                else:
                    part.failures += 1
                wait = self.delay(part)
                part.state = "restarting"
                part.restart_at = now + wait
                self.report(
                    f"[serve] the {part.name} stopped (exit {code}); restarting it in "
                    f"{wait:g}s (restart {part.restarts + 1}); the rest keep serving"
                )
                if (
                    part.failures >= self.keeps_failing_after
                    and not part.told
                    and self.on_keeps_failing is not None
                ):
                    part.told = True
                    self.report(
                        f"[serve] the {part.name} keeps failing ({part.failures} times in a "
                        "row): telling the on-call lead"
                    )
                    try:
                        self.on_keeps_failing(part.name)
                    except Exception as exc:  # noqa: BLE001 - serving goes on
                        self.report(f"[serve] could not tell the lead: {type(exc).__name__}")
            elif part.state == "restarting" and part.restart_at is not None:
                if now >= part.restart_at:
                    part.restarts += 1
                    self.start(part.name, part.cmd, **part.kwargs)
                    pid = getattr(part.proc, "pid", "?")
                    self.report(f"[serve] the {part.name} started again (pid {pid})")
                    changed = True
        if changed:
            self._write_status()
        return None

    def status(self) -> dict[str, dict]:
        return {name: part.report() for name, part in self.parts.items()}

    def _write_status(self) -> None:
        if self.status_file is False:
            return
        try:
            write_status(self.status(), self.status_file or None)
        except OSError:
            pass  # health then says nothing about serve's parts; serving goes on

    def stop(self, grace: float = 10.0) -> None:
        self.group.stop(grace)
        if self.status_file is not False:
            try:
                (self.status_file or status_path()).unlink(missing_ok=True)
            except OSError:
                pass


STATUS_FILE = "serve-status.json"


def status_path() -> Path:
    from bot.config import settings  # heavy: imported on first use, not at start-up

    return settings.var_dir() / STATUS_FILE


def notify_keeps_failing(name: str) -> None:
    """Tell the on-call lead that a part of `safeguard serve` keeps failing: the same page
    as systemd's OnFailure= sends (`safeguard notify-failure`, no child data), run as its own
    process so a broken database or transport never blocks the supervisor."""
    unit = "serve-" + "-".join(name.split())
    subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "bot.commands.cli", "notify-failure", unit],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def write_status(parts: dict[str, dict], path: Path | None = None) -> None:
    """What `safeguard serve` knows about its parts, for `safeguard health` (replaced
    atomically; names, states, counts and exit codes only)."""
    import json  # heavy: imported on first use, not at start-up

    path = path or status_path()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "parts": parts}), encoding="utf-8")
    os.replace(tmp, path)


def read_status(path: Path | None = None) -> dict:
    """The last status a running `safeguard serve` wrote; {} if none runs here."""
    import json  # heavy: imported on first use, not at start-up

    path = path or status_path()
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(report["pid"]), 0)  # still running?
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return report if isinstance(report, dict) else {}


class Stop(Exception):
    """Raised in the main thread by SIGTERM so cleanup runs like on Ctrl-C."""


def stop_quietly(group: ProcessGroup | Supervisor, grace: float = 10.0) -> None:
    """Stop every child; a second Ctrl-C or SIGTERM meanwhile does not cut it short into a
    traceback (the children are stopped all the same)."""
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, signal.SIG_IGN)
        except ValueError:  # not the main thread: nothing to protect
            pass
    try:
        group.stop(grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def raise_stop_on_sigterm() -> None:
    def _handler(signum, frame) -> None:  # noqa: ANN001, ARG001
        raise Stop()

    signal.signal(signal.SIGTERM, _handler)
