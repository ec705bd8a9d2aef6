"""Every setting safeguard reads from its environment, in one place: `Settings`.

One pydantic `BaseSettings` holds every variable the code reads (the ``SAFEGUARD_*`` ones,
the chat channels' and the secrets' names and their ``*_FILE`` companions), each with its
type, default and meaning. A process builds it once, on first use: `current()` returns it;
`reload()` builds it afresh from the environment (tests; bench). Nothing else in bot/ or
actions/ reads ``os.environ``; code asks `current()` (or one of the thin readers below).

A value that cannot be read stops start-up with one plain line naming the variable
(`SettingsError`), never a traceback. Two settings never stop anything: the fail-safe's
bounds (SAFEGUARD_REPLY_SECONDS, SAFEGUARD_ACTION_TIMEOUT_SECONDS) fall back to their
defaults with a warning, because the fail-safe must always answer.

Secrets (``secret=True``) are held as pydantic `SecretStr`, so printing the settings never
shows them; `bot.config.secrets` still resolves them (the variable, or a chmod 600 file
named by NAME_FILE) and is the only place that reveals a value, to the code that needs it.

`safeguard config` prints the effective settings; the README's settings table is
`markdown_table()` (written by ``scripts/settings_table.py``, checked by
tests/test_settings.py).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseSettings, Field, PrivateAttr, SecretStr, ValidationError

from bot.config.paths import ROOT

logger = logging.getLogger(__name__)

DEFAULT_ORG = "generic"
DEFAULT_ROSTER = ROOT / "deploy" / "roster.example.yml"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"
LOOPBACK = "127.0.0.1"
# The fail-safe's bounds (bot/failsafe/safety.py); outside SECONDS_RANGE means the default.
DEFAULT_REPLY_SECONDS = 15.0
DEFAULT_ACTION_TIMEOUT_SECONDS = 4.0
SECONDS_RANGE = (0.5, 600.0)
DEFAULT_INCIDENT_HOURS = 12.0
MAX_INCIDENT_HOURS = 24 * 14
DEFAULT_RATE_PER_MINUTE = 60.0
DEFAULT_RATE_BURST = 30.0


class SettingsError(ValueError):
    """A setting is set to something that cannot be read (one plain line)."""


def _setting(default: Any, env: str, meaning: str, **extra: Any) -> Any:  # noqa: ANN401
    """A field read from the variable `env`. Extras: secret=True (never shown),
    url=True (a password in it is never shown), shown_default="..." (the default as the
    README and `safeguard config` state it), must="..." (what a bad value is told it must
    be), fallback=True (a bad value is a warning and the default, never an error)."""
    return Field(default, env=env, description=meaning, **extra)


class Settings(BaseSettings):
    """The process's settings: one field per environment variable (see the module doc)."""

    # ------------------------------------------------------------------ the deployment
    org: str = _setting(
        DEFAULT_ORG,
        "SAFEGUARD_ORG",
        "which organisation's policy pack applies (a file in `packs/`)",
    )
    roster: Path | None = _setting(
        None,
        "SAFEGUARD_ROSTER",
        "the on-call roster: who is on call, and the escalation steps",
        shown_default="`deploy/roster.example.yml` (fictional)",
    )
    now: str = _setting(
        "",
        "SAFEGUARD_NOW",
        "pins the clock, ISO local time, e.g. `2026-12-28T19:30` (demos, tests)",
        shown_default="real time",
    )
    now_file: Path | None = _setting(
        None,
        "SAFEGUARD_NOW_FILE",
        "a file whose first line pins the clock, read at every call (moves a running stack "
        "in time)",
    )
    var: Path | None = _setting(
        None,
        "SAFEGUARD_VAR",
        "where the embedded defaults keep their files (database, key, secrets, spool, logs)",
        shown_default="`var/` in the checkout",
    )
    db_url: str | None = _setting(
        None,
        "SAFEGUARD_DB_URL",
        "the concern log database (SQLAlchemy URL; PostgreSQL in production)",
        shown_default="SQLite in `var/`",
        url=True,
    )
    key: SecretStr | None = _setting(
        None,
        "SAFEGUARD_KEY",
        "the encryption key for the child's words (comma-separated, newest first)",
        secret=True,
        shown_default="`var/concern.key`, created 0600",
    )
    key_file: Path | None = _setting(
        None,
        "SAFEGUARD_KEY_FILE",
        "a chmod 600 file holding the encryption key (one per line, newest first)",
    )
    incident_hours: float = _setting(
        DEFAULT_INCIDENT_HOURS,
        "SAFEGUARD_INCIDENT_HOURS",
        "a conversation quiet for longer than this starts a new incident (a new concern)",
        gt=0,
        le=MAX_INCIDENT_HOURS,
        must=f"a number of hours, more than 0 and at most {MAX_INCIDENT_HOURS}",
    )
    user: str = _setting(
        "",
        "SAFEGUARD_USER",
        "who is acting at the command line (a roster id), for `safeguard concerns`, "
        "`audit`, `retention`, `pager ack`",
        shown_default="none (`--as`)",
    )
    # ------------------------------------------------------------------ the servers
    host: str = _setting(
        LOOPBACK,
        "SAFEGUARD_HOST",
        "where `safeguard serve` binds the Rasa server (`--host`)",
    )
    actions_host: str = _setting(
        LOOPBACK,
        "SAFEGUARD_ACTIONS_HOST",
        "where the action server listens (`--actions-host`)",
    )
    actions_address: str | None = _setting(
        None,
        "SAFEGUARD_ACTIONS_ADDRESS",
        "`host:port` of an action server on another machine (same action secret)",
        shown_default="this machine's",
    )
    reply_seconds: float | None = _setting(
        None,
        "SAFEGUARD_REPLY_SECONDS",
        "the fail-safe's bound: a worker waits at most this long for a reply (overrides "
        "`credentials.yml`; a bad value is a warning and the default)",
        shown_default=f"{DEFAULT_REPLY_SECONDS:g} (`credentials.yml`)",
        fallback=DEFAULT_REPLY_SECONDS,
    )
    action_timeout_seconds: float | None = _setting(
        None,
        "SAFEGUARD_ACTION_TIMEOUT_SECONDS",
        "the fail-safe's bound: stop waiting for one custom action after this (overrides "
        "`credentials.yml`; a bad value is a warning and the default)",
        shown_default=f"{DEFAULT_ACTION_TIMEOUT_SECONDS:g} (`credentials.yml`)",
        fallback=DEFAULT_ACTION_TIMEOUT_SECONDS,
    )
    rate_burst: float = _setting(
        DEFAULT_RATE_BURST,
        "SAFEGUARD_RATE_BURST",
        "per-sender limit on the REST channel and the gateway: messages at once (danger is "
        "never held back)",
        gt=0,
        must="a positive number",
    )
    rate_per_minute: float = _setting(
        DEFAULT_RATE_PER_MINUTE,
        "SAFEGUARD_RATE_PER_MINUTE",
        "per-sender limit: messages a minute once the burst is spent",
        gt=0,
        must="a positive number",
    )
    dev_rest: bool = _setting(
        False,
        "SAFEGUARD_DEV_REST",
        "`1`: the REST channel also takes unsigned requests from loopback, as "
        "`dev:<sender>` (never a lead); development only",
        shown_default="off",
    )
    unsafe_debug_logs: bool = _setting(
        False,
        "SAFEGUARD_UNSAFE_DEBUG_LOGS",
        "`1`: logs keep conversation text (scrubbing off); never in production",
        shown_default="off",
    )
    # ------------------------------------------------------------------ more than one server
    rasa_urls: str = _setting(
        "",
        "SAFEGUARD_RASA_URLS",
        "Rasa servers the Telegram gateway talks to, comma-separated; a conversation always "
        "goes to the same one (sticky by sender)",
        shown_default=f"`{DEFAULT_RASA_URL}`",
    )
    tracker_url: str | None = _setting(
        None,
        "SAFEGUARD_TRACKER_URL",
        "the protected SQL tracker store, for more than one Rasa server (SQLAlchemy URL)",
        shown_default="in-memory tracker store (nothing on disk)",
        url=True,
    )
    tracker_retention_days: float | None = _setting(
        None,
        "SAFEGUARD_TRACKER_RETENTION_DAYS",
        "conversations older than this are purged from the SQL tracker store (0: never)",
        shown_default="7",
        ge=0,
        must="a number of days (0 = keep)",
    )
    lock_url: str | None = _setting(
        None,
        "SAFEGUARD_LOCK_URL",
        "the Redis lock store, for more than one Rasa server (`redis://host:6379/1`)",
        shown_default="in-memory lock store",
        url=True,
    )
    # ------------------------------------------------------------------ shared secrets
    channel_secret: SecretStr | None = _setting(
        None,
        "SAFEGUARD_CHANNEL_SECRET",
        "signs every message the gateway and the terminal send to the REST channel",
        secret=True,
        shown_default="`var/channel.secret`, created 0600",
    )
    channel_secret_file: Path | None = _setting(
        None,
        "SAFEGUARD_CHANNEL_SECRET_FILE",
        "a chmod 600 file holding SAFEGUARD_CHANNEL_SECRET",
    )
    action_secret: SecretStr | None = _setting(
        None,
        "SAFEGUARD_ACTION_SECRET",
        "the header Rasa sends the action server with every call",
        secret=True,
        shown_default="`var/action.secret`, created 0600",
    )
    action_secret_file: Path | None = _setting(
        None,
        "SAFEGUARD_ACTION_SECRET_FILE",
        "a chmod 600 file holding SAFEGUARD_ACTION_SECRET",
    )
    # ------------------------------------------------------------------ Telegram
    telegram_bot_token: SecretStr | None = _setting(
        None,
        "TELEGRAM_BOT_TOKEN",
        "the Telegram bot (`safeguard telegram`) and Telegram pages",
        secret=True,
        shown_default="none: pages are printed in the terminal",
    )
    telegram_bot_token_file: Path | None = _setting(
        None,
        "TELEGRAM_BOT_TOKEN_FILE",
        "a chmod 600 file holding TELEGRAM_BOT_TOKEN",
    )
    old_telegram_token: SecretStr | None = _setting(
        None,
        "SAFEGUARD_TELEGRAM_TOKEN",
        "the older name of TELEGRAM_BOT_TOKEN, for Telegram pages (still accepted)",
        secret=True,
    )
    telegram_webhook_secret: SecretStr | None = _setting(
        None,
        "TELEGRAM_WEBHOOK_SECRET",
        "the token Telegram must send with every webhook request (`--webhook-url`)",
        secret=True,
        shown_default="a new random one at each start",
    )
    telegram_webhook_secret_file: Path | None = _setting(
        None,
        "TELEGRAM_WEBHOOK_SECRET_FILE",
        "a chmod 600 file holding TELEGRAM_WEBHOOK_SECRET",
    )
    telegram_base_url: str | None = _setting(
        None,
        "TELEGRAM_BASE_URL",
        "another Bot API server, e.g. a local one or a test fake",
        shown_default="Telegram's",
    )
    old_telegram_base_url: str | None = _setting(
        None,
        "SAFEGUARD_TELEGRAM_BASE_URL",
        "the older name of TELEGRAM_BASE_URL, for Telegram pages (still accepted)",
    )
    # ------------------------------------------------------------------ Microsoft Teams
    teams_app_id: str | None = _setting(
        None,
        "TEAMS_APP_ID",
        "the Azure bot's Microsoft App ID, when `credentials.yml` does not give it",
    )
    teams_tenant_id: str | None = _setting(
        None,
        "TEAMS_TENANT_ID",
        "the Microsoft Entra tenant of a single-tenant bot, when `credentials.yml` does not "
        "give it",
        shown_default="multi-tenant",
    )
    teams_app_password: SecretStr | None = _setting(
        None,
        "TEAMS_APP_PASSWORD",
        "the Teams channel's client secret (README, \"Run it on Teams\")",
        secret=True,
    )
    teams_app_password_file: Path | None = _setting(
        None,
        "TEAMS_APP_PASSWORD_FILE",
        "a chmod 600 file holding TEAMS_APP_PASSWORD",
    )
    teams_disabled: bool = _setting(
        False,
        "SAFEGUARD_TEAMS_DISABLED",
        "`1`: no pages by Teams webhooks (on by default; the URLs are per person, in the "
        "roster)",
        shown_default="off",
    )
    teams_test_openid_url: str | None = _setting(
        None,
        "SAFEGUARD_TEAMS_TEST_OPENID_URL",
        "tests only: Microsoft's OpenID metadata from a loopback fake",
        shown_default="Microsoft's",
    )
    teams_test_token_url: str | None = _setting(
        None,
        "SAFEGUARD_TEAMS_TEST_TOKEN_URL",
        "tests only: Microsoft's token endpoint from a loopback fake",
        shown_default="Microsoft's",
    )
    # ------------------------------------------------------------------ tests
    seeds: Path | None = _setting(
        None,
        "SAFEGUARD_SEEDS",
        "tests only: the organisations' policies every answer traces to",
        shown_default="`../shared/seeds` beside the checkout",
    )
    fuzz_examples: int | None = _setting(
        None,
        "SAFEGUARD_FUZZ_EXAMPLES",
        "tests only: examples per fuzz property (`make fuzz` sets it)",
        shown_default="each property's own",
        ge=0,
        must="a whole number",
    )
    fuzz_seed: int | None = _setting(
        None,
        "SAFEGUARD_FUZZ_SEED",
        "tests only: random fuzz examples from this seed (`make fuzz` sets it)",
        shown_default="fixed examples",
        must="a whole number",
    )

    # Not settings: what building them noticed, and which variables the environment set.
    _warnings: list[str] = PrivateAttr(default_factory=list)
    _given: frozenset = PrivateAttr(default_factory=frozenset)

    class Config:
        case_sensitive = True
        frozen = True

    # ------------------------------------------------------------------ building

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from `environ` (default: this process's environment) and nothing
        else. Values are trimmed; an empty one is unset. Raises SettingsError."""
        environ = os.environ if environ is None else environ
        given: dict[str, Any] = {}
        warnings: list[str] = []
        present: list[str] = []
        for name, field in cls.__fields__.items():
            env = field.field_info.extra["env"]
            raw = environ.get(env)
            value = raw.strip() if isinstance(raw, str) else raw
            if value in (None, ""):
                given[name] = field.default
                continue
            present.append(env)
            fallback = field.field_info.extra.get("fallback")
            if fallback is not None:
                value, problem = _bounded_seconds(env, value, fallback)
                if problem:
                    warnings.append(problem)
            given[name] = value
        try:
            made = cls(**given)
        except ValidationError as exc:
            raise SettingsError(cls._one_line(exc, environ)) from None
        made._warnings.extend(warnings)
        made._given = frozenset(present)
        return made

    @classmethod
    def _one_line(cls, exc: ValidationError, environ: Mapping[str, str]) -> str:
        parts = []
        for error in exc.errors():
            field = cls.__fields__[str(error["loc"][0])]
            env = field.field_info.extra["env"]
            must = field.field_info.extra.get("must") or _must_for(field.type_)
            shown = "(hidden)" if is_secret(field) else repr(str(environ.get(env, "")).strip())
            parts.append(f"{env} must be {must}, not {shown}")
        return "; ".join(parts)

    def __repr_args__(self) -> list[tuple[str | None, Any]]:
        """repr() and str() as pydantic's, with any password in a URL replaced by ***
        (secrets are SecretStr, already shown as stars)."""
        return [
            (name, hide_password(value) if isinstance(value, str) and self._is_url(name) else value)
            for name, value in super().__repr_args__()
        ]

    @classmethod
    def _is_url(cls, name: str | None) -> bool:
        field = cls.__fields__.get(name or "")
        return bool(field and field.field_info.extra.get("url"))

    # ------------------------------------------------------------------ reading

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """{environment variable: field name}, in the order of the table."""
        return dict(_field_names(cls))

    def text(self, env: str) -> str:
        """The value of the variable `env` as text, "" when unset; a secret's real value
        (for bot.config.secrets). KeyError for a name that is not a setting."""
        value = getattr(self, _field_names(type(self))[env])
        if value is None:
            return ""
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value)

    @property
    def var_path(self) -> Path:
        """SAFEGUARD_VAR, or var/ in the checkout (not created here: see var_dir())."""
        return self.var or ROOT / "var"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.var_path / 'concerns.sqlite3'}"

    @property
    def roster_path(self) -> Path:
        return self.roster or DEFAULT_ROSTER

    def rows(self) -> list[dict[str, Any]]:
        """One row per setting for `safeguard config`: name, value (secrets hidden), whether
        the environment sets it, the default, the meaning (plain text), whether it is a
        secret."""
        out = []
        for name, field in type(self).__fields__.items():
            env = field.field_info.extra["env"]
            value = getattr(self, name)
            set_here = env in self._given
            out.append(
                {
                    "name": env,
                    "value": _shown(field, value) if set_here else "(not set)",
                    "set": set_here,
                    "default": default_text(field).replace("`", ""),
                    "meaning": str(field.field_info.description).replace("`", ""),
                    "secret": is_secret(field),
                }
            )
        return out



@functools.cache
def _field_names(cls: type[Settings]) -> dict[str, str]:
    return {f.field_info.extra["env"]: name for name, f in cls.__fields__.items()}


def _bounded_seconds(env: str, raw: Any, fallback: float) -> tuple[float, str]:  # noqa: ANN401
    """The fail-safe's bounds never stop anything: a bad value is the default, with a warning."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return fallback, f"{env}={raw!r} is not a number of seconds; using {fallback:g}"
    low, high = SECONDS_RANGE
    if not low <= value <= high:
        return fallback, f"{env}={raw} is outside {low:g}-{high:g} seconds; using {fallback:g}"
    return value, ""


def _must_for(kind: Any) -> str:  # noqa: ANN401
    if kind is bool:
        return "1 or 0 (or true/false, yes/no, on/off)"
    if kind is int:
        return "a whole number"
    if kind is float:
        return "a number"
    return "readable"


def is_secret(field: Any) -> bool:  # noqa: ANN401 - a pydantic ModelField
    return bool(field.field_info.extra.get("secret"))


def hide_password(url: str) -> str:
    """`url` with any password in it replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "") + ":***"
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))
    except ValueError:
        return "(set, not shown: not a URL)"


def _shown(field: Any, value: Any) -> str:  # noqa: ANN401
    if is_secret(field):
        return "(set, hidden)"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return hide_password(text) if field.field_info.extra.get("url") else text


def default_text(field: Any) -> str:  # noqa: ANN401
    """The default as the README and `safeguard config` state it."""
    stated = field.field_info.extra.get("shown_default")
    if stated:
        return stated
    default = field.default
    if default is None or default == "":
        return "none"
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return f"`{default}`"


# --------------------------------------------------------------------------- the process's


_lock = threading.Lock()
_current: Settings | None = None


def current() -> Settings:
    """The process's settings: built from the environment on first use, then kept."""
    made = _current
    if made is None:
        made = reload()
    return made


def reload() -> Settings:
    """Build the settings afresh from the environment and keep them (raises SettingsError,
    and then keeps nothing, so the next `current()` tries again)."""
    global _current
    with _lock:
        _current = None
        made = Settings.from_environ()
        _current = made
    # Logged once they are kept: the log filter (bot.core.log_privacy) reads them too.
    for warning in made._warnings:
        logger.warning("%s", warning)
    return made


def invalidate() -> None:
    """Forget the kept settings; the next `current()` reads the environment again (tests
    call this whenever they change the environment; a bad value then fails where it is
    next read, not in the test's set-up)."""
    global _current
    _current = None


def check() -> str | None:
    """None, or the one line saying which setting cannot be read (start-up calls this)."""
    try:
        current()
    except SettingsError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- thin readers


def org() -> str:
    return current().org


def var_dir() -> Path:
    path = current().var_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    return current().database_url


# --------------------------------------------------------------------------- the README


TABLE_BEGIN = "<!-- settings:begin -->"
TABLE_END = "<!-- settings:end -->"


def markdown_table() -> str:
    """The README's settings table, generated from `Settings` (one row per variable)."""
    lines = [
        "| Variable | Meaning | Default |",
        "|---|---|---|",
    ]
    for field in Settings.__fields__.values():
        env = field.field_info.extra["env"]
        meaning = str(field.field_info.description).replace("|", "\\|")
        if is_secret(field):
            meaning += " (secret: never shown)"
        lines.append(f"| `{env}` | {meaning} | {default_text(field)} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """`readme` with the text between the two marker lines replaced by `markdown_table()`.
    ValueError when the markers are missing or out of order."""
    start = readme.find(TABLE_BEGIN)
    end = readme.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {TABLE_BEGIN} ... {TABLE_END} block")
    head = readme[: start + len(TABLE_BEGIN)]
    return f"{head}\n{markdown_table()}{readme[end:]}"
