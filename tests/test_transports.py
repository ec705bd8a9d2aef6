"""Transports: console prints, Teams gets an Adaptive Card, Telegram gets a message with an
Acknowledge button carrying only an opaque id; failures are one-line TransportErrors."""

from __future__ import annotations

import dataclasses
import io
import json
import socket

import pytest

from bot.paging.transports import (
    ConsoleTransport,
    PageMessage,
    TeamsTransport,
    TelegramTransport,
    TransportError,
    adaptive_card,
    token_from_callback,
)
from tests.fake_http import FakeHTTPServer
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN-abc"


def message(urgency: str = "immediate") -> PageMessage:
    return PageMessage(
        page_id=7,
        token="Zq3xY0pQ-opaque-token",
        urgency=urgency,
        concern_ref="SG-7KQ2-M4XP",
        category="sexual abuse",
        worker_name="Jo Worker",
        worker_contact="07700 900555",
        step_label="on-call Safeguarding Lead, step 1 of 7",
    )


def test_a_page_message_has_only_whitelisted_fields() -> None:
    names = {f.name for f in dataclasses.fields(PageMessage)}
    assert names == {
        "page_id",
        "token",
        "urgency",
        "concern_ref",
        "category",
        "worker_name",
        "worker_contact",
        "step_label",
        # why an updated page is sent again: a fixed phrase and a time
        # (bot.paging.outbox.update_page)
        "update",
        # a yes/no flag: a direct notice from the pager watch (bot.paging.watch), no ack
        "direct",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        message().category = "changed"  # type: ignore[misc]


def test_page_text() -> None:
    text = message().text()
    assert text.splitlines()[0] == "SAFEGUARDING PAGE - IMMEDIATE - concern SG-7KQ2-M4XP"
    assert "A child may be in danger now" in text
    assert "Jo Worker - call back on 07700 900555" in text
    assert "safeguard pager ack 7" in text
    assert "danger now" not in message("routine").text()


def test_console_transport_prints_the_page() -> None:
    stream = io.StringIO()
    ConsoleTransport(stream).send(message(), "lee")
    out = stream.getvalue()
    assert "PAGE for lee" in out
    assert "SG-7KQ2-M4XP" in out


def test_console_transport_failure_is_a_transport_error() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(TransportError, match="^console: cannot print"):
        ConsoleTransport(stream).send(message(), "lee")


def test_teams_webhook_gets_an_adaptive_card() -> None:
    with FakeHTTPServer() as server:
        TeamsTransport().send(message(), f"{server.url}/workflows/abc?sig=1")
        assert len(server.requests) == 1
        request = server.requests[0]
    assert request.method == "POST"
    assert request.path == "/workflows/abc?sig=1"
    assert request.headers["content-type"] == "application/json"
    attachment = request.json["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == "SAFEGUARDING PAGE - IMMEDIATE - concern SG-7KQ2-M4XP"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Concern ref"] == "SG-7KQ2-M4XP"
    assert facts["Call back on"] == "07700 900555"
    assert request.json == adaptive_card(message())


def test_teams_errors_are_one_line() -> None:
    with FakeHTTPServer() as server:
        server.fail_next(1, 500)
        with pytest.raises(TransportError, match=r"^teams: webhook answered HTTP 500$"):
            TeamsTransport().send(message(), server.url)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError, match=r"^teams: webhook unreachable"):
        TeamsTransport(timeout=2).send(message(), f"http://127.0.0.1:{port}/hook")


def test_telegram_sends_with_an_opaque_acknowledge_button() -> None:
    with FakeTelegram(TOKEN) as fake:
        transport = TelegramTransport(TOKEN, base_url=fake.base_url)
        try:
            transport.send(message(), "910000101")
            transport.send(message("urgent"), "910000102")
            transport.answer_callback("cbq-1", "Acknowledged.")
        finally:
            transport.close()
    sent = fake.sent_messages()
    assert [m["chat_id"] for m in sent] == [910000101, 910000102]
    assert sent[0]["text"] == message().text()
    button = sent[0]["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Acknowledge"
    data = button["callback_data"]
    assert data == "ack:Zq3xY0pQ-opaque-token"
    assert len(data.encode()) <= 64
    assert token_from_callback(data) == "Zq3xY0pQ-opaque-token"
    assert fake.answered() == [{"callback_query_id": "cbq-1", "text": "Acknowledged."}]
    # One getMe when the bot starts, not one per page.
    assert [m for m, _ in fake.calls].count("getMe") == 1


def test_telegram_failure_is_one_line_without_the_token() -> None:
    with FakeTelegram(TOKEN) as fake:
        fake.fail_chats.add(5)
        transport = TelegramTransport(TOKEN, base_url=fake.base_url)
        try:
            with pytest.raises(TransportError) as error:
                transport.send(message(), "5")
        finally:
            transport.close()
    assert str(error.value).startswith("telegram: BadRequest")
    assert "\n" not in str(error.value)
    with FakeTelegram("999:OTHER") as fake:
        transport = TelegramTransport(TOKEN, base_url=fake.base_url)
        try:
            with pytest.raises(TransportError) as error:
                transport.send(message(), "5")
        finally:
            transport.close()
    assert "TEST-TOKEN" not in str(error.value)


def test_telegram_needs_a_token() -> None:
    with pytest.raises(TransportError, match="no bot token"):
        TelegramTransport("")


def test_callback_data_that_is_not_ours_is_ignored() -> None:
    assert token_from_callback(None) is None
    assert token_from_callback("menu:1") is None
    assert token_from_callback("ack:") is None
    assert json.dumps(adaptive_card(message()))  # serialisable
