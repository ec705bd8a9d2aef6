"""The replies a worker reads at the worst moment, rendered from ``knowledge/replies.yml``.

Danger, failure, too-long and saved-record replies are written once, as data, and built
here; the actions (actions/danger.py, actions/disclosure_form.py, actions/context.py), the
fail-safe channel (bot/failsafe/safety.py), the Telegram fallback (bot/failsafe/fallback.py),
the terminal (bot/clients/terminal.py) and the too-long refusal (bot/core/limits.py) all call in.

A danger reply is: 999, once, in the first line; then who was paged (and the first wait);
then the numbers (the Safeguarding Lead, and out of hours the out-of-hours line), one
label/value line each; then the deployment's own policy, by its human label. About eight
lines. Only `call_999` and `danger_line` may say 999 (the loader checks), so a reply built
from one of them and the rest says it once.

Rasa-free. Nothing here raises for a broken pack: the worker is still told 999 and to go to
their Safeguarding Lead.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, validator

from bot import ROOT
from bot.core import clock
from bot.core.contacts import route, time_context
from bot.core.datafile import load_model
from bot.core.hours import is_working_time
from bot.core.limits import MAX_MESSAGE_CHARS
from bot.core.pack import load_pack

logger = logging.getLogger(__name__)

REPLIES_FILE = ROOT / "knowledge" / "replies.yml"
SCHEMA_VERSION = 1

# Every template and the {fields} the renderer fills in it.
TEMPLATES: dict[str, frozenset[str]] = {
    name: frozenset(fields)
    for name, fields in {
        "call_999": (),
        "danger_line": (),
        "paged": ("who", "reference"),
        "paged_wait": ("minutes",),
        "extended": ("reference", "who"),
        "extended_lead": ("reference",),
        "nobody_on_call": ("reference",),
        "pending": (),
        "not_saved": ("problem",),
        "alarm_error": (),
        "spooled": ("reference_note",),
        "numbers_head": (),
        "lead_label": (),
        "out_of_hours_label": ("time_context",),
        "contact_number": ("label", "name", "number"),
        "contact_not_set": ("label", "name", "not_set"),
        "purpose_not_set": ("label", "not_set", "ask"),
        "no_numbers": (),
        "source": ("sources",),
        "failed": (),
        "slow": (),
        "plain_error": (),
        "late_header": (),
        "unavailable": (),
        "too_long": ("length", "limit"),
        "too_fast": (),
        "saved": ("reference",),
        "record_added": ("reference",),
        "record_not_saved": ("problem",),
        "record_spooled": (),
        "record_nobody_paged": (),
        "record_on_call": ("who",),
        "record_still_saving": (),
    }.items()
}
# The only templates that may say 999: every reply says it once, through one of these.
SAYS_999 = frozenset({"call_999", "danger_line"})
_SEED_FILE = re.compile(r"\d{3}_[0-9a-f]+\.txt")
_999 = re.compile(r"(?<!\d)999(?!\d)")


def placeholders(template: str) -> set[str]:
    """The {fields} a template uses ('{who} ({reference})' -> {'who', 'reference'})."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class _RepliesFile(BaseModel):
    schema_version: int
    replies: dict[str, str]

    class Config:
        extra = "forbid"

    @validator("schema_version")
    def _version(cls, value: int) -> int:  # noqa: N805
        if value != SCHEMA_VERSION:
            raise ValueError(f"must be {SCHEMA_VERSION}, not {value}")
        return value

    @validator("replies")
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:  # noqa: N805
        missing = sorted(set(TEMPLATES) - set(value))
        if missing:
            raise ValueError(f"missing templates: {', '.join(missing)}")
        unknown = sorted(set(value) - set(TEMPLATES))
        if unknown:
            raise ValueError(f"unknown templates: {', '.join(unknown)}")
        for name, template in value.items():
            if not isinstance(template, str) or not template.strip():
                raise ValueError(f"{name}: must be text")
            try:
                used = placeholders(template)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            extra = sorted(used - TEMPLATES[name])
            if extra:
                allowed = ", ".join(sorted(TEMPLATES[name])) or "none"
                raise ValueError(f"{name}: unknown field {{{extra[0]}}} (allowed: {allowed})")
            if _999.search(template) and name not in SAYS_999:
                raise ValueError(f"{name}: only call_999 and danger_line may say 999")
            if _SEED_FILE.search(template):
                raise ValueError(f"{name}: a seed file name is not for people to read")
        if not _999.search(value["call_999"]) or not _999.search(value["danger_line"]):
            raise ValueError("call_999 and danger_line must say 999")
        if "\n" in value["call_999"].strip():
            raise ValueError("call_999 must be one line")
        return value


