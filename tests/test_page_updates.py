# ruff: noqa: F811 - the pager fixtures (harness, telegram, ...) come from tests/pager_harness.py
"""One incident, one page chain (bot.paging.outbox.update_page): a later signal updates the
concern's page, never a second chain; the update never delays escalation; an acknowledged
page is re-opened for new danger and its acknowledger told of a finished record."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.paging.models import ACKNOWLEDGED, Page, PageDelivery, PagerError
from bot.paging.outbox import DANGER_AGAIN, RECORD_ADDED, update_page
from bot.records.db import session_factory, transaction
from tests.fake_telegram import FakeTelegram
from tests.pager_harness import (  # noqa: F401 - fixtures
    LEE,
    Harness,
    chats,
    db_dir,
    engine,
    harness,
    teams,
    telegram,
)

REF = "SG-7KQ2-M4XP"


def concern(urgency: str = "immediate") -> SimpleNamespace:
    return SimpleNamespace(
        reference=REF,
        urgency=urgency,
        categories=["cse"],
        worker_name="Jo Worker",
        worker_contact="07700 900555",
    )


def update(h: Harness, urgency: str, reason: str, categories: list[str] | None = None):  # noqa: ANN201
    with transaction(session_factory(h.engine)) as session:
        return update_page(
            session, concern(urgency), urgency, reason, h.clock(),
            roster=h.roster, categories=categories,
        )  # fmt: skip


def the_page(h: Harness) -> Page:
    with session_factory(h.engine)() as session:
        [page] = session.scalars(select(Page)).all()
        session.expunge(page)
        return page


def deliveries(h: Harness) -> list[PageDelivery]:
    with session_factory(h.engine)() as session:
        return list(session.scalars(select(PageDelivery).order_by(PageDelivery.id)))


def test_danger_again_while_paging_tells_the_people_being_paged_and_keeps_the_deadline(
    harness: Harness, telegram: FakeTelegram
) -> None:
    harness.enqueue("immediate", REF)
    harness.pager.deliver_due()
    deadline = the_page(harness).step_deadline
    harness.clock.advance(seconds=30)
    done = update(harness, "immediate", DANGER_AGAIN)
    assert not done.reopened and done.told == ("Lee Lead",)
    harness.pager.deliver_due()
    page = the_page(harness)
    assert page.step_deadline == deadline, "an update never delays escalation"
    assert page.step == 0
    sent = [m["text"] for m in telegram.sent_messages()]
    assert len(sent) == 2 and chats(telegram) == [LEE, LEE]
    assert sent[1].startswith("SAFEGUARDING PAGE - UPDATE - IMMEDIATE")
    assert "danger reported again at 22:00" in sent[1]
    # Escalation still happens on time: the deputy is paged when the lead's 2 minutes pass.
    harness.clock.advance(minutes=2)
    harness.pager.deliver_due()
    assert the_page(harness).step == 1


def test_higher_urgency_reopens_the_same_page_at_once(harness: Harness, telegram) -> None:  # noqa: ANN001
    harness.enqueue("urgent", REF)
    harness.pager.deliver_due()
    before = len(json.loads(the_page(harness).chain))
    done = update(harness, "immediate", DANGER_AGAIN)
    assert done.reopened and done.urgency == "immediate"
    page = the_page(harness)
    chain = json.loads(page.chain)
    assert page.urgency == "immediate" and page.status == "active"
    assert page.step == before and len(chain) > before
    harness.pager.deliver_due()
    assert "UPDATE - IMMEDIATE" in telegram.sent_messages()[-1]["text"]
    with session_factory(harness.engine)() as session:
        assert len(session.scalars(select(Page)).all()) == 1, "one chain, never a second"


def test_new_danger_after_an_acknowledgement_pages_again(harness: Harness, telegram) -> None:  # noqa: ANN001
    page_id = harness.enqueue("immediate", REF)
    harness.pager.deliver_due()
    harness.pager.acknowledge(page_id, "Lee Lead")
    done = update(harness, "immediate", DANGER_AGAIN)
    assert done.reopened
    harness.pager.deliver_due()
    assert the_page(harness).status == "active"
    assert chats(telegram)[-1] == LEE
    kinds = [kind for kind, _ in harness.notices()]
    assert "reopened" in kinds


def test_a_finished_record_tells_whoever_acknowledged_without_reopening(
    harness: Harness, telegram: FakeTelegram
) -> None:
    page_id = harness.enqueue("immediate", REF)
    harness.pager.deliver_due()
    harness.pager.acknowledge(page_id, "Lee Lead")
    done = update(harness, "immediate", RECORD_ADDED)
    assert not done.reopened and done.told == ("Lee Lead",)
    harness.pager.deliver_due()
    assert the_page(harness).status == ACKNOWLEDGED
    last = telegram.sent_messages()[-1]
    assert int(last["chat_id"]) == LEE and "the full record was added" in last["text"]


def test_the_finished_records_categories_replace_what_the_alarm_knew(
    harness: Harness, telegram: FakeTelegram
) -> None:
    page_id = harness.enqueue("immediate", REF)
    harness.pager.deliver_due()
    harness.pager.acknowledge(page_id, "Lee Lead")
    update(harness, "immediate", RECORD_ADDED, ["online", "grooming"])
    harness.pager.deliver_due()
    assert the_page(harness).category == "online, grooming"
    assert "Category: online, grooming" in telegram.sent_messages()[-1]["text"]


@pytest.mark.parametrize("categories", [None, [], ["Kai's phone"], ["other"]])
def test_categories_a_page_may_not_carry_leave_it_as_it_was(
    harness: Harness, categories: list[str] | None
) -> None:
    harness.enqueue("immediate", REF)
    before = the_page(harness).category
    update(harness, "immediate", RECORD_ADDED, categories)
    assert the_page(harness).category == before


def test_only_fixed_reasons_can_ride_on_a_page(harness: Harness) -> None:
    harness.enqueue("immediate", REF)
    with pytest.raises(PagerError):
        update(harness, "immediate", "she said he hurt her")


def test_a_concern_without_a_page_gets_its_first_chain(harness: Harness) -> None:
    done = update(harness, "urgent", RECORD_ADDED)
    assert done.reopened
    assert the_page(harness).urgency == "urgent"
