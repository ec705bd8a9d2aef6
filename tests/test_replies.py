"""bot.core.replies: the replies a worker reads at the worst moment, for every pack, in office
hours and late in the evening. 999 once and first; who was paged; the numbers as
label/value lines; the deployment's own policy by its name, never a seed file name."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot import ROOT
from bot.core import policy_answers, replies
from bot.core.datafile import DataFileError
from bot.core.pack import available_orgs, load_pack
from bot.paging.reporting import Outcome

LONDON = ZoneInfo("Europe/London")
OFFICE = datetime(2026, 11, 24, 11, 0, tzinfo=LONDON)  # a Tuesday morning
LATE = datetime(2026, 11, 24, 22, 30, tzinfo=LONDON)  # the same Tuesday, late evening
TIMES = {"office": OFFICE, "late": LATE}
ORGS = available_orgs()
ORGANISATIONS = [org for org in ORGS if org != "generic"]
SEED_FILE = re.compile(r"\d{3}_[0-9a-f]{8,}\.txt")
NINE_NINE_NINE = re.compile(r"(?<!\d)999(?!\d)")
# Every seed label, to check a deployment cites only its own.
LABELS = {label for org in ORGS for label in load_pack(org).seed_labels.values()}

REF = "SG-7KQ2-M4XP"
OUTCOMES = {
    "paged": Outcome(
        reference=REF, saved=True, paged=["Sam Lead (07700 900123)"], first_wait_minutes=5
    ),
    "paged_no_wait": Outcome(reference=REF, saved=True, paged=["Sam Lead", "Dee Deputy"]),
    "nobody_on_call": Outcome(reference=REF, saved=True),
    "pending": None,
    "not_saved": Outcome(problems=["database unreachable"]),
    "spooled": Outcome(reference=REF, spooled=True, problems=["database unreachable"]),
    "extended": Outcome(reference=REF, saved=True, paged=["Sam Lead"], extended=True),
    "extended_lead": Outcome(reference=REF, saved=True, extended=True),
}


def count_999(text: str) -> int:
    return len(NINE_NINE_NINE.findall(text))


def cited_labels(text: str) -> set[str]:
    return {label for label in LABELS if label in text}


def assert_readable(text: str, org: str) -> None:
    """No seed file name, no other organisation's policy, nothing unset mid-sentence."""
    assert not SEED_FILE.search(text), text
    if org != "generic":
        assert cited_labels(text) <= set(load_pack(org).seed_labels.values()), text
    assert "Number not set" not in text, text
    assert "Then tell" not in text or "Then tell your Safeguarding Lead" in text, text


# -- the data file ------------------------------------------------------------------------------


def test_the_replies_file_loads_with_every_template() -> None:
    loaded = replies.load_replies(ROOT / "knowledge" / "replies.yml")
    assert set(loaded) == set(replies.TEMPLATES)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"paged": "I have paged {who} about {child}."}, "unknown field {child}"),
        ({"paged": "I have paged {who}. Call 999."}, "only call_999 and danger_line may say 999"),
        ({"source": "Source: 002_d3f9acad92c1597f.txt"}, "seed file name"),
        ({"surprise": "Hello."}, "unknown templates: surprise"),
        ({"call_999": "Call your lead."}, "must say 999"),
    ],
)
def test_a_broken_replies_file_is_refused_in_one_line(
    tmp_path: Path, change: dict[str, str], problem: str
) -> None:
    data = yaml.safe_load((ROOT / "knowledge" / "replies.yml").read_text(encoding="utf-8"))
    data["replies"].update(change)
    path = tmp_path / "replies.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match=re.escape(problem)) as caught:
        replies.load_replies(path)
    assert "\n" not in str(caught.value)


def test_a_missing_template_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "knowledge" / "replies.yml").read_text(encoding="utf-8"))
    del data["replies"]["saved"]
    path = tmp_path / "replies.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match="missing templates: saved"):
        replies.load_replies(path)


