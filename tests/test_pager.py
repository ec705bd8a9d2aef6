# ruff: noqa: F811 - the pager fixtures (harness, telegram, ...) come from tests/pager_harness.py
"""The pager: durable outbox, Telegram button acknowledgement, escalation on a controllable
clock, restart after a crash, retries and failover, no child data in any page, the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from bot.commands import cli
from bot.core.clock import parse_local
from bot.paging.chain import FallbackContact, freeze_chain
from bot.paging.models import ACKNOWLEDGED, UNANSWERED, Page, PageDelivery, PageNotice, PagerError
from bot.paging.outbox import enqueue, page_category, page_concern
from bot.paging.pager import Pager, page_rows
from bot.paging.transports import ConsoleTransport, TeamsTransport, TelegramTransport
from bot.records.db import make_engine, session_factory, transaction
from tests.fake_http import FakeHTTPServer
from tests.fake_telegram import FakeTelegram
from tests.pager_harness import (  # noqa: F401 - fixtures
    DEE,
    LEE,
    NIA,
    START,
    TOKEN,
    Clock,
    Harness,
    chats,
    db_dir,
    engine,
    harness,
    make_roster,
    teams,
    telegram,
)


def test_enqueue_writes_in_the_callers_transaction(engine) -> None:  # noqa: ANN001
    roster = make_roster()
    factory = session_factory(engine)
    with pytest.raises(RuntimeError):
        with transaction(factory) as session:
            enqueue(
                session,
                "SG-AAAA-BBBB",
                "urgent",
                "neglect",
                "Jo",
                "07700 900555",
                parse_local(START),
                roster=roster,
            )
            raise RuntimeError("the concern failed to save")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Page)) == 0
        assert session.scalar(select(func.count()).select_from(PageNotice)) == 0
    with transaction(factory) as session:
        page_id = enqueue(
            session,
            "SG-AAAA-BBBB",
            "urgent",
            "neglect",
            "Jo",
            "07700 900555",
            parse_local(START),
            roster=roster,
        )
    with factory() as session:
        page = session.get(Page, page_id)
        assert page.status == "active"
        chain = json.loads(page.chain)
    assert [step["target"] for step in chain] == ["on_call_lead", "person", "fallback"]
    assert [r["id"] for r in chain[0]["recipients"]] == ["lee"]
    assert chain[0]["timeout_s"] == 15 * 60


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("urgency", "soon", "urgency must be one of"),
        ("category", "she said her uncle", "is not a category id"),
        ("category", "banana", "is not a category id"),
        ("concern_ref", "SG 1\nJane", "concern reference"),
        ("worker_contact", "call me <script>", "worker contact"),
        ("worker_name", "Jo\nJane Doe aged 9", "worker name"),
    ],
)
def test_enqueue_refuses_what_a_page_may_not_carry(
    engine, field: str, value: str, message: str
) -> None:  # noqa: ANN001
    args = {
        "concern_ref": "SG-AAAA-BBBB",
        "urgency": "urgent",
        "category": "neglect",
        "worker_name": "Jo",
        "worker_contact": "07700 900555",
    }
    args[field] = value
    with pytest.raises(PagerError, match=message) as error:
        with transaction(session_factory(engine)) as session:
            enqueue(session, now=parse_local(START), roster=make_roster(), **args)
    assert "\n" not in str(error.value)


def test_page_category_keeps_known_ids_only() -> None:
    assert page_category(["cse", "neglect", "cse"]) == "cse, neglect"
    assert page_category(["Sexual"]) == "sexual"
    assert page_category(["Jane told me her dad hits her"]) == "other"
    assert page_category(["janedoe"]) == "other"  # a slug, but not a category id
    assert page_category([]) == "not given"


def test_the_chain_is_frozen_when_the_page_is_created(harness: Harness) -> None:
    page_id = harness.enqueue("immediate")
    # The roster changes after the page was created: the page keeps its chain.
    harness.pager.roster = make_roster(shifts=[{"person": "dee", "when": "daily 00:00-24:00"}])
    harness.pager.deliver_due()
    assert chats(harness_telegram(harness)) == [LEE]
    with session_factory(harness.engine)() as session:
        assert json.loads(session.get(Page, page_id).chain)[0]["recipients"][0]["id"] == "lee"


def harness_telegram(harness: Harness) -> FakeTelegram:
    return harness._fake  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _link_fake(request) -> None:  # noqa: ANN001
    """Give the harness a handle on its fake Telegram server."""
    if "harness" in request.fixturenames:
        request.getfixturevalue("harness")._fake = request.getfixturevalue("telegram")


# --------------------------------------------------------------------------- Telegram e2e


def test_page_is_sent_with_a_button_and_the_press_acknowledges(
    harness: Harness, telegram: FakeTelegram
) -> None:
    page_id = harness.enqueue("immediate")
    assert harness.pager.deliver_due() == 1
    [sent] = telegram.sent_messages()
    assert int(sent["chat_id"]) == LEE
    assert "SAFEGUARDING PAGE - IMMEDIATE - concern SG-7KQ2-M4XP" in sent["text"]
    data = sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("ack:") and len(data.encode()) <= 64
    assert "SG-7KQ2" not in data  # opaque: not even the reference

    update = telegram.press_button(sent)
    result = harness.pager.handle_ack_callback(update)
    assert result is not None and result.page_id == page_id and not result.already
    assert result.acknowledged_by == "Lee Lead"
    [answer] = telegram.answered()
    assert answer["callback_query_id"] == update["callback_query"]["id"]
    assert answer["text"] == "Acknowledged. Call Jo Worker back on 07700 900555."

    # Acknowledgement stops the chain: no escalation however long we wait.
    harness.clock.advance(hours=3)
    assert harness.pager.deliver_due() == 0
    assert chats(telegram) == [LEE]
    kinds = [k for k, _ in harness.notices()]
    assert kinds == ["logged", "paging", "acknowledged"]
    assert "Lee Lead acknowledged concern SG-7KQ2-M4XP at 22:00" in harness.notices()[-1][1]

    # A second press is answered, and changes nothing.
    again = harness.pager.handle_ack_callback(json.dumps(telegram.press_button(sent)))
    assert again is not None and again.already
    assert telegram.answered()[-1]["text"] == "Already acknowledged by Lee Lead."


def test_updates_that_are_not_our_buttons_are_ignored(
    harness: Harness, telegram: FakeTelegram
) -> None:
    assert harness.pager.handle_ack_callback({"update_id": 1, "message": {"text": "hi"}}) is None
    assert harness.pager.handle_ack_callback("{not json") is None
    assert harness.pager.handle_ack_callback("[1, 2]") is None
    assert harness.pager.handle_ack_callback({"callback_query": "x"}) is None
    unknown = {
        "update_id": 2,
        "callback_query": {"id": "q1", "from": {"id": 5}, "data": "ack:nope"},
    }
    assert harness.pager.handle_ack_callback(unknown) is None
    assert telegram.answered() == [
        {"callback_query_id": "q1", "text": "This page is not known here."}
    ]


def test_unanswered_page_escalates_after_each_timeout(
    harness: Harness, telegram: FakeTelegram, teams: FakeHTTPServer
) -> None:
    harness.enqueue("immediate")
    harness.pager.deliver_due()
    assert chats(telegram) == [LEE]

    harness.clock.advance(minutes=1, seconds=59)
    harness.pager.deliver_due()
    assert chats(telegram) == [LEE]  # not yet

    harness.clock.advance(seconds=1)  # 2 minutes: deputies
    harness.pager.deliver_due()
    assert chats(telegram) == [LEE, DEE]

    harness.clock.advance(minutes=2)  # repeat round 2: the lead again, then deputies
    harness.pager.deliver_due()
    harness.clock.advance(minutes=2)
    harness.pager.deliver_due()
    assert chats(telegram) == [LEE, DEE, LEE, DEE]

    harness.clock.advance(minutes=2)  # the chain is spent: the worker gets the fallback
    assert harness.pager.deliver_due() == 0
    with session_factory(harness.engine)() as session:
        assert session.scalars(select(Page.status)).one() == UNANSWERED
    kinds = [k for k, _ in harness.notices()]
    assert kinds == ["logged"] + ["paging", "escalating"] * 4 + ["fallback"]
    fallback = harness.notices()[-1][1]
    assert fallback.startswith("If a child is in danger now, call 999 first.")
    assert "call Test OOH team on 024 7600 0000" in fallback
    assert "Source: test-seed.txt, Contacts" in fallback
    assert harness.resolved == [("out_of_hours_social_care", "crasac", harness.clock())]
    assert teams.requests == []  # Telegram worked, so Teams was never needed

    harness.clock.advance(hours=1)
    assert harness.pager.deliver_due() == 0
    assert len(chats(telegram)) == 4


def test_every_step_is_told_to_the_worker(harness: Harness) -> None:
    harness.enqueue("urgent")
    harness.pager.deliver_due()
    harness.clock.advance(minutes=15)
    harness.pager.deliver_due()
    texts = [t for _, t in harness.notices()]
    assert "Paging Lee Lead as on-call Safeguarding Lead (step 1 of 3)" in texts[1]
    assert "within 15 min" in texts[1]
    assert "Lee Lead did not acknowledge within 15 min; escalating from step 1 of 3." in texts[2]
    assert "Paging Nia Named as named contact (step 2 of 3)" in texts[3]
    assert not any("999" in t for t in texts)  # only immediate pages lead with 999
    shown = harness.pager.notices()
    harness.pager.mark_notices_shown([n["id"] for n in shown[:2]])
    assert [n["id"] for n in harness.pager.notices()] == [n["id"] for n in shown[2:]]


def test_fallback_not_set_says_so_and_never_invents(harness: Harness) -> None:
    harness.pager.fallback_resolver = lambda *_: FallbackContact(
        label="out_of_hours_social_care",
        phone=None,
        reason="Not set for this deployment: none is set. Ask your Safeguarding Lead / DSL.",
        source="This deployment policy pack",
    )
    harness.enqueue("routine")
    harness.pager.deliver_due()
    harness.clock.advance(minutes=60)
    harness.pager.deliver_due()
    text = harness.notices()[-1][1]
    assert "The fallback contact is not set: Not set for this deployment" in text
    assert not any(ch.isdigit() for ch in text.split("SG-7KQ2-M4XP")[1])

    harness.pager.fallback_resolver = lambda *_: None
    harness.enqueue("routine", ref="SG-BBBB-CCCC")
    harness.pager.deliver_due()
    harness.clock.advance(minutes=60)
    harness.pager.deliver_due()
    text = harness.notices()[-1][1]
    assert "could not be read from the crasac policy pack" in text


def test_real_fallback_comes_from_the_policy_pack(harness: Harness) -> None:
    """Through bot.core.contacts.route: CRASAC's out-of-hours MASH number, with its source by the
    policy's name (the seed file name stays in the pack, not in what people read)."""
    harness.pager.fallback_resolver = Pager.__init__.__defaults__ and None or None
    pager = Pager(harness.engine, harness.roster, harness.transports, harness.clock)
    harness.enqueue("routine")
    pager.deliver_due()
    harness.clock.advance(minutes=60)
    pager.deliver_due()
    text = harness.notices()[-1][1]
    assert "024 7683 2222" in text
    assert "Source: CRASAC policy, Appendix Three: Safeguarding Flowchart" in text
    assert ".txt" not in text


