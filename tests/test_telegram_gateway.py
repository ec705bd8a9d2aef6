"""The Telegram gateway against a fake Bot API server and a fake Rasa server, on loopback.

Each test drives `TelegramGateway.handle_update` (or the polling / webhook loops) with the
Updates Telegram would send, and checks what reached Rasa and what went back to Telegram.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.clients.rasa_client import RasaClient
from bot.clients.telegram import GatewaySettings, TelegramGateway
from bot.core.pack import load_pack
from bot.core.policy_answers import emergency_text
from bot.core.rota import load_roster
from bot.failsafe.fallback import DANGER_FIRST, is_danger_now
from bot.paging.outbox import enqueue
from bot.paging.pager import Pager
from bot.records.access import StaffDirectory
from bot.records.db import transaction
from tests.conftest import ROOT, free_port
from tests.fake_http import FakeHTTPServer, Recorded
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN"
ROSTER = ROOT / "deploy" / "roster.example.yml"
LEAD, PRIYA, JORDAN, DEPUTY, ADMIN = 910000101, 910000102, 910000103, 910000201, 910000301
APPROVERS = {LEAD, PRIYA, JORDAN, ADMIN}
WORKER = 700000001
STRANGER = 555000111
DANGER = "he has a knife and says he will kill her tonight"


class FakeRasa:
    """A Rasa REST webhook that answers with `self.replies` (or a function of the body)."""

    def __init__(self) -> None:
        self.replies: Any = [{"text": "Hello, how can I help?"}]
        self.http = FakeHTTPServer(responder=self._respond)

    def _respond(self, record: Recorded) -> tuple[int, Any]:
        body = record.json
        replies = self.replies(body) if callable(self.replies) else self.replies
        return 200, [{"recipient_id": body["sender"], **r} for r in replies]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.json for r in self.http.requests]

    @property
    def url(self) -> str:
        return self.http.url


@pytest.fixture
def fake() -> Any:
    with FakeTelegram(TOKEN) as tg:
        yield tg


@pytest.fixture
def rasa() -> Any:
    server = FakeRasa()
    with server.http:
        yield server


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pinned_clock: Any) -> dict[str, Any]:
    """Its own database (concern log, pages, staff), the example roster, a fixed time."""
    url = f"sqlite:///{tmp_path / 'gw.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(ROSTER))
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    pinned_clock("2026-11-24T10:00")  # a Tuesday morning: Alex (lead) and Sam on call
    directory = StaffDirectory(url, roster_path=ROSTER)
    directory.add_staff(WORKER, "Kim Lee", "worker", by="test", phone="07700 900555")
    pager = Pager(directory.engine, roster=load_roster(ROSTER), transports={})
    return {"directory": directory, "pager": pager, "url": url}


Body = Callable[[TelegramGateway], Awaitable[Any]]


def run(
    fake: FakeTelegram,
    world: dict[str, Any],
    body: Body,
    rasa_url: str | None = None,
    settings: GatewaySettings | None = None,
    sleeps: list[float] | None = None,
) -> Any:
    async def record_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def main() -> Any:
        # as `safeguard telegram` does at start-up: the detector is loaded before any message
        await asyncio.to_thread(is_danger_now, "warm the detector up")
        bot = Bot(TOKEN, base_url=fake.base_url)
        async with bot:
            url = rasa_url or f"http://127.0.0.1:{free_port()}"
            gateway = TelegramGateway(
                bot,
                RasaClient([url], timeout=5),
                world["directory"],
                world["pager"],
                settings=settings
                or GatewaySettings(poll_timeout=1, backoff_initial=0.01, backoff_cap=0.05),
                sleep=record_sleep,
            )
            try:
                return await body(gateway)
            finally:
                await gateway.rasa.close()

    return asyncio.run(main())


def say(*updates: dict[str, Any]) -> Body:
    async def body(gateway: TelegramGateway) -> None:
        for update in updates:
            await gateway.handle_update(update)

    return body


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [m["text"] for m in fake.messages_to(chat)]


def markup_of(message: dict[str, Any]) -> dict[str, Any]:
    markup = message.get("reply_markup")
    return json.loads(markup) if isinstance(markup, str) else (markup or {})


# --------------------------------------------------------------------------- staff chat


def test_an_approved_workers_message_reaches_rasa_and_buttons_come_back(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    rasa.replies = [
        {"text": "Is the child in danger right now?"},
        {
            "text": "Choose one:",
            "buttons": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        },
    ]
    run(fake, world, say(fake.user_says(WORKER, "a boy told me something")), rasa.url)
    assert rasa.bodies == [
        {
            "sender": f"telegram:{WORKER}",
            "message": "a boy told me something",
            "metadata": {"channel": "telegram"},
        }
    ]
    sent = fake.messages_to(WORKER)
    assert [m["text"] for m in sent] == ["Is the child in danger right now?", "Choose one:"]
    keyboard = markup_of(sent[1])["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [["Yes"], ["No"]]
    assert [row[0]["callback_data"] for row in keyboard] == ["r:/affirm", "r:/deny"]
    assert "reply_markup" not in sent[0] or not markup_of(sent[0])


def test_a_button_press_is_answered_and_its_payload_sent_to_rasa(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    long_payload = '/inform{"category": "child_sexual_exploitation", "detail": "' + "x" * 40 + '"}'
    rasa.replies = [
        {"text": "Which?", "buttons": [{"title": "CSE", "payload": long_payload}]},
    ]

    async def body(gateway: TelegramGateway) -> None:
        await gateway.handle_update(fake.user_says(WORKER, "signs of abuse"))
        (message,) = fake.messages_to(WORKER)
        data = markup_of(message)["inline_keyboard"][0][0]["callback_data"]
        assert len(data.encode()) <= 64 and data.startswith("h:")
        rasa.replies = [{"text": "Here are the signs."}]
        await gateway.handle_update(fake.press(WORKER, data))

    run(fake, world, body, rasa.url)
    assert rasa.bodies[-1]["message"] == long_payload
    assert rasa.bodies[-1]["sender"] == f"telegram:{WORKER}"
    assert len(fake.answered()) == 1
    assert texts(fake, WORKER)[-1] == "Here are the signs."


def test_an_expired_button_is_answered_not_guessed(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(fake, world, say(fake.press(WORKER, "h:0123456789abcdef")), rasa.url)
    assert rasa.bodies == []
    assert "expired" in fake.answered()[0]["text"]


def test_a_long_reply_is_split_under_4096_with_buttons_on_the_last_part(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    paragraphs = [(f"Paragraph {n}. " + "Guidance sentence here. " * 40).strip() for n in range(12)]
    long_text = "\n\n".join(paragraphs)
    assert len(long_text) > 10000
    rasa.replies = [{"text": long_text, "buttons": [{"title": "Next", "payload": "/next"}]}]
    run(fake, world, say(fake.user_says(WORKER, "tell me about neglect")), rasa.url)
    sent = fake.messages_to(WORKER)
    assert len(sent) >= 3
    assert all(len(m["text"]) <= 4096 for m in sent)
    # cut at paragraph boundaries: every part starts a paragraph
    assert all(m["text"].startswith("Paragraph ") for m in sent)
    assert "\n\n".join(m["text"] for m in sent) == long_text.strip()
    assert [bool(markup_of(m)) for m in sent] == [False] * (len(sent) - 1) + [True]


def test_flood_control_retry_after_is_waited_out_then_resent(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    fake.fail_method("sendMessage", count=1, status=429, retry_after=7)
    sleeps: list[float] = []
    run(fake, world, say(fake.user_says(WORKER, "hello")), rasa.url, sleeps=sleeps)
    assert sleeps == [7.0]
    attempts = [m for m in fake.calls_of("sendMessage") if int(m["chat_id"]) == WORKER]
    assert len(attempts) == 2 and attempts[0]["text"] == attempts[1]["text"]


def test_a_network_failure_sending_is_retried_with_back_off(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    fake.fail_method("sendMessage", count=2, status=502)
    sleeps: list[float] = []
    run(fake, world, say(fake.user_says(WORKER, "hello")), rasa.url, sleeps=sleeps)
    assert sleeps == [0.01, 0.02]
    assert len(fake.calls_of("sendMessage")) == 3


def test_phone_numbers_get_their_tap_to_call_form(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    rasa.replies = [{"text": "Call 999. Or the NSPCC helpline: 0808 800 5000."}]
    run(fake, world, say(fake.user_says(WORKER, "numbers")), rasa.url)
    assert texts(fake, WORKER) == [
        "Call 999. Or the NSPCC helpline: 0808 800 5000 (+44 808 800 5000)."
    ]


def test_a_too_long_message_is_refused_and_not_sent_on(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(fake, world, say(fake.user_says(WORKER, "a" * 8001)), rasa.url)
    assert rasa.bodies == []
    (reply,) = texts(fake, WORKER)
    assert "too long" in reply and "8,001" in reply and "999" in reply


def test_a_photo_is_asked_for_as_text(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(fake, world, say(fake.user_says(WORKER, None)), rasa.url)
    assert rasa.bodies == []
    assert "typed text" in texts(fake, WORKER)[0] and "999" in texts(fake, WORKER)[0]


def test_group_chats_are_refused_even_for_a_lead(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(
        fake,
        world,
        say(fake.user_says(LEAD, "a child told me", chat_type="group", chat_id=-100555)),
        rasa.url,
    )
    assert rasa.bodies == []
    (reply,) = texts(fake, -100555)
    assert "private one-to-one chat" in reply


# --------------------------------------------------------------------------- strangers


def test_an_unknown_user_gets_nothing_of_the_organisations(
    fake: FakeTelegram,
    rasa: FakeRasa,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    run(fake, world, say(fake.user_says(STRANGER, "my friend is being hurt at home")), rasa.url)
    assert rasa.bodies == []  # their words go nowhere
    (reply,) = texts(fake, STRANGER)
    assert "999" in reply
    assert "0808 800 5000" in reply and "24 hours" in reply
    assert "/start" in reply
    organisation = load_pack("crasac")
    for contact in organisation.contacts:
        if contact.number and contact.number not in ("999", "0808 800 5000"):
            assert contact.number not in reply
        assert contact.name not in reply or contact.name.startswith("NSPCC")
    for person in load_roster(ROSTER).people:
        assert person.name not in reply
        assert person.phone not in reply
    assert organisation.short_name.lower() not in reply.lower()
    assert organisation.name.lower() not in reply.lower()


def test_an_unknown_user_cannot_press_buttons(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(fake, world, say(fake.press(STRANGER, "r:/list_open_concerns")), rasa.url)
    assert rasa.bodies == []
    assert "approved staff" in fake.answered()[0]["text"]


def test_start_then_approve_in_chat(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    async def body(gateway: TelegramGateway) -> None:
        await gateway.handle_update(
            fake.user_says(STRANGER, "/start", first_name="Jo", last_name="Bloggs", username="jo_b")
        )
        await gateway.handle_update(fake.user_says(STRANGER, "/start"))  # a repeat
        await gateway.handle_update(fake.user_says(STRANGER, "hello?"))
        await gateway.handle_update(fake.user_says(LEAD, "/approve 1"))
        await gateway.handle_update(fake.user_says(STRANGER, "hello again"))

    run(fake, world, body, rasa.url)
    told = [m for m in fake.sent_messages() if int(m["chat_id"]) in APPROVERS]
    # each lead and the admin told once, with Approve / Refuse buttons; the deputy is not
    assert sorted(int(m["chat_id"]) for m in told if "Access request #1" in m["text"]) == sorted(
        APPROVERS
    )
    assert not fake.messages_to(DEPUTY)
    request = next(m for m in told if int(m["chat_id"]) == PRIYA)
    assert "Jo Bloggs (@jo_b), Telegram id 555000111" in request["text"]
    buttons = markup_of(request)["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["acc:a:1", "acc:r:1"]
    replies = texts(fake, STRANGER)
    assert "waiting for a Safeguarding Lead" in replies[0]
    assert "waiting for a Safeguarding Lead" in replies[1]
    assert "waiting for a Safeguarding Lead" in replies[2]
    assert "You now have access" in replies[3]
    assert texts(fake, LEAD)[-1].startswith("Approved #1: Jo Bloggs")
    # only the message after approval reached Rasa
    assert [b["message"] for b in rasa.bodies] == ["hello again"]
    assert rasa.bodies[0]["sender"] == f"telegram:{STRANGER}"


def test_approve_and_refuse_buttons(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    async def body(gateway: TelegramGateway) -> None:
        await gateway.handle_update(fake.user_says(STRANGER, "/start"))
        await gateway.handle_update(fake.user_says(STRANGER + 1, "/start"))
        await gateway.handle_update(fake.press(WORKER, "acc:a:1"))  # a worker cannot
        await gateway.handle_update(fake.press(DEPUTY, "acc:a:1"))  # nor a deputy
        await gateway.handle_update(fake.press(ADMIN, "acc:a:1"))
        await gateway.handle_update(fake.press(LEAD, "acc:r:2"))
        await gateway.handle_update(fake.press(LEAD, "acc:a:2"))  # already decided

    run(fake, world, body, rasa.url)
    answers = [a.get("text", "") for a in fake.answered()]
    assert "Only a Safeguarding Lead or an admin" in answers[0]
    assert "Only a Safeguarding Lead or an admin" in answers[1]
    assert answers[2].startswith("Approved #1")
    assert answers[3].startswith("Refused #2")
    assert "already refused" in answers[4]
    directory: StaffDirectory = world["directory"]
    assert directory.identify(STRANGER) is not None
    assert directory.identify(STRANGER + 1) is None
    assert "not approved" in texts(fake, STRANGER + 1)[-1]


# --------------------------------------------------------------------------- leads


@pytest.mark.parametrize(
    "command",
    ["/open", "/ack 1", "/rota", "/staff", "/approve 1", "/refuse 1", "/addstaff 5 worker X"],
)
def test_lead_commands_are_refused_to_a_worker(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any], command: str
) -> None:
    run(fake, world, say(fake.user_says(WORKER, command)), rasa.url)
    assert rasa.bodies == []
    (reply,) = texts(fake, WORKER)
    assert "Safeguarding Lead" in reply
    assert "Alex" not in reply


def test_open_relays_the_list_to_rasa_for_a_lead(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    rasa.replies = [{"text": "No open concerns."}]
    run(fake, world, say(fake.user_says(LEAD, "/open@sg_test_bot")), rasa.url)
    assert rasa.bodies[0]["message"] == "/list_open_concerns"
    assert rasa.bodies[0]["sender"] == f"telegram:{LEAD}"
    assert texts(fake, LEAD) == ["No open concerns."]


def test_rota_shows_who_is_on_call(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(fake, world, say(fake.user_says(DEPUTY, "/rota")), rasa.url)
    (reply,) = texts(fake, DEPUTY)
    assert reply.splitlines()[0] == "On call now:"
    assert "Alex Morgan (example) (lead): 07700 900101 (+44 7700 900101)" in reply
    assert "Sam Okafor (example) (deputy)" in reply


def test_staff_lists_access_and_waiting_requests(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(
        fake,
        world,
        say(fake.user_says(STRANGER, "/start", first_name="Jo"), fake.user_says(LEAD, "/staff")),
        rasa.url,
    )
    reply = texts(fake, LEAD)[-1]
    assert "Kim Lee (worker, approved in chat)" in reply
    assert "Alex Morgan (example) (lead, roster)" in reply
    assert "#1: Jo, Telegram id 555000111" in reply


def test_addstaff_and_removestaff(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    run(
        fake,
        world,
        say(
            fake.user_says(ADMIN, "/addstaff 600000009 deputy Pat Rowe"),
            fake.user_says(ADMIN, "/addstaff 600000009 chief Pat Rowe"),
            fake.user_says(ADMIN, "/removestaff 600000009"),
        ),
        rasa.url,
    )
    replies = texts(fake, ADMIN)
    assert replies[0] == "Added Pat Rowe (deputy), Telegram id 600000009."
    assert replies[1].startswith("role must be one of")
    assert replies[2] == "Removed Pat Rowe: they no longer have access."
    assert "You now have access" in texts(fake, 600000009)[0]
    assert world["directory"].identify(600000009) is None


def make_page(world: dict[str, Any]) -> tuple[int, str]:
    from datetime import datetime

    from bot.core.clock import LONDON
    from bot.paging.models import Page

    pager: Pager = world["pager"]
    now = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)
    with transaction(pager.factory) as session:
        page_id = enqueue(
            session,
            "SG-TEST-0001",
            "urgent",
            "neglect",
            "Kim Lee",
            "07700 900555",
            now,
            roster=load_roster(ROSTER),
        )
    with pager.factory() as session:
        return page_id, session.get(Page, page_id).token


def page_status(world: dict[str, Any], page_id: int) -> str:
    from bot.paging.models import Page

    with world["pager"].factory() as session:
        return session.get(Page, page_id).status


def test_an_acknowledge_press_goes_to_the_pager(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    page_id, token = make_page(world)
    run(
        fake,
        world,
        say(
            fake.press(STRANGER, f"ack:{token}"),
            fake.press(LEAD, f"ack:{token}"),
            fake.press(PRIYA, f"ack:{token}"),
            fake.press(LEAD, "ack:not-a-token"),
        ),
        rasa.url,
    )
    answers = [a.get("text", "") for a in fake.answered()]
    assert "approved staff" in answers[0]
    assert answers[1] == "Acknowledged. Call Kim Lee back on 07700 900555."
    assert answers[2] == "Already acknowledged by Alex Morgan (example)."
    assert answers[3] == "This page is not known here."
    assert page_status(world, page_id) == "acknowledged"
    assert rasa.bodies == []


def test_ack_command(fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]) -> None:
    page_id, _ = make_page(world)
    run(
        fake,
        world,
        say(fake.user_says(DEPUTY, f"/ack {page_id}"), fake.user_says(DEPUTY, "/ack 999")),
        rasa.url,
    )
    replies = texts(fake, DEPUTY)
    assert replies[0] == (
        f"Acknowledged page {page_id} (concern SG-TEST-0001). Call Kim Lee back on 07700 900555."
    )
    assert "no page with id or token" in replies[1]
    assert page_status(world, page_id) == "acknowledged"


# --------------------------------------------------------------------------- Rasa down


def test_rasa_down_still_gives_999_and_the_leads_numbers(
    fake: FakeTelegram, world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run(fake, world, say(fake.user_says(WORKER, "what do I write in the notes")))  # no Rasa
    (reply,) = texts(fake, WORKER)
    assert reply.splitlines()[0] == DANGER_FIRST  # 999 first, and only there
    assert reply.count("999") == 1
    assert emergency_text(load_pack()).splitlines()[0].split(":")[0] in reply
    assert "not reachable" in reply
    with world["pager"].factory() as session:
        from sqlalchemy import func, select

        from bot.records.concern_log import ConcernRecord

        assert session.scalar(select(func.count()).select_from(ConcernRecord)) == 0
    assert "notes" not in caplog.text


def test_rasa_down_and_danger_now_raises_the_alarm(
    fake: FakeTelegram, world: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    run(fake, world, say(fake.user_says(WORKER, DANGER)))
    (reply,) = texts(fake, WORKER)
    lines = reply.splitlines()
    assert lines[0] == DANGER_FIRST  # 999 first, once; then who was paged; then the numbers
    assert reply.count("999") == 1
    assert lines[1].startswith("I have paged ") and "(reference SG-" in lines[1]
    assert "Alex Morgan (example)" in reply  # the lead on call was paged
    from sqlalchemy import select

    from bot.paging.models import Page
    from bot.records.concern_log import ConcernRecord

    with world["pager"].factory() as session:
        (concern,) = session.scalars(select(ConcernRecord)).all()
        (page,) = session.scalars(select(Page)).all()
    assert concern.urgency == "immediate" and concern.worker_id == str(WORKER)
    assert concern.worker_name == "Kim Lee" and concern.worker_contact == "07700 900555"
    assert page.concern_ref == concern.reference and page.urgency == "immediate"
    assert "knife" not in caplog.text


def test_rasa_erroring_is_the_same_floor(fake: FakeTelegram, world: dict[str, Any]) -> None:
    with FakeHTTPServer(default_status=500) as broken:
        run(fake, world, say(fake.user_says(WORKER, "hello")), broken.url)
    assert texts(fake, WORKER)[0].startswith(DANGER_FIRST)


def test_rasa_with_nothing_to_say_still_answers(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    rasa.replies = []
    run(fake, world, say(fake.user_says(WORKER, "hmm")), rasa.url)
    assert "999" in texts(fake, WORKER)[0]


# --------------------------------------------------------------------------- notices


def test_worker_notices_go_to_the_workers_own_chat(
    fake: FakeTelegram, world: dict[str, Any]
) -> None:
    from bot.core.people import Worker
    from bot.paging.reporting import raise_alarm

    raise_alarm(Worker(id=str(WORKER), name="Kim Lee", contact="07700 900555"), DANGER)
    raise_alarm(Worker(id="terminal-user", name="Console", contact="ext 200"), DANGER)

    async def body(gateway: TelegramGateway) -> tuple[int, int]:
        return await gateway.push_notices(), await gateway.push_notices()

    first, second = run(fake, world, body)
    assert (first, second) == (1, 0)
    (notice,) = texts(fake, WORKER)
    assert "is logged and the on-call Safeguarding Lead is being paged" in notice
    assert notice.startswith("If a child is in danger now, call 999 first.")
    # the console worker's notice is left for the terminal chat to show
    left = world["pager"].notices()
    assert len(left) == 1 and left[0]["concern_ref"] != notice.split()[-1]
    assert len(fake.sent_messages()) == 1


# --------------------------------------------------------------------------- polling


def poll_until(fake: FakeTelegram, predicate: Callable[[FakeTelegram], bool]) -> Body:
    async def body(gateway: TelegramGateway) -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(gateway.poll_forever(stop))
        done = await asyncio.to_thread(fake.wait_until, predicate, 20)
        stop.set()
        await asyncio.wait_for(task, 10)
        assert done, "the gateway did not reply in time"

    return body


def test_long_polling_relays_and_confirms_updates(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    fake.user_says(WORKER, "first")
    fake.user_says(WORKER, "second")
    run(fake, world, poll_until(fake, lambda f: len(f.messages_to(WORKER)) >= 2), rasa.url)
    assert [b["message"] for b in rasa.bodies] == ["first", "second"]  # in order
    assert fake.calls_of("deleteWebhook")


def test_updates_are_confirmed_only_after_they_are_handled(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    first = fake.user_says(WORKER, "one")
    last = fake.user_says(LEAD, "two")

    async def body(gateway: TelegramGateway) -> tuple[Any, ...]:
        offset, ok = await gateway.poll_once(None)
        handled = len(rasa.bodies)
        pending = len(fake.updates)  # still at Telegram until the next call confirms them
        again, ok_again = await gateway.poll_once(offset)
        return offset, ok, handled, pending, again, ok_again

    offset, ok, handled, pending, again, ok_again = run(fake, world, body, rasa.url)
    assert ok and ok_again
    assert handled == 2 and pending == 2
    assert offset == last["update_id"] + 1 and again == offset
    assert first["update_id"] < offset
    assert fake.updates == []
    assert len(rasa.bodies) == 2  # nothing handled twice


def test_a_telegram_outage_backs_off_and_logs_once(
    fake: FakeTelegram,
    rasa: FakeRasa,
    world: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="safeguard.telegram")
    fake.fail_method("getUpdates", count=5, status=502)
    fake.user_says(WORKER, "are you there")
    run(fake, world, poll_until(fake, lambda f: len(f.messages_to(WORKER)) >= 1), rasa.url)
    lines = [r.getMessage() for r in caplog.records if r.name == "safeguard.telegram"]
    assert sum("cannot get updates" in line for line in lines) == 1
    assert sum("outage is over" in line for line in lines) == 1
    assert len(fake.calls_of("getUpdates")) >= 6
    assert rasa.bodies[0]["message"] == "are you there"
    assert "are you there" not in caplog.text


def test_flood_control_on_get_updates_is_waited_out(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    fake.fail_method("getUpdates", count=1, status=429, retry_after=3)
    fake.user_says(WORKER, "hi")
    sleeps: list[float] = []
    run(
        fake,
        world,
        poll_until(fake, lambda f: len(f.messages_to(WORKER)) >= 1),
        rasa.url,
        sleeps=sleeps,
    )
    assert sleeps[0] == 3.0


# --------------------------------------------------------------------------- webhook


def test_webhook_mode_checks_the_secret_token(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    import aiohttp
    from aiohttp import web

    secret = "s3cret-token_value"

    async def body(gateway: TelegramGateway) -> list[int]:
        runner = web.AppRunner(gateway.webhook_app(secret))
        await runner.setup()
        port = free_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        url = f"http://127.0.0.1:{port}/telegram"
        statuses = []
        try:
            async with aiohttp.ClientSession() as session:
                for headers, update in (
                    ({}, fake.user_says(WORKER, "no secret")),
                    (
                        {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                        fake.user_says(WORKER, "wrong secret"),
                    ),
                    (
                        {"X-Telegram-Bot-Api-Secret-Token": secret},
                        fake.user_says(WORKER, "right secret"),
                    ),
                    ({"X-Telegram-Bot-Api-Secret-Token": secret}, {"not": "an update"}),
                ):
                    async with session.post(url, json=update, headers=headers) as response:
                        statuses.append(response.status)
        finally:
            await runner.cleanup()
        return statuses

    statuses = run(fake, world, body, rasa.url)
    assert statuses == [403, 403, 200, 400]
    assert [b["message"] for b in rasa.bodies] == ["right secret"]
    assert len(texts(fake, WORKER)) == 1


def test_a_redelivered_update_is_handled_once(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    update = fake.user_says(WORKER, "once")
    run(fake, world, say(update, update), rasa.url)
    assert len(rasa.bodies) == 1


# --------------------------------------------------------------------------- a slow Rasa


def slow_rasa(release: Any) -> FakeHTTPServer:
    def respond(record: Recorded) -> tuple[int, Any]:
        release.wait(20)  # answers only when the test lets it
        return 200, [{"recipient_id": record.json["sender"], "text": "Rasa's reply"}]

    return FakeHTTPServer(responder=respond)


def test_danger_now_does_not_wait_for_a_slow_rasa(
    fake: FakeTelegram, world: dict[str, Any]
) -> None:
    import threading

    release = threading.Event()

    async def body(gateway: TelegramGateway) -> None:
        gateway.rasa.timeout = 60  # only the grace decides here, never Rasa's timeout
        task = asyncio.create_task(gateway.handle_update(fake.user_says(WORKER, DANGER)))
        # the 999 line arrives while Rasa is still thinking
        got = await asyncio.to_thread(fake.wait_until, lambda f: f.messages_to(WORKER), 20)
        release.set()
        await task
        assert got

    with slow_rasa(release) as server:
        run(
            fake,
            world,
            body,
            server.url,
            settings=GatewaySettings(danger_grace=0.1, backoff_initial=0.01),
        )
    first, second = texts(fake, WORKER)
    assert first.startswith(DANGER_FIRST)
    assert second == "Rasa's reply"


def test_a_routine_message_simply_waits_for_rasa(fake: FakeTelegram, world: dict[str, Any]) -> None:
    import threading

    release = threading.Event()
    release.set()
    with slow_rasa(release) as server:
        run(
            fake,
            world,
            say(fake.user_says(WORKER, "what is the LADO number")),
            server.url,
            settings=GatewaySettings(danger_grace=0.1),
        )
    assert texts(fake, WORKER) == ["Rasa's reply"]


def test_danger_with_rasa_timing_out_gets_999_early_then_the_alarm(
    fake: FakeTelegram, world: dict[str, Any]
) -> None:
    import socket

    listener = socket.socket()  # accepts, never answers: Rasa hung
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    async def body(gateway: TelegramGateway) -> None:
        gateway.rasa.timeout = 0.5
        await gateway.handle_update(fake.user_says(WORKER, DANGER))

    try:
        run(fake, world, body, url, settings=GatewaySettings(danger_grace=0.05))
    finally:
        listener.close()
    first, second = texts(fake, WORKER)
    assert first.startswith(DANGER_FIRST)
    assert second.startswith("I have paged ") and "(reference SG-" in second
    assert "999" not in second  # said once, in the early message


def test_one_slow_conversation_does_not_hold_up_another(
    fake: FakeTelegram, world: dict[str, Any]
) -> None:
    import threading

    release = threading.Event()

    def respond(record: Recorded) -> tuple[int, Any]:
        if record.json["sender"] == f"telegram:{WORKER}":
            release.wait(20)
        return 200, [{"recipient_id": record.json["sender"], "text": "ok"}]

    async def body(gateway: TelegramGateway) -> bool:
        polling = asyncio.create_task(gateway.poll_once(None))
        other_answered = await asyncio.to_thread(fake.wait_until, lambda f: f.messages_to(LEAD), 20)
        release.set()
        await polling
        return other_answered

    fake.user_says(WORKER, "slow one")
    fake.user_says(LEAD, "quick one")
    with FakeHTTPServer(responder=respond) as server:
        other_answered = run(fake, world, body, server.url)
    assert other_answered
    assert texts(fake, LEAD) == ["ok"] and texts(fake, WORKER) == ["ok"]


def test_when_the_staff_database_fails_the_sender_still_gets_999(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.records.access import AccessError

    def broken(_user_id: Any) -> None:
        raise AccessError("could not look up staff: the database failed (OperationalError)")

    monkeypatch.setattr(world["directory"], "identify", broken)
    run(
        fake,
        world,
        say(fake.user_says(WORKER, "hello"), fake.press(WORKER, "r:/affirm")),
        rasa.url,
    )
    assert rasa.bodies == []
    replies = texts(fake, WORKER)
    assert len(replies) == 2
    assert all("something went wrong" in r and "call 999" in r for r in replies)
    assert fake.answered()[0]["text"] == "Sorry, that did not work."


def test_start_help_and_unknown_commands_for_staff(
    fake: FakeTelegram, rasa: FakeRasa, world: dict[str, Any]
) -> None:
    rasa.replies = [{"text": "Hi! What would you like to do?"}]
    run(
        fake,
        world,
        say(
            fake.user_says(WORKER, "/start"),
            fake.user_says(WORKER, "/help"),
            fake.user_says(WORKER, "/greet"),
            fake.user_says(ADMIN, "/help"),
        ),
        rasa.url,
    )
    assert [b["message"] for b in rasa.bodies] == ["/greet"]  # typed intents are not relayed
    start, worker_help, unknown = texts(fake, WORKER)
    assert start == "Hi! What would you like to do?"
    assert "/start" in worker_help and "/open" not in worker_help and "/approve" not in worker_help
    assert unknown.startswith("I don't know that command")
    (admin_help,) = texts(fake, ADMIN)
    assert "/open" in admin_help and "/approve" in admin_help and "/addstaff" in admin_help
