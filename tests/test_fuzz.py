"""Bad input, tried for real: property-based tests over the language checker, the danger
detector (plain and as the Rasa component), the pack and roster loaders, and every custom
action, with random Unicode, control characters, NUL, 100 KB messages, emoji, right-to-left
text and bidi controls, SQL and template injection, lone surrogates and malformed YAML.

Properties: no exception escapes; what the worker sees is plain text without a traceback;
nothing is lost (what was given is stored verbatim, or refused with a message).
Example counts are modest and derandomized here; `scripts/fuzz.py` runs them long.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.core import language, triage
from bot.core.datafile import DataFileError
from tests.conftest import ROOT
from tests.fuzz_strategies import (
    DANGER,
    fuzz,
    hostile_text,
    intent_names,
    junk_without_words,
)
from tests.fuzz_strategies import slots as fuzz_slots

TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "Error:", "Exception:")


def _storable(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def plain(text: Any) -> bool:
    return isinstance(text, str) and not any(mark in text for mark in TRACEBACK_MARKS)


# -- the language checker ---------------------------------------------------------------------


@fuzz(40)
@given(text=hostile_text())
def test_language_check_never_raises_and_points_into_the_text(text: str) -> None:
    findings = language.check(text)
    for finding in findings:
        assert 0 <= finding.start <= finding.end <= len(text)
        assert finding.text == text[finding.start : finding.end]
        assert finding.line >= 1 and finding.col >= 1
    shown = language.format_for_chat(findings)
    assert plain(shown)


@fuzz(25)
@given(prefix=hostile_text(), suffix=hostile_text())
def test_flagged_wording_is_still_flagged_among_hostile_text(prefix: str, suffix: str) -> None:
    """A sentence of its own that needs rewording is found whatever surrounds it."""
    sentence = "She is promiscuous."
    text = f"{prefix}\n\n{sentence}\n\n{suffix}"
    offset = len(prefix) + 2
    assume(offset + len(sentence) <= language.MAX_CHARS)
    found = [f for f in language.check(text) if offset <= f.start and f.end <= offset + 19]
    assert [f.rule for f in found] == ["promiscuous"]


# -- the danger detector ------------------------------------------------------------------------


@fuzz(40)
@given(text=hostile_text())
def test_triage_never_raises_and_is_deterministic(text: str) -> None:
    first = triage.assess(text)
    assert first.urgency in triage.URGENCIES
    assert triage.assess(text).urgency == first.urgency


@fuzz(40)
@given(danger=st.sampled_from(DANGER), before=junk_without_words(), after=junk_without_words())
def test_danger_wrapped_in_wordless_noise_is_still_immediate(
    danger: str, before: str, after: str
) -> None:
    """Emoji, punctuation, bidi and invisible characters around a message never hide danger."""
    assert triage.assess(f"{before} {danger} {after}").urgency == "immediate"


@fuzz(25)
@given(text=hostile_text(), intent=st.sampled_from(["greet", "report_danger", "nlu_fallback"]))
def test_the_intent_floor_component_never_raises(text: str, intent: str) -> None:
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa.intent_floor import TRIAGE_KEY, IntentFloor

    message = Message(
        data={
            TEXT: text,
            INTENT: {"name": intent, "confidence": 0.5},
            INTENT_RANKING_KEY: [{"name": intent, "confidence": 0.5}],
        }
    )
    [out] = IntentFloor().process([message])
    result = out.get(TRIAGE_KEY)
    assert result["urgency"] in triage.URGENCIES
    if triage.assess(text).urgency == "immediate":
        assert out.get(INTENT)["name"] == "report_danger"


# -- the pack and roster loaders ---------------------------------------------------------------

PACK = (ROOT / "packs" / "crasac.yml").read_text(encoding="utf-8")
ROSTER = (ROOT / "deploy" / "roster.example.yml").read_text(encoding="utf-8")

YAML_BREAKERS = [
    "\t",
    ": :",
    "- ",
    "&a",
    "*nope",
    "!!python/object/apply:os.system ['true']",
    "!!binary AAAA",
    "<<: *x",
    "? [1, 2]",
    "'",
    '"',
    "{",
    "[",
    "%YAML 9.9",
    "---",
    "...",
    "\x00",
    "\x1b",
    "\ufeff",
    "1" * 5000,
    "[" * 3000,
    "{a: " * 2000,
    "~",
    "@",
    "`",
    "|",
    ">",
]


@st.composite
def mangled(draw: st.DrawFn, original: str) -> str:
    """A real data file, damaged the ways files get damaged."""
    lines = original.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        how = draw(st.sampled_from(["cut", "drop", "insert", "replace", "indent", "swap"]))
        if not lines:
            break
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        if how == "cut":
            lines = lines[:at]
        elif how == "drop":
            del lines[at]
        elif how == "insert":
            lines.insert(at, draw(st.sampled_from(YAML_BREAKERS) | hostile_text()))
        elif how == "replace":
            key = lines[at].split(":")[0]
            lines[at] = f"{key}: {draw(st.sampled_from(YAML_BREAKERS) | hostile_text())}"
        elif how == "indent":
            lines[at] = " " * draw(st.integers(min_value=1, max_value=7)) + lines[at]
        else:
            other = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))


def _one_line_naming(message: str, path: Path) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert path.name in message


@fuzz(40)
@given(text=st.one_of(mangled(PACK), hostile_text(), st.sampled_from(YAML_BREAKERS)))
def test_a_damaged_pack_is_a_one_line_error_naming_the_file(text: str, tmp_path: Path) -> None:
    from bot.core.pack import load_pack_file

    path = tmp_path / "crasac.yml"
    _write(path, text)
    try:
        load_pack_file(path)
    except DataFileError as exc:
        _one_line_naming(str(exc), path)


@fuzz(40)
@given(text=st.one_of(mangled(ROSTER), hostile_text(), st.sampled_from(YAML_BREAKERS)))
def test_a_damaged_roster_is_a_one_line_error_naming_the_file(text: str, tmp_path: Path) -> None:
    from bot.core.rota import load_roster

    path = tmp_path / "roster.yml"
    _write(path, text)
    try:
        load_roster(path)
    except DataFileError as exc:
        _one_line_naming(str(exc), path)


@pytest.mark.parametrize(
    "text",
    [
        "org: " + "[" * 5000 + "]" * 5000,
        "org: " + "{a: " * 3000 + "1" + "}" * 3000,
        "org: 1" + "0" * 5000,
        "org: gen\x00eric",
        b"\xff\xfe\x00o\x00r\x00g".decode("latin-1"),
    ],
    ids=["deep-list", "deep-map", "huge-int", "nul", "utf16-bom"],
)
@pytest.mark.parametrize("loader", ["pack", "roster"])
def test_files_that_used_to_escape_as_other_exceptions(
    tmp_path: Path, text: str, loader: str
) -> None:
    """Found by this fuzzing: nesting deeper than the parser's recursion (RecursionError) and
    an integer too long to convert (ValueError) escaped the loaders' one-line errors."""
    from bot.core.pack import load_pack_file
    from bot.core.rota import load_roster

    path = tmp_path / "crasac.yml"
    _write(path, text)
    with pytest.raises(DataFileError) as info:
        (load_pack_file if loader == "pack" else load_roster)(path)
    _one_line_naming(str(info.value), path)
    assert "::" not in str(info.value)