def test_utter_call_999_is_the_same_one_line_as_the_renderer() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    (variation,) = domain["responses"]["utter_call_999"]
    assert variation["text"] == replies.call_999()
    assert "\n" not in variation["text"] and count_999(variation["text"]) == 1


# -- danger ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("when", sorted(TIMES))
@pytest.mark.parametrize("kind", sorted(OUTCOMES))
def test_a_danger_reply_says_999_once_first_then_who_then_the_numbers(
    org: str, when: str, kind: str
) -> None:
    pack = load_pack(org)
    text = replies.danger_reply(OUTCOMES[kind], pack, TIMES[when])
    lines = text.splitlines()
    assert count_999(text) == 1 and "999" in lines[0], text
    assert lines[0] == replies.call_999()
    assert lines[-1].startswith("Source: "), text
    assert len(lines) <= 9, text
    assert_readable(text, org)
    # The numbers: the Safeguarding Lead's line always, after what happened to the alarm.
    lead = next(n for n, line in enumerate(lines) if line.startswith("Safeguarding Lead: "))
    assert lead >= 2
    if kind in ("paged", "paged_no_wait"):
        assert lines[1].startswith("I have paged ") and f"(reference {REF})" in lines[1]


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("when", sorted(TIMES))
def test_the_alarm_body_never_repeats_999(org: str, when: str) -> None:
    """What follows utter_call_999 (the action's reply, or the fail-safe's) adds no 999."""
    for outcome in OUTCOMES.values():
        body = replies.alarm_body(outcome, load_pack(org), TIMES[when])
        assert count_999(body) == 0, body
    assert count_999(replies.alarm_error(load_pack(org))) == 0


def test_the_first_wait_is_said_with_who_was_paged() -> None:
    text = replies.danger_reply(OUTCOMES["paged"], load_pack("crasac"), OFFICE)
    assert text.splitlines()[1] == (
        f"I have paged Sam Lead (07700 900123) (reference {REF}). If nobody answers within 5 "
        "minutes I will page the next person, and keep going until someone does."
    )


def test_an_extended_concern_says_it_was_added_to_and_paged_again() -> None:
    text = replies.danger_reply(OUTCOMES["extended_lead"], load_pack("crasac"), OFFICE)
    lines = text.splitlines()
    assert count_999(lines[0]) == 1
    assert lines[1] == (
        f"Added to concern {REF}; the Safeguarding Lead is being paged again (immediate)."
    )
    named = replies.danger_reply(OUTCOMES["extended"], load_pack("crasac"), OFFICE)
    assert f"Added to concern {REF}; Sam Lead is being paged again (immediate)." in named


def test_the_childrens_society_late_evening_reply_reads_as_label_and_value() -> None:
    pack = load_pack("childrens-society")
    text = replies.danger_reply(OUTCOMES["paged"], pack, LATE)
    lead = next(line for line in text.splitlines() if line.startswith("Safeguarding Lead: "))
    assert lead.startswith(
        "Safeguarding Lead: The Children's Society emergency out of hours contact number "
        "(senior manager) — number not set in this deployment. Redacted in the published policy"
    )
    assert text.splitlines()[-1].startswith("Source: The Children's Society policy, s.3.")
    assert "s.3.11" in text.splitlines()[-1]


@pytest.mark.parametrize("org", ORGS)
def test_out_of_hours_numbers_appear_only_out_of_hours(org: str) -> None:
    pack = load_pack(org)
    late = replies.numbers_lines(pack, LATE)
    office = replies.numbers_lines(pack, OFFICE)
    assert late.splitlines()[0].startswith("Safeguarding Lead: ")
    if pack.office_hours.rule:  # office hours known: the out-of-hours line only at night
        assert "Out of hours" not in office
    for text in (late, office):
        assert count_999(text) == 0 and not SEED_FILE.search(text)


