"""Every custom action, run as the action server runs it: tracker fixtures in, a
CollectingDispatcher and the exact events out (the financial-demo pattern)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, danger, disclosure_form, leads, notes
from bot.core import disclosure
from tests.conftest import ROOT

CANARY_NAME = "Canary Childname"
CANARY_WORDS = "he hurt me with the kettle canaryword"


@pytest.fixture(autouse=True)
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own concern log, key and pinned clock (a Tuesday afternoon)."""
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T14:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    return tmp_path


# Alex, a lead in the example roster, as the Telegram gateway names them (signed to Rasa).
ALEX = "telegram:910000101"


def make_tracker(
    text: str = "",
    slots: dict[str, Any] | None = None,
    sender: str = "worker-1",
    intent: str = "start_disclosure",
    events: list[dict] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": dict(slots or {}),
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
            },
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


def run(action, tracker: Tracker, domain: dict | None = None):  # noqa: ANN001, ANN201
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain or {}))
    return dispatcher.messages, events


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


# -- organisation answers ------------------------------------------------------------------


def test_contact_answer_comes_from_the_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "leics-seips")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-04T16:45")  # Friday, LADO closed at 16:30
    messages, events = run(answers.AnswerContact(), make_tracker("who's the LADO?"))
    assert events == []
    reply = texts(messages)
    assert "First Response" in reply
    assert "Source" in reply


@pytest.mark.parametrize(
    "action",
    [
        answers.AnswerTimescale(),
        answers.AnswerChildDefinition(),
        answers.AnswerTraining(),
        answers.AnswerAfterReport(),
        answers.FallbackContacts(),
    ],
)
def test_pack_answers_reply_once_with_a_source(action) -> None:  # noqa: ANN001
    messages, events = run(action, make_tracker("how long do I have?"))
    assert events == []
    assert len(messages) == 1
    assert "Source" in messages[0]["text"]


def test_a_broken_pack_gives_a_plain_message_with_999(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "no-such-org")
    messages, events = run(answers.AnswerContact(), make_tracker("who do i call"))
    assert events == []
    assert "999" in texts(messages)
    assert "Traceback" not in texts(messages)


# -- the questions staff ask (issue #17): an answer from the pack, never an alarm ------------

QUESTION_ACTIONS = [
    answers.AnswerHowToReport(),
    answers.AnswerAllegation(),
    answers.AnswerWhyChildrenDontTell(),
    answers.AnswerInformationSharing(),
    answers.AnswerRetention(),
    answers.AnswerWhatIsEmergency(),
    answers.AnswerFgmDuty(),
    answers.AnswerPrevent(),
    answers.AnswerOnlineSafety(),
    answers.AnswerAfterReport(),
]
POLICY_LABELS = {
    "crasac": "CRASAC policy",
    "childrens-society": "The Children's Society policy",
    "leics-seips": "Leicestershire SEIPS policy template",
    "chelmsford-chsg": "Chelmsford County High School for Girls policy",
}