# -- every custom action --------------------------------------------------------------------------


def all_actions() -> list[Any]:
    """Every concrete custom action the action server would register."""
    from rasa_sdk import Action

    import actions

    found = {}
    for module_name in ("answers", "danger", "disclosure_form", "leads", "notes"):
        module = __import__(f"{actions.__name__}.{module_name}", fromlist=["x"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__:
                if inspect.isabstract(cls):
                    continue
                instance = cls()
                try:
                    name = instance.name()
                except Exception:  # noqa: BLE001 - an abstract helper
                    continue
                if name:
                    found[name] = instance
    return [found[name] for name in sorted(found)]


ACTIONS = all_actions()


def test_every_action_in_the_domain_is_fuzzed() -> None:
    from tests.fuzz_strategies import domain

    declared = {a for a in domain().get("actions") or [] if a.startswith(("action_", "validate_"))}
    assert declared <= {a.name() for a in ACTIONS}


@pytest.fixture
def own_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T14:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    return tmp_path


def tracker_for(text: str, slots: dict[str, Any], sender: str, intent: str, loop: str | None):
    from rasa_sdk import Tracker

    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
                "triage": {"urgency": "routine"},
            },
            "events": [{"event": "user", "text": text, "parse_data": {}}],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": loop} if loop else {},
            "latest_action_name": "action_listen",
        }
    )


def run_action(action: Any, tracker: Any, domain: dict[str, Any]) -> tuple[list, list]:
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    return dispatcher.messages, events


def run_save(tracker: Any) -> list:
    """The form's save as the worker confirms (actions/disclosure_form.save_record)."""
    from rasa_sdk.executor import CollectingDispatcher

    from actions import disclosure_form

    dispatcher = CollectingDispatcher()
    asyncio.run(disclosure_form.save_record(dispatcher, tracker))
    return dispatcher.messages


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name())
@fuzz(10)
@given(
    text=hostile_text(),
    slots=fuzz_slots(),
    # Lone surrogates in a sender id: see test_a_sender_id_with_a_lone_surrogate_is_not_lost.
    sender=st.one_of(st.sampled_from(["worker-1", "alex", ""]), hostile_text().map(_storable)),
    intent=st.sampled_from(intent_names()),
    in_form=st.booleans(),
)
def test_every_action_survives_hostile_trackers(
    own_db: Path,  # noqa: ARG001
    action: Any,
    text: str,
    slots: dict[str, Any],
    sender: str,
    intent: str,
    in_form: bool,
) -> None:
    from tests.fuzz_strategies import domain

    if in_form:
        slots.setdefault("requested_slot", "child_words")
    tracker = tracker_for(text, slots, sender, intent, "disclosure_form" if in_form else None)
    messages, events = run_action(action, tracker, domain())
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, dict) and "event" in event
    for message in messages:
        assert plain(message.get("text") or "")
        assert message.get("text") or message.get("response") or message.get("buttons")