def test_nobody_on_call_goes_straight_to_the_fallback(
    harness: Harness, telegram: FakeTelegram
) -> None:
    harness.roster = make_roster(shifts=[])
    harness.pager = harness.new_pager()
    harness.enqueue("immediate")
    harness.pager.deliver_due()
    assert telegram.sent_messages() == []
    kinds = [k for k, _ in harness.notices()]
    assert kinds == ["logged", "skipped", "skipped", "skipped", "skipped", "fallback"]


# --------------------------------------------------------------------------- durability


def test_a_crash_before_send_delivers_after_restart_exactly_once(
    harness: Harness, telegram: FakeTelegram
) -> None:
    harness.enqueue("urgent")  # written; the pager "crashes" before sending anything
    del harness.pager
    restarted = harness.new_pager()
    assert restarted.deliver_due() == 1
    assert restarted.deliver_due() == 0
    another = harness.new_pager()
    assert another.deliver_due() == 0
    assert chats(telegram) == [LEE]


def test_escalation_survives_a_restart(harness: Harness, telegram: FakeTelegram) -> None:
    harness.enqueue("immediate")
    harness.pager.deliver_due()
    harness.clock.advance(minutes=5)  # the pager was down while the timeout passed
    restarted = harness.new_pager()
    restarted.deliver_due()
    assert chats(telegram) == [LEE, DEE]