@pytest.mark.parametrize("org", sorted(POLICY_LABELS))
@pytest.mark.parametrize("action", QUESTION_ACTIONS, ids=lambda a: a.name())
def test_question_answers_come_from_each_organisations_pack(
    org: str,
    action,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
    fresh_db: Path,
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", org)
    messages, events = run(action, make_tracker("what counts as an emergency?", intent="x"))
    assert events == []  # no slot, no form, no alarm
    assert len(messages) == 1
    reply = messages[0]["text"]
    assert reply.splitlines()[-1].startswith(f"Source: {POLICY_LABELS[org]}")
    assert ".txt" not in reply
    # An answer, never the danger reply; nothing is written and nobody is paged.
    assert "\U0001f6a8" not in reply and "I have paged" not in reply
    assert not (fresh_db / "concerns.sqlite3").exists()


def test_what_counts_as_an_emergency_is_explained_not_raised(
    monkeypatch: pytest.MonkeyPatch, fresh_db: Path
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    messages, events = run(
        answers.AnswerWhatIsEmergency(), make_tracker("when do I call 999?", intent="x")
    )
    reply = texts(messages)
    assert reply.startswith("What counts as an emergency:")
    assert "999" in reply  # the number to call in an emergency, explained
    assert events == [] and not (fresh_db / "concerns.sqlite3").exists()


def test_a_policy_that_is_silent_says_not_set_and_who_to_ask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    reply = texts(run(answers.AnswerFgmDuty(), make_tracker("what's the fgm duty?"))[0])
    assert reply.startswith("The FGM reporting duty: not set in your policy.")
    assert "Ask your line manager or the safeguarding team." in reply
    monkeypatch.setenv("SAFEGUARD_ORG", "generic")
    reply = texts(run(answers.AnswerPrevent(), make_tracker("what is prevent?"))[0])
    assert "not set in your policy" in reply and "Ask your Safeguarding Lead / DSL." in reply


@pytest.mark.parametrize(
    ("question", "first_line"),
    [
        ("can I stay anonymous if I report?", "Who is told that you raised the concern:"),
        ("will the family know it was me?", "Who is told that you raised the concern:"),
        ("what if I'm wrong?", "If you are not sure, or worry you might be wrong:"),
        ("I don't have all the facts", "If you are not sure, or worry you might be wrong:"),
        ("what happens next?", "After you report:"),
    ],
)
def test_after_report_answers_what_was_asked(question: str, first_line: str) -> None:
    reply = texts(run(answers.AnswerAfterReport(), make_tracker(question))[0])
    assert reply.splitlines()[0] == first_line
    assert reply.splitlines()[-1].startswith("Source: CRASAC policy")


def test_explain_category_and_menu() -> None:
    messages, _ = run(answers.ExplainCategory(), make_tracker("what are the signs of county lines"))
    assert "Source" in texts(messages)
    messages, _ = run(answers.ExplainCategory(), make_tracker("signs"))
    assert messages == [{**messages[0], "response": "utter_ask_abuse_category"}]


# -- danger ------------------------------------------------------------------------------------


def test_alarm_records_an_immediate_concern_and_pages_without_child_data() -> None:
    from bot.paging import pager
    from bot.records.concern_log import ConcernLog
    from bot.records.db import make_engine

    messages, events = run(danger.RaiseAlarm(), make_tracker("hes outside with a knife"))
    assert events == []
    reply = texts(messages)
    assert "I have paged" in reply and "(reference SG-" in reply
    concerns = ConcernLog().list()
    assert [c.urgency for c in concerns] == ["immediate"]
    rows = pager.page_rows(make_engine())
    assert rows and rows[0]["concern_ref"] == concerns[0].reference
    assert "knife" not in str(rows)


def test_alarm_with_the_database_down_still_gives_numbers(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    messages, events = run(danger.RaiseAlarm(), make_tracker("emergency"))
    assert events == []
    reply = texts(messages)
    # Kept in the local spool (bot/records/spool.py) until the database is back; nobody paged yet.
    assert "kept safely on this server" in reply
    assert "Phone your Safeguarding Lead now" in reply


def test_alarm_with_the_database_and_the_spool_down_still_gives_numbers(
    monkeypatch, tmp_path
) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    (tmp_path / "spool").write_text("a file where the spool directory should be")
    messages, events = run(danger.RaiseAlarm(), make_tracker("emergency"))
    assert events == []
    reply = texts(messages)
    assert "could NOT page" in reply
    assert "Phone them yourself now" in reply


# -- the disclosure form -----------------------------------------------------------------------


def validate(
    slot: str, value: Any, slots: dict[str, Any] | None = None, intent: str = "nlu_fallback"
):  # noqa: ANN201
    form = disclosure_form.ValidateDisclosureForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        str(value), slots={"requested_slot": slot, **(slots or {})}, intent=intent
    )
    result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, tracker, {}))
    return result, dispatcher.messages


def test_danger_answer_yes_says_999_first_then_pages() -> None:
    result, messages = validate("danger_now", True)
    assert result == {"danger_now": True}
    assert (
        messages[0]
        == {
            "text": None,
            "buttons": [],
            "elements": [],
            "custom": {},
            "template": "utter_call_999",
            "response": "utter_call_999",
            "image": None,
            "attachment": None,
        }
        or messages[0].get("response") == "utter_call_999"
    )
    assert "I have paged" in texts(messages[1:])


def test_danger_answer_no_asks_nothing_more() -> None:
    assert validate("danger_now", False) == ({"danger_now": False}, [])