def test_a_sender_id_with_a_lone_surrogate_is_not_lost(own_db: Path) -> None:  # noqa: ARG001
    from actions import danger
    from bot.records.concern_log import ConcernLog
    from tests.fuzz_strategies import domain

    tracker = tracker_for("he has a knife now", {}, "worker-\ud800", "report_danger", None)
    messages, _ = run_action(danger.RaiseAlarm(), tracker, domain())
    # 999 itself is the domain response said before this action; the action pages.
    assert "I have paged" in messages[0]["text"]
    assert len(ConcernLog().list()) == 1


NARRATIVE = [
    "child_identity",
    "child_words",
    "observations",
    "when_where",
    "others_involved",
    "actions_taken",
    "worker_view",
]


@fuzz(20)
@given(field=st.sampled_from(NARRATIVE), value=hostile_text())
def test_a_form_answer_is_kept_verbatim_or_refused_with_a_message(
    own_db: Path,  # noqa: ARG001
    field: str,
    value: str,
) -> None:
    """Nothing lost: the slot gets the answer as typed (outer whitespace and unprintable
    control characters aside), or the slot stays empty and the worker is told why."""
    from actions import disclosure_form
    from bot.core import disclosure
    from tests.fuzz_strategies import domain

    tracker = tracker_for(
        value,
        {"requested_slot": field, field: value},
        "worker-1",
        "inform",
        "disclosure_form",
    )
    tracker.events.append({"event": "slot", "name": field, "value": value})
    messages, events = run_action(disclosure_form.ValidateDisclosureForm(), tracker, domain())
    kept = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == field]
    assert kept, "the validator decided about the answer"
    cleaned = disclosure.clean_answer(value)
    if kept[-1] is not None:
        assert kept[-1] == cleaned
        assert _only_invisible_changes(value, kept[-1])
    elif cleaned and cleaned != disclosure_form.KEEP_PAYLOAD:
        assert messages, "an answer that is not kept is refused with a message"


def _only_invisible_changes(given: str, kept: str) -> bool:
    """What the form keeps differs from what was typed only by characters nobody can see or
    store: outer whitespace, C0/C1 controls (except newline and tab), lone surrogates and
    the bidi embedding/override/isolate controls."""
    from bot.core import disclosure

    dropped = set(given) - set(kept)
    return all(disclosure.invisible(ch) or ch.isspace() for ch in dropped)


@fuzz(15)
@given(values=st.fixed_dictionaries({name: hostile_text() for name in NARRATIVE}))
def test_a_saved_concern_holds_every_answer_verbatim(
    own_db: Path,  # noqa: ARG001
    values: dict[str, str],
) -> None:
    """Submitting the form: every field is stored exactly as the form holds it (its cleaned
    answer), or the record is kept in the local spool, or nothing is saved and the worker is
    told so plainly."""
    from bot.core import disclosure
    from bot.records.concern_log import ConcernLog

    slots = {
        **values,
        "danger_now": False,
        "disclosure_timing": "after",
        "child_age": "14",
        "categories": ["physical"],
        "confirm_record": True,
        "language_choices": [],
    }
    # Each example its own conversation: a second record in one conversation is added to
    # that conversation's concern (one incident, one concern), checked elsewhere.
    sender = f"worker-{uuid.uuid4().hex[:8]}"
    tracker = tracker_for("/affirm", slots, sender, "affirm", "disclosure_form")
    messages = run_save(tracker)
    said = "\n".join(m.get("text") or "" for m in messages)
    saved = re.search(r"Saved\. Your reference is (SG-[A-Z0-9]{4}-[A-Z0-9]{4})\.", said)
    if saved is None:  # spooled, or refused: the worker is told plainly, with the numbers
        assert "could not save" in said.lower() or "kept this record safely" in said
        assert plain(said)
        return
    # The same record saved again (e.g. after a lost reply) is found, never made twice.
    [concern] = [c for c in ConcernLog().list() if c.reference == saved.group(1)]
    stored_as = {"child_identity": "child", "when_where": "happened_when"}
    for name in NARRATIVE:
        expected = disclosure.clean_answer(values[name])
        if name == "child_identity":
            expected = expected or disclosure.SKIPPED
        assert getattr(concern, stored_as.get(name, name)) == expected, name