def test_two_pagers_racing_send_each_step_once(harness: Harness, telegram: FakeTelegram) -> None:
    for n in range(5):
        harness.enqueue("urgent", ref=f"SG-AAAA-{'BCDEF'[n]}{'BCDEF'[n]}{'BCDEF'[n]}{'BCDEF'[n]}")
    pagers = [harness.new_pager() for _ in range(3)]
    barrier = threading.Barrier(len(pagers))
    errors: list[BaseException] = []

    def run(pager: Pager) -> None:
        barrier.wait()
        try:
            for _ in range(3):
                pager.deliver_due()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in pagers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(chats(telegram)) == [LEE] * 5
    with session_factory(harness.engine)() as session:
        keys = list(session.scalars(select(PageDelivery.dedupe_key)))
    assert len(keys) == len(set(keys)) == 5


def test_a_claim_left_by_a_dead_pager_is_sent_again(
    harness: Harness, telegram: FakeTelegram
) -> None:
    harness.enqueue("urgent")
    harness.pager.deliver_due()
    with transaction(session_factory(harness.engine)) as session:
        # As if a pager claimed the row and died before it could record the send.
        session.execute(
            update(PageDelivery).values(status="claimed", claimed_at=datetime(2026, 11, 23, 22, 0))
        )
    harness.clock.advance(seconds=30)
    assert harness.pager.deliver_due() == 0  # a live claim is left alone
    harness.clock.advance(minutes=2)
    assert harness.pager.deliver_due() == 1  # stale: sent again rather than lost
    with session_factory(harness.engine)() as session:
        assert session.scalars(select(PageDelivery.attempts)).one() == 2