# -- failure, too long, the fallbacks --------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
def test_failure_and_refusal_replies_say_999_once(org: str) -> None:
    pack = load_pack(org)
    for text in (
        replies.failure(pack=pack),
        replies.failure(slow=True, pack=pack),
        replies.plain_error(pack),
        replies.too_long(9000, pack),
        replies.unavailable(pack),
        replies.record_not_saved("database unreachable", pack) + "\n" + replies.danger_line(),
    ):
        assert count_999(text) == 1, text
        assert_readable(text, org)
    # Inside a danger reply, the refusal leaves 999 and the numbers to the reply around it.
    assert count_999(replies.too_long(9000, pack, danger=True)) == 0


def test_the_fallback_for_danger_is_999_then_who_then_numbers() -> None:
    pack = load_pack("leics-seips")
    text = replies.unavailable(pack, danger=True, outcome=OUTCOMES["paged"])
    assert text.splitlines()[0] == replies.call_999() and count_999(text) == 1
    failed = replies.unavailable(pack, danger=True, alarm_failed=True)
    assert failed.splitlines()[0] == replies.call_999() and count_999(failed) == 1
    assert "could NOT page" in failed


def test_a_broken_pack_still_gives_the_lead() -> None:
    class Broken:
        seeds: list[str] = []

    assert replies.numbers(Broken()) == (
        "Then tell your Safeguarding Lead straight away, in person or by phone."
    )
    assert count_999(replies.failure(pack=Broken())) == 1


def test_the_safety_names_are_thin_calls_into_the_renderer() -> None:
    from bot.failsafe import fallback, safety

    pack = load_pack("crasac")
    assert safety.CALL_999_FIRST == replies.call_999() == fallback.DANGER_FIRST
    assert safety.failure_reply(pack=pack) == replies.failure(pack=pack)
    assert safety.alarm_message(OUTCOMES["paged"], pack) == replies.alarm_body(
        OUTCOMES["paged"], pack
    )
    assert safety.numbers(pack) == replies.numbers(pack)


def test_the_fail_safe_danger_turn_says_999_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rasa said utter_call_999 and its action server is down: the channel adds who was paged
    and the numbers, and 999 is said once in the whole turn."""
    from bot.failsafe.safety import SafetyNet, Turn

    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T22:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)

    async def rasa_said_999_only(turn: Turn) -> None:
        turn.replies.append({"recipient_id": turn.sender, "text": replies.call_999()})
        turn.intent = "report_danger"

    said = asyncio.run(
        SafetyNet(reply_within=5).respond("worker-1", "he has a knife", rasa_said_999_only)
    )
    text = "\n".join(m.get("text") or "" for m in said)
    assert said[0]["text"] == replies.call_999()
    assert count_999(text) == 1, text
    assert_readable(text, "childrens-society")
    assert len(text.splitlines()) <= 10, text


# -- a saved record ------------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("when", sorted(TIMES))
def test_the_saved_reply_cites_its_own_policy_by_name(org: str, when: str) -> None:
    pack = load_pack(org)
    outcome = Outcome(reference=REF, saved=True, paged=["Sam Lead"], first_wait_minutes=30)
    text = policy_answers.saved(outcome, ["sexual"], TIMES[when], pack)
    assert text.startswith(f"Saved. Your reference is {REF}.")
    assert "I have paged Sam Lead" in text
    assert_readable(text, org)


def test_a_record_added_to_the_conversations_concern_says_so() -> None:
    outcome = Outcome(reference=REF, saved=True, record_added=True)
    text = policy_answers.saved(outcome, [], OFFICE, load_pack("crasac"))
    assert text.startswith(
        f"Saved. Added to concern {REF} (the one raised earlier in this conversation)."
    )
    assert "Your reference is" not in text and "NOBODY IS ON CALL" not in text


@pytest.mark.parametrize("org", ORGS)
def test_a_spooled_record_says_999_once_and_first_when_immediate(org: str) -> None:
    pack = load_pack(org)
    urgent = replies.record_spooled("immediate", ["Sam Lead"], pack)
    assert urgent.splitlines()[0] == replies.call_999() and count_999(urgent) == 1
    routine = replies.record_spooled("urgent", [], pack)
    assert count_999(routine) == 1 and "NOBODY COULD BE PAGED" in routine
    assert_readable(urgent + routine, org)


# -- sources -------------------------------------------------------------------------------------


def test_sources_are_human_labels_with_sections() -> None:
    pack = load_pack("childrens-society")
    assert replies.cite(pack, ["002_d3f9acad92c1597f.txt, 3.11 Quick view procedure; 3.12 X"]) == (
        "Source: The Children's Society policy, s.3.11, s.3.12"
    )
    # Another organisation's seed is never cited by this deployment.
    assert replies.cite(pack, ["000_49172c100f0fd48e.txt, Immediate Harm"]) == (
        "Source: The Children's Society policy"
    )


def test_every_pack_labels_every_seed() -> None:
    for org in ORGS:
        pack = load_pack(org)
        assert set(pack.seed_labels) == set(pack.seeds), org


@pytest.mark.parametrize("org", ORGANISATIONS)
def test_each_domain_response_cites_only_the_deployments_own_policy(org: str) -> None:
    """What Rasa says for a deployment of one organisation: the variation conditioned on
    the organisation slot, else the neutral one (no source)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    own = set(load_pack(org).seed_labels.values())
    for name, variations in domain["responses"].items():
        chosen = [
            v
            for v in variations
            if any(c.get("value") == org for c in v.get("condition") or [])
        ] or [v for v in variations if not v.get("condition")]
        assert chosen, name
        for variation in chosen:
            text = variation.get("text") or ""
            assert not SEED_FILE.search(text), name
            assert cited_labels(text) <= own, (name, text)
            if "(Source:" in text:
                assert cited_labels(text), (name, text)