def load_replies(path: Path | str | None = None) -> dict[str, str]:
    """The templates, validated; a broken file raises a one-line DataFileError."""
    if path is None:
        return _cached()
    return dict(load_model(path, _RepliesFile).replies)


@cache
def _cached() -> dict[str, str]:
    return dict(load_model(REPLIES_FILE, _RepliesFile).replies)


def text(template: str, /, **fields: Any) -> str:
    """One template, filled in."""
    return load_replies()[template].strip().format(**fields)


# -- sources ------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?(?=\s|$)")


def _section(part: str) -> str:
    """'3.11 Quick view procedure: ...' -> 's.3.11'; 'Appendix 1 (flow chart)' ->
    'Appendix 1'; 'Immediate Harm' stays as it is."""
    match = _NUMBERED.match(part)
    if match:
        return f"s.{match.group(1)}"
    return " ".join(re.sub(r"\s*\([^()]*\)", "", part).split()) or part


def cite(pack, sources: Iterable[Any]) -> str:  # noqa: ANN001
    """The source line: 'Source: The Children's Society policy, s.3.11' (see `cited`)."""
    return text("source", sources=cited(pack, sources))


def cited(pack, sources: Iterable[Any]) -> str:  # noqa: ANN001
    """'The Children's Society policy, s.3.11, s.3.12': the pack's human label for
    each seed, numbered sections as s.N, never a file name. `sources` are pack Sources or
    their `cite()` strings ('<seed>, <section>'); anything else (the "policy pack" source of
    an unset contact) counts as the pack itself. Only the pack's own seeds are cited."""
    grouped: dict[str, list[str]] = {}
    for item in sources:
        if not item:
            continue
        if hasattr(item, "seed"):
            seed, section = item.seed, item.section
        else:
            seed, _, section = str(item).partition(", ")
        if seed not in pack.seeds:
            continue
        parts = grouped.setdefault(pack.seed_label(seed), [])
        for part in (_section(p.strip()) for p in section.split(";")):
            if part and part not in parts:
                parts.append(part)
    if not grouped:
        return "; ".join(dict.fromkeys(pack.seed_label(seed) for seed in pack.seeds))
    return "; ".join(
        f"{label}, {', '.join(parts)}" if parts else label for label, parts in grouped.items()
    )


# -- the numbers ----------------------------------------------------------------------------


def _sentence(value: str) -> str:
    value = " ".join(value.split())
    value = value[:1].upper() + value[1:]
    return value if value.endswith((".", "!", "?")) else value + "."


def _without_999(value: str) -> str:
    """Pack text with any clause that says 999 taken out ('the DSL; in an emergency call
    999' -> 'the DSL'): the danger reply has said 999 once, first."""
    if not _999.search(value):
        return value
    kept = [part for part in re.split(r"(?<=[;.])\s+", value) if not _999.search(part)]
    return " ".join(kept).rstrip(" ;") or value


def contact_line(pack, item, label: str) -> str:  # noqa: ANN001
    """One label/value line for a routed contact (bot.core.contacts.Route)."""
    contact = item.contact
    if contact is None:
        unset = pack.unset(item.purpose)
        not_set = unset.not_set if unset is not None else "The policy gives no contact for this."
        ask = _without_999(unset.ask if unset is not None else pack.ask_first).rstrip(".")
        return text(
            "purpose_not_set", label=label, not_set=_sentence(_without_999(not_set)), ask=ask
        )
    reach = [x for x in (item.number, contact.email) if x]
    name = _without_999(contact.name)
    if reach:
        return text("contact_number", label=label, name=name, number=" / ".join(reach))
    why = _without_999(contact.not_set or f"Ask {pack.ask_first}.")
    return text("contact_not_set", label=label, name=name, not_set=_sentence(why))


def numbers_lines(pack, when: datetime | None = None) -> str:  # noqa: ANN001
    """The Safeguarding Lead now (and out of hours the out-of-hours line), then the source."""

    moment = clock.parse_local(when.isoformat()) if when is not None else clock.now()
    lead = route(pack, "safeguarding_lead", moment)[0]
    lines = [contact_line(pack, lead, text("lead_label"))]
    sources = [lead.source]
    if is_working_time(pack, moment) is not True:
        ooh = route(pack, "out_of_hours_social_care", moment)[0]
        same = (
            ooh.contact is not None
            and lead.contact is not None
            and ooh.contact.id == lead.contact.id
        )
        if not same:
            label = text("out_of_hours_label", time_context=time_context(pack, moment))
            lines.append(contact_line(pack, ooh, label))
            sources.append(ooh.source)
    emergency = pack.contacts_for("emergency")
    if emergency:
        sources.insert(0, emergency[0].source)
    lines.append(cite(pack, sources))
    return "\n".join(lines)


