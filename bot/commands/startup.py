"""Check every data file before serving anyone, so a broken file stops start-up with one
line naming the file, the field and the problem, never a traceback mid-conversation."""

from __future__ import annotations

from collections.abc import Callable


def _checks() -> list[tuple[str, Callable[[], object]]]:
    from bot.core import (  # heavy: imported on first use, not at start-up
        categories,
        contacts,
        intent_cues,
        language,
        pack,
        replies,
        rota,
        triage,
    )
    from bot.records import crypto  # heavy: imported on first use, not at start-up

    return [
        ("policy pack", pack.load_pack),
        ("contact phrases", contacts.load_purpose_phrases),
        ("danger rules", triage.load_rules),
        ("language rules", language.load_rules),
        ("categories of abuse", categories.load_categories),
        ("intent cues", intent_cues.load),
        ("reply templates", replies.load_replies),
        ("on-call roster", rota.load_roster),
        ("encryption key", crypto.load_key),
    ]


def problems() -> list[str]:
    """One plain line per broken data file or setting; empty when all is well."""
    found: list[str] = []
    for what, load in _checks():
        try:
            load()
        except ValueError as exc:  # DataFileError, CryptoError, ClockError...
            found.append(f"{what}: {exc}")
    from bot.config import secrets  # heavy: imported on first use, not at start-up

    found += [f"secret: {problem}" for problem in secrets.problems()]
    found += channel_problems()
    return found


TEAMS_CHANNEL = "bot.rasa.channels.teams.TeamsInput"


def channel_problems(path=None) -> list[str]:  # noqa: ANN001
    """The Teams channel's settings in credentials.yml (app id, tenant, the client secret from
    TEAMS_APP_PASSWORD[_FILE]), checked before Rasa starts: Rasa itself would stop with a
    traceback. Nothing is fetched from Microsoft here."""
    import yaml  # heavy: imported on first use, not at start-up

    from bot import ROOT  # heavy: imported on first use, not at start-up

    path = path or ROOT / "credentials.yml"
    try:
        credentials = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return [f"channels: {path.name} cannot be read ({type(exc).__name__})"]
    if not isinstance(credentials, dict) or TEAMS_CHANNEL not in credentials:
        return []
    from bot.rasa.channels.teams import TeamsInput  # heavy: imported on first use, not at start-up

    try:
        TeamsInput.from_credentials(credentials[TEAMS_CHANNEL])
    except ValueError as exc:  # TeamsConfigError, SecretError
        return [f"Teams channel: {exc}"]
    return []