@pytest.mark.parametrize(
    ("answer", "timing", "response"),
    [
        ("The child is with me now", "during", "utter_guidance_during"),
        ("The session has ended", "after", "utter_guidance_after"),
    ],
)
def test_timing_shows_the_guidance_for_the_moment(answer, timing, response) -> None:  # noqa: ANN001
    result, messages = validate("disclosure_timing", answer)
    assert result == {"disclosure_timing": timing, "timing_answer": answer}
    assert messages[0]["response"] == response


def test_unclear_timing_is_kept_and_both_guidances_given_never_asked_twice() -> None:
    """An answer is never lost (issue 14): what the worker typed is kept for the record,
    and when it does not say whether the child is still there, both guidances are given."""
    result, messages = validate("disclosure_timing", "banana")
    assert result == {"disclosure_timing": "unclear", "timing_answer": "banana"}
    assert [m["response"] for m in messages] == ["utter_guidance_during", "utter_guidance_after"]


def test_child_words_are_kept_verbatim_and_never_language_checked() -> None:
    words = "  she said he's her boyfriend and she's putting herself at risk, innit  "
    result, messages = validate("child_words", words)
    assert result["child_words"] == words.strip()
    assert messages == []


def test_victim_blaming_wording_is_flagged_then_kept_on_request() -> None:
    text = "She keeps putting herself at risk."
    result, messages = validate("observations", text)
    assert result == {
        "observations": None,
        "language_review": "observations",
        "language_pending": {"text": text, "rules": result["language_pending"]["rules"]},
    }
    assert result["language_pending"]["rules"]
    assert "consider" in texts(messages).lower()
    pending = result["language_pending"]
    kept, messages = validate(
        "observations",
        "/keep_wording",
        slots={"language_review": "observations", "language_pending": pending},
        intent="keep_wording",
    )
    assert kept == {
        "observations": text,
        "language_review": None,
        "language_pending": None,
        "language_choices": [
            {"field": "observations", "choice": "kept", "rules": pending["rules"]}
        ],
    }
    assert messages == []


def test_keep_in_a_few_words_keeps_but_a_new_sentence_with_keep_is_checked() -> None:
    pending = {"text": "She keeps putting herself at risk.", "rules": ["x"]}
    slots = {"language_review": "observations", "language_pending": pending}
    kept, _ = validate("observations", "keep it as it is", slots, intent="keep_wording")
    assert kept["observations"] == pending["text"]
    # A clean new sentence that says "keep" (issue #19 made "keeps going missing" a term).
    new = "She keeps asking about the men; adults may be exploiting her."
    result, _ = validate("observations", new, slots, intent="keep_wording")
    assert result["observations"] == new
    assert result["language_choices"][0]["choice"] == "rephrased"


def test_keep_without_a_pending_check_is_not_recorded_as_an_answer() -> None:
    result, _ = validate("observations", "/keep_wording", intent="keep_wording")
    assert result["observations"] is None


def test_rephrased_wording_is_recorded_as_rephrased() -> None:
    pending = {"text": "She keeps putting herself at risk.", "rules": ["x"]}
    result, messages = validate(
        "observations",
        "Adults may be exploiting her vulnerability.",
        slots={"language_review": "observations", "language_pending": pending},
    )
    assert result["observations"] == "Adults may be exploiting her vulnerability."
    assert result["language_choices"] == [
        {"field": "observations", "choice": "rephrased", "rules": ["x"]}
    ]
    assert messages == []


def test_a_huge_answer_is_refused_plainly() -> None:
    result, messages = validate("when_where", "x" * (disclosure.MAX_FIELD_CHARS + 1))
    assert result == {"when_where": None}
    assert "too long" in texts(messages)


def test_categories_accept_the_suggestion_or_take_the_workers_choice() -> None:
    result, _ = validate("categories", ["__accept__"], {"suggested_categories": ["sexual"]})
    assert result == {"categories": ["sexual"]}
    result, _ = validate("categories", "fgm")
    assert result == {"categories": ["fgm"]}
    result, _ = validate("categories", "it's about a volunteer at the club")
    assert "staff_allegation" in result["categories"]


def test_confirm_no_offers_what_to_change() -> None:
    result, messages = validate("confirm_record", False)
    assert result == {"confirm_record": None}
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert '/correct_answer{"correct_field":"child_age"}' in payloads