def test_the_generic_deployment_may_cite_every_policy() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    generic = [
        v["text"]
        for v in domain["responses"]["utter_new_worker_guidance"]
        if any(c.get("value") == "generic" for c in v.get("condition") or [])
    ]
    assert len(cited_labels(generic[0])) == 4


def test_a_single_organisation_explains_a_category_from_its_own_policy() -> None:
    from bot.core import categories

    fgm = categories.load_categories().get("fgm")
    text = categories.explain(fgm, pack=load_pack("chelmsford-chsg"))
    assert text.splitlines()[-1].startswith(
        "(Source: Chelmsford County High School for Girls policy"
    )
    assert "CRASAC" not in text.splitlines()[-1]
    assert "CRASAC policy" in categories.explain(fgm, pack=load_pack("generic"))


def test_a_danger_turn_drops_the_999_lines_rasas_other_messages_repeat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The danger floor caught a message Rasa answered with its menu (which says 999 too):
    999 first, once; the menu's own 999 line is dropped, its buttons kept."""
    from bot.failsafe.safety import SafetyNet, Turn

    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T22:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    menu = (
        "Sorry, I may have misunderstood.\n\nIf a child is in danger right now, call 999.\n"
        "Tell your Safeguarding Lead — ask me 'who do I call?' for the number."
    )

    async def rasa_showed_the_menu(turn: Turn) -> None:
        turn.replies.append(
            {"recipient_id": turn.sender, "text": menu, "buttons": [{"title": "Help"}]}
        )
        turn.intent = "nlu_fallback"

    said = asyncio.run(
        SafetyNet(reply_within=5).respond(
            "worker-1", "hes outside the centre with a knife now", rasa_showed_the_menu
        )
    )
    text = "\n".join(m.get("text") or "" for m in said)
    assert said[0]["text"] == replies.call_999()
    assert count_999(text) == 1, text
    assert any(m.get("buttons") for m in said)
    assert "Tell your Safeguarding Lead — ask me" in text


def test_the_999_line_then_a_failure_says_999_once() -> None:
    from bot.failsafe import safety

    first, then = safety.CALL_999_FIRST, safety.failure_reply(said_999=True)
    assert count_999(first + then) == 1
    assert count_999(safety.failure_reply()) == 1