# --------------------------------------------------------------------------- failures


def test_failed_sends_retry_with_exponential_back_off(
    harness: Harness, telegram: FakeTelegram
) -> None:
    harness.pager = harness.new_pager(max_tries_per_transport=4, backoff_seconds=5)
    harness.enqueue("urgent")
    telegram.http.fail_next(2, 502)  # the first two attempts fail
    assert harness.pager.deliver_due() == 0
    row = lambda: session_factory(harness.engine)().scalars(select(PageDelivery)).one()  # noqa: E731
    assert (row().status, row().tries, row().transport) == ("pending", 1, "telegram")
    assert row().next_try_at == datetime(2026, 11, 23, 22, 0, 5)
    harness.clock.advance(seconds=4)
    assert harness.pager.deliver_due() == 0  # not due yet
    harness.clock.advance(seconds=1)
    assert harness.pager.deliver_due() == 0  # second failure: wait 10 s now
    assert row().next_try_at == datetime(2026, 11, 23, 22, 0, 15)
    harness.clock.advance(seconds=10)
    assert harness.pager.deliver_due() == 1
    assert (row().status, row().attempts) == ("sent", 3)
    assert chats(telegram) == [LEE]


def test_transport_failure_moves_to_the_next_transport(
    harness: Harness, telegram: FakeTelegram, teams: FakeHTTPServer
) -> None:
    telegram.fail_chats.add(DEE)
    harness.pager = harness.new_pager(max_tries_per_transport=1)
    harness.enqueue("immediate")
    harness.pager.deliver_due()
    harness.clock.advance(minutes=2)
    harness.pager.deliver_due()  # deputies: Telegram refuses Dee, so her Teams webhook
    assert len(teams.requests) == 1
    assert teams.requests[0].path == "/hook"
    rows = page_rows(harness.engine)
    dee = [r for r in rows if r["recipient"] == "Dee Deputy"][0]
    assert (dee["transport"], dee["status"], dee["attempts"]) == ("teams", "sent", 2)
    assert "chat not found" in dee["last_error"]


