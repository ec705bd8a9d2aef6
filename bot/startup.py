"""Check every data file before serving anyone, so a broken file stops start-up with one
line naming the file, the field and the problem, never a traceback mid-conversation."""

from __future__ import annotations

from collections.abc import Callable


def _checks() -> list[tuple[str, Callable[[], object]]]:
    from bot import categories, contacts, crypto, language, pack, rota, triage

    return [
        ("policy pack", pack.load_pack),
        ("contact phrases", contacts.load_purpose_phrases),
        ("danger rules", triage.load_rules),
        ("language rules", language.load_rules),
        ("categories of abuse", categories.load_categories),
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
    from bot import secrets

    found += [f"secret: {problem}" for problem in secrets.problems()]
    return found