def test_form_validation_run_returns_exact_events() -> None:
    """The whole FormValidationAction as Rasa calls it, for one answer."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    tracker = make_tracker(
        "14",
        slots={"requested_slot": "child_age", "child_age": "14"},
        events=[
            {"event": "user", "text": "14", "parse_data": {}},
            {"event": "slot", "name": "child_age", "value": "14"},
        ],
        active_loop="disclosure_form",
    )
    messages, events = run(disclosure_form.ValidateDisclosureForm(), tracker, domain)
    assert SlotSet("child_age", "14") in events


def full_answers() -> dict[str, Any]:
    return {
        "danger_now": False,
        "disclosure_timing": "after",
        "child_identity": CANARY_NAME,
        "child_age": "14",
        "child_words": CANARY_WORDS,
        "observations": "red mark on her left arm",
        "when_where": "last night at home; told me at 3pm today",
        "others_involved": "mum's partner",
        "actions_taken": "listened, told her I would tell the lead",
        "worker_view": "she seemed frightened",
        "categories": ["physical"],
        "confirm_record": True,
        "language_choices": [],
    }


def confirm(slots: dict[str, Any]):  # noqa: ANN201
    """The worker confirms the summary: the form's validation saves the record."""
    result, messages = validate("confirm_record", True, slots, intent="affirm")
    return messages, result


def closed(reference: str | None) -> dict[str, Any]:
    """The slots after a finished record: answers cleared, the form ended, marked closed."""
    return {
        **{slot: None for slot in disclosure_form.FORM_STATE_SLOTS},
        "requested_slot": None,
        "concern_closed": True,
        "concern_ref": reference,
    }


def test_confirming_saves_verbatim_pages_without_child_data_and_clears_the_story() -> None:
    from bot.paging import pager
    from bot.records.concern_log import ConcernLog
    from bot.records.db import make_engine

    messages, result = confirm(full_answers())
    reply = texts(messages)
    assert "Saved. Your reference is SG-" in reply
    (concern,) = ConcernLog().list()
    assert concern.child_words == CANARY_WORDS
    assert concern.child == CANARY_NAME
    assert concern.urgency == "urgent"
    assert result == closed(concern.reference)
    rows = str(pager.page_rows(make_engine()))
    assert concern.reference in rows
    assert "canaryword" not in rows.lower() and "Canary" not in rows
    assert "canaryword" not in reply and CANARY_NAME not in reply


def test_confirming_with_the_database_down_is_spooled_and_says_phone_the_lead(
    monkeypatch,
    tmp_path,  # noqa: ANN001
) -> None:
    from bot.records import spool

    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    messages, result = confirm(full_answers())
    assert result == closed(None)
    reply = texts(messages)
    assert "kept this record safely" in reply and "NOBODY COULD BE PAGED" in reply
    assert "call 999" in reply and "Alex Morgan (example) (07700 900101)" in reply
    assert "canaryword" not in reply and CANARY_NAME not in reply
    (waiting,) = spool.status().waiting
    assert waiting.urgency == "urgent"


def test_confirming_with_the_database_and_the_spool_down_keeps_the_answers(
    monkeypatch, tmp_path
) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    (tmp_path / "spool").write_text("a file where the spool directory should be")
    messages, result = confirm(full_answers())
    # The answers stay and the form asks to confirm again: "Save" tries once more.
    assert result == {"confirm_record": None}
    reply = texts(messages)
    assert "could NOT save" in reply and "tap Save to try saving again" in reply


def test_confirming_through_the_whole_validation_action_ends_the_form() -> None:
    """As Rasa calls it: the events set `requested_slot` to None, which ends the form
    (rasa.core.actions.forms.FormAction.is_done), and mark the record closed."""
    from bot.records.concern_log import ConcernLog

    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    slots = {**full_answers(), "requested_slot": "confirm_record"}
    tracker = make_tracker(
        "yes save it",
        slots=slots,
        events=[
            {"event": "user", "text": "yes save it", "parse_data": {}},
            {"event": "slot", "name": "confirm_record", "value": True},
        ],
        active_loop="disclosure_form",
        intent="affirm",
    )
    messages, events = run(disclosure_form.ValidateDisclosureForm(), tracker, domain)
    (concern,) = ConcernLog().list()
    assert "Saved. Your reference is " + concern.reference in texts(messages)
    assert SlotSet("requested_slot", None) in events
    assert SlotSet("concern_closed", True) in events
    assert SlotSet("child_words", None) in events
    assert SlotSet("concern_ref", concern.reference) in events