def test_when_every_channel_fails_the_next_step_starts_at_once(
    harness: Harness, telegram: FakeTelegram
) -> None:
    telegram.fail_chats.add(LEE)
    harness.transports = [harness.telegram]  # no console, no Teams: Lee is unreachable
    harness.pager = harness.new_pager(max_tries_per_transport=1)
    harness.enqueue("immediate")
    harness.pager.deliver_due()  # no waiting 2 minutes for someone who cannot be reached
    assert chats(telegram) == [LEE, DEE]
    kinds = [k for k, _ in harness.notices()]
    assert kinds[:5] == ["logged", "paging", "unreachable", "escalating", "paging"]
    assert "Lee Lead could not be reached by any channel" in harness.notices()[3][1]


def test_a_buggy_transport_does_not_stop_paging(harness: Harness) -> None:
    class Broken:
        name = "telegram"

        def send(self, message, address) -> None:  # noqa: ANN001
            raise KeyError("bug")

    harness.transports = [Broken(), ConsoleTransport(harness.console)]
    harness.pager = harness.new_pager(max_tries_per_transport=1)
    harness.enqueue("urgent")
    assert harness.pager.deliver_due() == 1
    assert "PAGE for lee" in harness.console.getvalue()


# --------------------------------------------------------------------------- no child data


CHILD_CANARY = "Zebedee-Quackenbush-CANARY"
WORDS_CANARY = "the-purple-lighthouse-CANARY"


def test_no_child_data_reaches_any_transport(
    tmp_path: Path, telegram: FakeTelegram, teams: FakeHTTPServer, monkeypatch
) -> None:  # noqa: ANN001
    """A real concern, recorded by the concern log with the pager in its transaction, whose
    child fields are canaries: no canary reaches Telegram, Teams, the console or the pages."""
    from bot.records.concern_log import ConcernDraft, ConcernLog

    monkeypatch.setenv("SAFEGUARD_NOW", START)
    engine = make_engine(f"sqlite:///{tmp_path / 'migrated.sqlite3'}")  # via the migrations
    harness = Harness(engine, telegram, teams)
    harness.roster = make_roster(
        f"{teams.url}/hook", shifts=[{"person": "dee", "when": "daily 00:00-24:00"}]
    )
    harness.transports = [harness.telegram, TeamsTransport(), ConsoleTransport(harness.console)]
    telegram.fail_chats.add(DEE)  # Dee's first page fails by Telegram and by Teams, so it
    teams.fail_next(1, 500)  # is printed on the console; her second one goes by Teams
    harness.pager = harness.new_pager(max_tries_per_transport=1)
    log = ConcernLog(engine=engine, key=Fernet.generate_key())
    draft = ConcernDraft(
        urgency="immediate",
        worker_id="w1",
        worker_name="Jo Worker",
        child=CHILD_CANARY,
        child_words=f"{WORDS_CANARY} {CHILD_CANARY}",
        observations=f"bruise {WORDS_CANARY}",
        categories=["cse", f"told by {CHILD_CANARY}"],
        worker_contact="07700 900555",
        others_involved=CHILD_CANARY,
        happened_where=WORDS_CANARY,
    )
    try:
        concern = log.record(
            draft,
            in_same_transaction=lambda s, row: page_concern(s, row, roster=harness.roster),
        )
        for _ in range(4):
            harness.pager.deliver_due()
            harness.clock.advance(minutes=2)
    finally:
        harness.close()
    payloads = [json.dumps(p) for _, p in telegram.calls]
    payloads += [r.text for r in teams.requests]
    payloads.append(harness.console.getvalue())
    with session_factory(engine)() as session:
        payloads += [p.chain + p.category + p.worker_name for p in session.scalars(select(Page))]
        payloads += [n.text for n in session.scalars(select(PageNotice))]
    assert len(telegram.sent_messages()) >= 1 and teams.requests and harness.console.getvalue()
    everything = "\n".join(payloads)
    assert concern.reference in everything  # the page did go out, with the reference
    assert CHILD_CANARY not in everything
    assert WORDS_CANARY not in everything
    assert "canary" not in everything.lower()
    assert "cse, other" in everything  # free-text category replaced, not carried
    engine.dispose()