def numbers(pack=None, when: datetime | None = None) -> str:  # noqa: ANN001
    """`numbers_lines` for the deployment's pack; never raises (a broken pack still leaves
    the worker told to go to their Safeguarding Lead)."""
    try:

        return numbers_lines(pack or load_pack(), when)
    except Exception as exc:  # noqa: BLE001 - the fallback itself must not fail
        logger.error("emergency numbers unavailable: %s", type(exc).__name__)
        return _no_numbers()


def _no_numbers() -> str:
    try:
        return text("no_numbers")
    except Exception:  # noqa: BLE001 - even the replies file is broken
        return "Then tell your Safeguarding Lead straight away, in person or by phone."


# -- danger ---------------------------------------------------------------------------------

# Said even when the replies file cannot be read.
_CALL_999 = "🚨 If a child is in danger right now, call 999 now. Do not wait for me."
_DANGER_LINE = "If a child is in danger right now, call 999."


def _never_fails(template: str, fallback: str) -> str:
    """A 999 template, or its built-in words if the replies file cannot be read: the one
    line that must reach the worker whatever else is broken."""
    try:
        return text(template)
    except Exception as exc:  # noqa: BLE001
        logger.error("replies unavailable: %s", type(exc).__name__)
        return fallback


def call_999() -> str:
    """The first line of every danger reply (the same words as utter_call_999)."""
    return _never_fails("call_999", _CALL_999)


def danger_line() -> str:
    """999, once, for a reply that is not a danger reply (a failure, a refusal)."""
    return _never_fails("danger_line", _DANGER_LINE)


def paged_head(outcome) -> str:  # noqa: ANN001
    """What happened to the alarm, in one paragraph, without 999 or the numbers.

    `outcome` (a bot.paging.reporting.Outcome) None means another process is still raising it."""
    if outcome is None:
        return text("pending")
    if getattr(outcome, "spooled", False):
        note = f" (reference {outcome.reference})" if outcome.reference else ""
        return text("spooled", reference_note=note)
    if not outcome.saved:
        problem = outcome.problems[0] if outcome.problems else "unknown error"
        return text("not_saved", problem=problem)
    who = ", ".join(outcome.paged)
    if getattr(outcome, "extended", False):
        if who:
            return text("extended", reference=outcome.reference, who=who)
        return text("extended_lead", reference=outcome.reference)
    if not who:
        return text("nobody_on_call", reference=outcome.reference)
    head = text("paged", who=who, reference=outcome.reference)
    if outcome.first_wait_minutes:
        head += " " + text("paged_wait", minutes=f"{outcome.first_wait_minutes:g}")
    return head


def alarm_body(outcome, pack=None, when: datetime | None = None) -> str:  # noqa: ANN001
    """Everything after the 999 line: who was paged (or why nobody was), then the numbers."""
    fallback = numbers(pack, when)
    try:
        head = paged_head(outcome)
    except Exception as exc:  # noqa: BLE001 - never lose the numbers
        logger.error("alarm reply failed: %s", type(exc).__name__)
        return f"{_ALARM_ERROR}\n\n{fallback}"
    paged = outcome is not None and outcome.saved and not getattr(outcome, "spooled", False)
    if paged and (outcome.paged or getattr(outcome, "extended", False)):
        return f"{head}\n\n{text('numbers_head')}\n{fallback}"
    return f"{head}\n\n{fallback}"


_ALARM_ERROR = (
    "I could NOT page the Safeguarding Lead (an error on my side). Phone them yourself now."
)


def alarm_error(pack=None) -> str:  # noqa: ANN001
    """The alarm could not be raised at all (after 999 was said): phone, and the numbers."""
    try:
        head = text("alarm_error")
    except Exception:  # noqa: BLE001
        head = _ALARM_ERROR
    return f"{head}\n\n{numbers(pack)}"


def danger_reply(outcome, pack=None, when: datetime | None = None) -> str:  # noqa: ANN001
    """A whole danger reply in one message: 999, who was paged, the numbers."""
    return f"{call_999()}\n{alarm_body(outcome, pack, when)}"