def test_cancel_clears_everything_and_ends_the_form() -> None:
    messages, events = run(disclosure_form.CancelDisclosure(), make_tracker(slots=full_answers()))
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *[SlotSet(slot, None) for slot in disclosure_form.FORM_STATE_SLOTS],
        SlotSet("concern_closed", True),
    ]
    assert "nothing was saved" in texts(messages)


def test_correction_clears_the_chosen_answer() -> None:
    tracker = make_tracker(slots={"correct_field": "child_age", "child_age": "13"})
    _, events = run(disclosure_form.StartCorrection(), tracker)
    assert events == [
        SlotSet("child_age", None),
        SlotSet("correct_field", None),
        SlotSet("confirm_record", None),
    ]


def test_correction_without_a_field_asks_which() -> None:
    messages, events = run(disclosure_form.StartCorrection(), make_tracker("i got it wrong"))
    assert events == [SlotSet("correct_field", None)]
    assert messages[0]["buttons"]


def test_ask_categories_offers_the_suggestions() -> None:
    tracker = make_tracker(slots={"suggested_categories": ["cse"]})
    messages, events = run(disclosure_form.AskCategories(), tracker)
    assert events == []
    assert messages[0]["buttons"][0] == {"title": "Yes", "payload": "/affirm"}


def test_summary_shows_every_answer_to_confirm() -> None:
    messages, events = run(disclosure_form.AskConfirmRecord(), make_tracker(slots=full_answers()))
    assert events == []
    assert CANARY_WORDS in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


# -- notes and leads ---------------------------------------------------------------------------


def test_check_note_flags_and_explains() -> None:
    messages, events = run(notes.CheckNote(), make_tracker("check my note: she is involved in CSE"))
    assert events == []
    assert "consider" in texts(messages).lower()


def test_check_note_without_text_asks_for_it() -> None:
    messages, _ = run(notes.CheckNote(), make_tracker("can you check my note"))
    assert messages[0]["response"] == "utter_ask_note_text"


def test_check_note_clean_text() -> None:
    messages, _ = run(notes.CheckNote(), make_tracker("check this: she told me at 3pm."))
    assert "nothing to change" in texts(messages)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("check my note: she was at risk", "she was at risk"),
        ("Is this ok to write - he is a drug runner", "he is a drug runner"),
        ("check my note", ""),
        ("/check_note", ""),
    ],
)
def test_note_is_taken_after_the_request(text: str, note: str) -> None:
    assert notes.note_from(text) == note


def test_only_leads_list_concerns() -> None:
    messages, _ = run(leads.ListOpenConcerns(), make_tracker(sender="worker-1"))
    assert "Only Safeguarding Leads" in texts(messages)
    run(danger.RaiseAlarm(), make_tracker("knife"))
    # A roster id typed as the sender is not the lead: only the authenticated identity is.
    messages, _ = run(leads.ListOpenConcerns(), make_tracker(sender="alex"))
    assert "Only Safeguarding Leads" in texts(messages)
    messages, _ = run(leads.ListOpenConcerns(), make_tracker(sender=ALEX))
    reply = texts(messages)
    assert "1 open concern" in reply and "immediate" in reply


def test_lead_records_an_update_and_a_worker_cannot() -> None:
    from bot.records.concern_log import ConcernLog

    run(danger.RaiseAlarm(), make_tracker("knife"))
    (concern,) = ConcernLog().list()
    text = f"update {concern.reference.lower()}: spoke to MASH, referral made"
    messages, _ = run(leads.RecordLeadUpdate(), make_tracker(text, sender="worker-1"))
    assert "Only Safeguarding Leads" in texts(messages)
    messages, _ = run(leads.RecordLeadUpdate(), make_tracker(text, sender="alex"))
    assert "Only Safeguarding Leads" in texts(messages)  # a typed roster id is nobody's lead
    messages, events = run(leads.RecordLeadUpdate(), make_tracker(text, sender=ALEX))
    assert events == []
    assert f"Added to {concern.reference}" in texts(messages)
    assert [e.text for e in ConcernLog().chronology(concern.reference)][-1] == (
        "spoke to MASH, referral made"
    )
    messages, _ = run(leads.RecordLeadUpdate(), make_tracker("update SG-2222-2222: x", sender=ALEX))
    assert "Not recorded" in texts(messages)