# --------------------------------------------------------------------------- migrations, loop


def test_tables_via_the_migrations(tmp_path: Path) -> None:
    from bot.records.migrate import head_revision, upgrade

    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    assert upgrade(url) == head_revision()
    engine = make_engine(url)
    clock = Clock()
    roster = make_roster()
    console = io.StringIO()
    with transaction(session_factory(engine)) as session:
        enqueue(
            session, "SG-AAAA-BBBB", "routine", "neglect", "Jo", "ext 204", clock(), roster=roster
        )
    pager = Pager(
        engine, roster, [ConsoleTransport(console)], clock, fallback_resolver=lambda *_: None
    )
    assert pager.deliver_due() == 2  # all on call: Lee and Dee
    assert pager.acknowledge(1, "Lee").page_id == 1
    engine.dispose()


def test_run_forever_with_a_threading_event(harness: Harness, telegram: FakeTelegram) -> None:
    harness.enqueue("urgent")
    stop = threading.Event()
    thread = threading.Thread(target=harness.pager.run_forever, args=(stop, 0.01))
    thread.start()
    assert telegram.wait_for_messages(1, timeout=10)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert chats(telegram) == [LEE]


def test_run_forever_with_an_asyncio_event(harness: Harness, telegram: FakeTelegram) -> None:
    harness.enqueue("urgent")

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(harness.pager.run_forever(stop, 0.01))
        for _ in range(500):
            if telegram.sent_messages():
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(main())
    assert chats(telegram) == [LEE]


def test_acknowledge_by_id_token_and_unknown(harness: Harness) -> None:
    page_id = harness.enqueue("urgent")
    with session_factory(harness.engine)() as session:
        token = session.get(Page, page_id).token
    assert harness.pager.acknowledge(token, "Lee").page_id == page_id
    assert harness.pager.acknowledge(str(page_id), "Dee").already
    with pytest.raises(PagerError, match="no page with id or token '99'"):
        harness.pager.acknowledge(99, "x")
    with session_factory(harness.engine)() as session:
        page = session.get(Page, page_id)
        assert (page.status, page.acknowledged_by) == (ACKNOWLEDGED, "Lee")


def test_freeze_chain_always_ends_with_the_fallback() -> None:
    roster = make_roster()
    chain = freeze_chain(roster, "immediate", parse_local(START))
    assert [s["target"] for s in chain] == ["on_call_lead", "deputies"] * 2 + ["fallback"]
    assert [s["round"] for s in chain[:4]] == [0, 0, 1, 1]


# --------------------------------------------------------------------------- CLI