# -- failure ----------------------------------------------------------------------------------


def failure(slow: bool = False, pack=None, said_999: bool = False) -> str:  # noqa: ANN001
    """A message that could not be handled: what happened, 999 once, the numbers.

    `said_999`: an earlier message of the same reply said 999 already (the 999 line sent
    first by a channel that failed): the numbers follow without saying it again."""
    try:
        head = text("slow" if slow else "failed")
    except Exception:  # noqa: BLE001
        head = "I could not do that just now."
    if said_999:
        return f"{head}\n\n{numbers(pack)}"
    return f"{head}\n\n{danger_line()}\n{numbers(pack)}"


# Lines of other messages that only repeat the 999 line (a menu's or a fallback's "If a child
# is in danger right now, call 999."), dropped from a reply that says 999 first already.
_REPEATED_999 = re.compile(
    r"^\W*(?:if a child is )?in danger right now\W*call 999(?: first| now)?\.?\s*$",
    re.IGNORECASE,
)


# The same said inside a line ("Here's what I can do. If a child is in danger right now, call
# 999.").
_SENTENCE_999 = re.compile(r"\s*\bIf [^.?!\n]*\bin danger\b[^.?!\n]*\bcall 999\b[^.?!\n]*[.!]")


def without_repeated_999(message: str) -> str:
    """`message` without the lines or sentences that only say 'If a child is in danger right
    now, call 999' (for a reply whose first line said 999 already)."""
    kept = []
    for line in message.split("\n"):
        if _REPEATED_999.match(line.strip()):
            continue
        shorter = _SENTENCE_999.sub("", line).rstrip()
        if line.strip() and not shorter.strip():
            continue
        kept.append(shorter)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def plain_error(pack=None) -> str:  # noqa: ANN001
    """Something went wrong in an action (not a danger turn): 999 once, the numbers."""
    try:
        head = text("plain_error")
    except Exception:  # noqa: BLE001
        head = "Sorry, something went wrong on my side and I could not do that."
    return f"{head} {danger_line()}\n\n{numbers(pack)}"


def late_header() -> str:
    return text("late_header")


def unavailable(pack=None, danger: bool = False, outcome=None, alarm_failed=False) -> str:  # noqa: ANN001
    """The Telegram fallback when the Rasa server is down: 999 first; for danger, who was
    paged (or that nobody could be) and the numbers; otherwise the numbers and 'try again'."""
    if danger:
        if alarm_failed:
            return f"{call_999()}\n{alarm_error(pack)}"
        return danger_reply(outcome, pack)
    try:
        note = text("unavailable")
    except Exception:  # noqa: BLE001
        note = "The safeguarding assistant is not reachable right now."
    return f"{call_999()}\n{numbers(pack)}\n\n{note}"


def too_long(length: int, pack=None, danger: bool = False) -> str:  # noqa: ANN001
    """The refusal of a message over the limit. With `danger` (999 and the alarm follow in
    the same reply) it is the refusal alone, so 999 and the numbers are said once."""
    head = text("too_long", length=f"{length:,}", limit=f"{MAX_MESSAGE_CHARS:,}")
    if danger:
        return head
    return f"{head}\n\n{danger_line()}\n{numbers(pack)}"


def too_fast(pack=None) -> str:  # noqa: ANN001
    """The plain line for a sender over the rate limit, with 999 and the numbers (a danger
    message is never held back by the limit: it is answered by the danger reply)."""
    return f"{text('too_fast')}\n\n{danger_line()}\n{numbers(pack)}"


# -- a disclosure record ----------------------------------------------------------------------


def record_not_saved(problem: str, pack=None) -> str:  # noqa: ANN001
    return f"{text('record_not_saved', problem=problem)}\n\n{numbers(pack)}"


def record_spooled(urgency: str, on_call: list[str], pack=None) -> str:  # noqa: ANN001
    """The database is down: the record is kept on this server; nobody was paged. An
    immediate record (danger now) puts 999 first."""
    lines = [text("record_spooled"), text("record_nobody_paged")]
    if on_call:
        lines.append(text("record_on_call", who=", ".join(on_call)))
    if urgency == "immediate":
        return "\n\n".join([f"{call_999()}\n{numbers(pack)}", *lines])
    return "\n\n".join([*lines, f"{danger_line()}\n{numbers(pack)}"])


def record_still_saving() -> str:
    return text("record_still_saving")