def test_update_parsing() -> None:
    assert leads.parse_update("update SG-7KQ2-M4XP: called MASH") == ("SG-7KQ2-M4XP", "called MASH")
    assert leads.parse_update("sg7kq2m4xp - rang police") == ("sg7kq2m4xp", "rang police")
    assert leads.parse_update("update please") is None


@pytest.mark.parametrize(
    "org", ["crasac", "childrens-society", "leics-seips", "chelmsford-chsg", "generic"]
)
def test_each_organisation_records_lead_updates_with_its_own_event_type(
    org: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.paging.reporting import concern_log, lead_update_type

    monkeypatch.setenv("SAFEGUARD_ORG", org)
    log = concern_log()
    kind = lead_update_type(log)
    assert kind in log.event_types.allowed
    assert kind not in (log.event_types.raised, log.event_types.closed)


@pytest.mark.parametrize(
    ("category", "route_title"),
    [
        ("radicalisation", "Prevent (radicalisation) and Channel"),
        ("cse", "Child sexual exploitation (CSE)"),
        ("domestic_abuse", "Domestic violence and abuse"),
        ("staff_allegation", "Concern or allegation about an employee or volunteer"),
        ("online_colleague", "Online concern about a colleague"),
        ("fgm", "no fgm procedure is set for this deployment"),
    ],
)
def test_saving_shows_the_category_route_from_the_pack(
    category: str, route_title: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    answers_ = {**full_answers(), "categories": [category]}
    messages, _ = confirm(answers_)
    reply = texts(messages)
    assert "Saved. Your reference is SG-" in reply
    assert route_title.lower() in reply.lower()


def test_saving_an_fgm_concern_at_the_school_gives_the_duty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "chelmsford-chsg")
    answers_ = {**full_answers(), "categories": ["fgm"]}
    messages, _ = confirm(answers_)
    reply = texts(messages).lower()
    assert "fgm" in reply and "police" in reply


def test_resuming_the_form_re_checks_answers_without_repeating_anything() -> None:
    """Rasa re-validates every answer already given when a paused form is resumed: the
    alarm is not raised again and a kept wording is not flagged again (issue 14)."""
    slots = {"requested_slot": "when_where", "danger_now": True}
    form = disclosure_form.ValidateDisclosureForm()
    for slot, value in (("danger_now", True), ("observations", "she's putting herself at risk")):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker("carry on", slots=slots, intent="resume")
        result = asyncio.run(getattr(form, f"validate_{slot}")(value, dispatcher, tracker, {}))
        assert result == {slot: value}
        assert dispatcher.messages == []
    assert (
        disclosure_form.ConcernLog().list() == []
        if hasattr(disclosure_form, "ConcernLog")
        else True
    )


def test_a_question_asked_as_one_is_answered_and_an_answer_is_kept() -> None:
    result, messages = validate("actions_taken", "who's the LADO?", intent="ask_contact")
    assert result["actions_taken"] is None
    assert "LADO" in texts(messages) or "Source" in texts(messages)
    result, _ = validate("actions_taken", "told the DSL in person", intent="ask_contact")
    assert result["actions_taken"] == "told the DSL in person"


def test_a_question_staff_ask_is_answered_in_the_middle_of_the_record() -> None:
    """'Who do I report FGM to?' typed at 'when and where?' is a question (answered from the
    pack, the record's question asked again), never that answer; an answer with the same
    words in it is kept."""
    result, messages = validate("when_where", "who do I report FGM to?", intent="ask_fgm_duty")
    assert result["when_where"] is None
    assert "FGM" in texts(messages) and "Source" in texts(messages)
    answer = "FGM already done, her sister is at risk"
    result, _ = validate("worker_view", answer, intent="ask_fgm_duty")
    assert result["worker_view"] == answer


def test_a_typed_no_read_as_no_is_still_kept_as_typed() -> None:
    typed = "no, she's at her nan's this week and he doesn't know the address"
    form = disclosure_form.ValidateDisclosureForm()
    tracker = make_tracker(typed, slots={"requested_slot": "danger_now"}, intent="deny")
    result = asyncio.run(form.validate_danger_now(False, CollectingDispatcher(), tracker, {}))
    assert result == {"danger_now": False, "danger_answer": typed}


def test_skip_words_skip_and_other_answers_are_kept_as_typed() -> None:
    assert validate("child_identity", "skip")[0] == {"child_identity": disclosure.SKIPPED}
    assert validate("child_identity", "Dunno")[0] == {"child_identity": disclosure.SKIPPED}
    result, _ = validate("others_involved", "an unknown account", intent="skip_question")
    assert result["others_involved"] == "an unknown account"


def test_danger_in_an_answer_says_999_first_and_keeps_the_answer() -> None:
    words = "he said he'll kill me if I go home tonight"
    form = disclosure_form.ValidateDisclosureForm()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(words, slots={"requested_slot": "child_words"}, intent="report_danger")
    result = asyncio.run(form.validate_child_words(words, dispatcher, tracker, {}))
    assert result["child_words"] == words and result["danger_now"] is True
    assert dispatcher.messages[0].get("response") == "utter_call_999"
    assert "SG-" in texts(dispatcher.messages[1:])


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("no, she's safe with her foster carer tonight", False),
        ("nope", False),
    ],
)
def test_a_typed_answer_to_the_danger_question_is_that_answer(typed: str, expected: bool) -> None:
    result, messages = validate("danger_now", typed)
    assert result == {"danger_now": expected, "danger_answer": typed}
    assert messages == []