def test_cli_pages_and_ack(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    from bot.records.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    clock = Clock()
    roster = make_roster()
    with transaction(session_factory(engine)) as session:
        enqueue(
            session,
            "SG-AAAA-BBBB",
            "urgent",
            "neglect",
            "Jo",
            "07700 900555",
            clock(),
            roster=roster,
        )
    Pager(engine, roster, [ConsoleTransport(io.StringIO())], clock).deliver_due()
    engine.dispose()

    assert cli.main(["pages", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["concern_ref"] == "SG-AAAA-BBBB"
    assert (row["recipient"], row["transport"], row["status"], row["attempts"]) == (
        "Lee Lead",
        "console",
        "sent",
        1,
    )
    assert row["created_at"].startswith("2026-11-23T22:00")

    assert cli.main(["pager", "ack", "1", "--by", "Lee"]) == 0
    assert "Call Jo back on 07700 900555" in capsys.readouterr().out
    assert cli.main(["pages"]) == 0
    table = capsys.readouterr().out
    assert "SG-AAAA-BBBB" in table and "acknowledged" in table and "by Lee" in table
    assert cli.main(["pager", "ack", "77"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no page with id or token '77'" in err
    assert cli.main(["pager", "notices", "--concern", "SG-AAAA-BBBB"]) == 0
    assert "Lee acknowledged concern SG-AAAA-BBBB" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("meanwhile", "expected"),
    [
        # Swept back to pending while we were sending: record our send so it is not repeated.
        ({"status": "pending", "claim_id": None}, "sent"),
        # Swept and taken by another pager: that pager owns the row now; leave it alone.
        ({"status": "claimed", "claim_id": "another-pager"}, "claimed"),
    ],
)
def test_a_pager_only_finishes_rows_it_still_owns(
    harness: Harness, meanwhile: dict, expected: str
) -> None:
    engine = harness.engine

    class SlowSend:
        name = "telegram"

        def send(self, message, address) -> None:  # noqa: ANN001
            with transaction(session_factory(engine)) as session:
                session.execute(update(PageDelivery).values(**meanwhile))

    harness.transports = [SlowSend()]
    harness.pager = harness.new_pager()
    harness.enqueue("urgent")
    harness.pager.deliver_due()
    with session_factory(engine)() as session:
        row = session.scalars(select(PageDelivery)).one()
    assert row.status == expected
    assert row.claim_id == meanwhile["claim_id"]


def test_default_transports_from_the_environment(monkeypatch) -> None:  # noqa: ANN001
    from bot.paging.transports import default_transports

    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_TEAMS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert sorted(default_transports()) == ["console", "teams"]
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("SAFEGUARD_TEAMS_DISABLED", "1")
    transports = default_transports()
    assert sorted(transports) == ["console", "telegram"]
    assert transports["telegram"].base_url == "http://127.0.0.1:9/bot"


def test_pager_run_delivers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from bot.records.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        enqueue(
            session,
            "SG-AAAA-BBBB",
            "urgent",
            "neglect",
            "Jo",
            "07700 900555",
            parse_local("2026-11-24T10:00"),
        )  # the example roster: Alex and Sam on call
    engine.dispose()
    env = dict(os.environ, SAFEGUARD_DB_URL=url, SAFEGUARD_NOW="2026-11-24T10:00")
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_ROSTER"):
        env.pop(name, None)
    env["SAFEGUARD_TEAMS_DISABLED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.commands.cli", "pager", "run", "--interval", "0.05"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    printed = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "PAGE for alex" in line:  # the urgent chain starts with the on-call lead
                printed.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert printed.wait(timeout=60), "the pager printed no page"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    assert proc.returncode == 0
    assert "SG-AAAA-BBBB" in "".join(lines)
    assert "Pager stopped." in err
    assert "Traceback" not in err


def test_outbox_on_sqlite_and_postgresql(store_url: str, telegram: FakeTelegram) -> None:
    """Through the migrations, on both databases: racing pagers send once, a timeout
    escalates, acknowledging stops the chain."""
    from bot.records.migrate import head_revision, upgrade

    assert upgrade(store_url) == head_revision()
    engine = make_engine(store_url)
    clock = Clock()
    roster = make_roster()
    factory = session_factory(engine)
    for n in range(3):
        with transaction(factory) as session:
            enqueue(
                session,
                f"SG-PGPG-{'BCD'[n] * 4}",
                "immediate",
                "cse",
                "Jo",
                "07700 900555",
                clock(),
                roster=roster,
            )
    transport = TelegramTransport(TOKEN, base_url=telegram.base_url)
    pagers = [
        Pager(engine, roster, [transport], clock, fallback_resolver=lambda *_: None)
        for _ in range(3)
    ]
    try:
        threads = [threading.Thread(target=p.deliver_due) for p in pagers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert chats(telegram) == [LEE] * 3
        clock.advance(minutes=2)
        pagers[1].deliver_due()
        assert sorted(chats(telegram)) == [LEE] * 3 + [DEE] * 3
        assert pagers[2].acknowledge(1, "Dee").page_id == 1
        clock.advance(minutes=2)
        pagers[0].deliver_due()
        assert sorted(chats(telegram)) == [LEE] * 5 + [DEE] * 3  # pages 2 and 3 go on
        rows = page_rows(engine)
        assert {r["page_status"] for r in rows if r["id"] == 1} == {ACKNOWLEDGED}
    finally:
        transport.close()
        engine.dispose()