def test_an_unclear_danger_answer_asks_once_with_999_then_is_kept() -> None:
    result, messages = validate("danger_now", "not sure really")
    assert result == {"danger_now": None, "danger_answer": "not sure really"}
    # The form asks again; the validation itself says nothing (one question per reply).
    assert messages == []
    asked, _ = run(
        disclosure_form.AskDangerNow(),
        make_tracker("not sure really", slots={"requested_slot": "danger_now", **result}),
    )
    assert [m.get("response") for m in asked] == ["utter_danger_unclear"]
    result, _ = validate("danger_now", "hard to say", {"danger_answer": "not sure really"})
    assert result["danger_now"] is False
    assert result["danger_answer"] == "not sure really\nhard to say"


def test_the_first_danger_question_is_the_plain_one() -> None:
    asked, _ = run(disclosure_form.AskDangerNow(), make_tracker("a boy told me something"))
    assert [m.get("response") for m in asked] == ["utter_ask_danger_now"]


# -- ask, don't guess ------------------------------------------------------------------------


def opening_tracker(outcome: str) -> Tracker:
    tracker = make_tracker("her stepmum burns her with a lighter")
    tracker.latest_message["triage"] = {"urgency": "urgent", "outcome": outcome}
    return tracker


def test_harm_with_unknown_timing_asks_with_the_999_line_first() -> None:
    messages, events = run(disclosure_form.AskDangerNow(), opening_tracker("ask"))
    assert events == []
    assert messages[-1]["response"] == "utter_ask_danger_now_timing"


@pytest.mark.parametrize("outcome", ["urgent", "routine", None])
def test_other_openings_ask_the_plain_danger_question(outcome: str | None) -> None:
    messages, _ = run(disclosure_form.AskDangerNow(), opening_tracker(outcome))
    assert messages[-1]["response"] == "utter_ask_danger_now"


def test_the_ask_reply_keeps_the_999_line_and_yes_no_buttons() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    [reply] = domain["responses"]["utter_ask_danger_now_timing"]
    assert reply["text"].splitlines()[0] == "If the child is in danger right now, call 999."
    assert "today or tonight" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["/affirm", "/deny"]


def test_the_ask_question_does_not_repeat_999_after_an_opening_answer_that_said_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        disclosure_form.policy_answers,
        "opening_answer",
        lambda pack, text: "Call the lead.\nIf a child is in danger now, call 999.",
    )
    messages, _ = run(disclosure_form.AskDangerNow(), opening_tracker("ask"))
    assert sum("999" in (m.get("text") or "") for m in messages) == 1
    assert messages[-1]["response"] == "utter_ask_timing"
