"""Pages to Microsoft Teams through a Workflows webhook: an Adaptive Card with the concern's
reference and no child data, sent only over HTTPS, errors that never show the webhook's
secret, and nothing from outside able to put a link in front of a Safeguarding Lead."""

from __future__ import annotations

import json

import pytest

from bot.paging.transports import (
    PageMessage,
    TeamsTransport,
    TransportError,
    adaptive_card,
    card_value,
)
from tests.fake_http import FakeHTTPServer

SIG = "sig=SeCrEtSiGnAtUrE123"


def page(**changes: object) -> PageMessage:
    fields = {
        "page_id": 12,
        "token": "opaque-token",
        "urgency": "immediate",
        "concern_ref": "SG-7KQ2-M4XP",
        "category": "physical",
        "worker_name": "Jo Worker",
        "worker_contact": "07700 900555",
        "step_label": "on-call lead",
    }
    fields.update(changes)
    return PageMessage(**fields)  # type: ignore[arg-type]


def test_the_card_is_a_workflows_message_with_the_reference_and_no_child_data() -> None:
    payload = adaptive_card(page())
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["msteams"] == {"width": "Full"}
    text = json.dumps(card)
    assert "SG-7KQ2-M4XP" in text
    assert "No details about the child are sent by page" in text
    assert card["body"][0]["color"] == "Attention"
    assert (
        adaptive_card(page(urgency="routine"))["attachments"][0]["content"]["body"][0]["color"]
        == "Default"
    )
    # Only the whitelisted PageMessage fields exist to be sent.
    assert set(PageMessage.__dataclass_fields__) == {
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


def test_outside_text_cannot_add_a_link_or_lines_to_the_card() -> None:
    hostile = page(
        worker_name="[Open the case file](https://evil.example/login)\n\nURGENT: call 0900",
        worker_contact="chat id 29:" + "x" * 500,
    )
    card = adaptive_card(hostile)["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert "[" not in facts["Worker"] and "](" not in facts["Worker"]
    assert "\n" not in facts["Worker"]
    assert len(facts["Call back on"]) <= 120 and facts["Call back on"].endswith("...")
    assert card_value("  a\tb\r\nc  ") == "a b c"


def test_a_page_reaches_the_webhook() -> None:
    with FakeHTTPServer() as server:
        TeamsTransport(timeout=5).send(page(), f"{server.url}/workflows/1/triggers/manual?{SIG}")
        [request] = server.requests
    assert request.json == adaptive_card(page())


@pytest.mark.parametrize(
    "address",
    [
        f"http://prod-00.uksouth.logic.azure.com/workflows/1?{SIG}",
        f"ftp://example.org/hook?{SIG}",
        "",
        "not a url",
    ],
)
def test_only_https_webhooks_are_used_and_the_secret_is_never_shown(address: str) -> None:
    with pytest.raises(TransportError) as info:
        TeamsTransport(timeout=2).send(page(), address)
    assert str(info.value) == "teams: the webhook address is not an https:// URL"


def test_errors_from_the_webhook_never_show_its_secret() -> None:
    with FakeHTTPServer() as server:
        server.fail_next(1, 403)
        with pytest.raises(TransportError) as info:
            TeamsTransport(timeout=5).send(page(), f"{server.url}/hook?{SIG}")
    assert str(info.value) == "teams: webhook answered HTTP 403"
    assert "SeCrEt" not in str(info.value)
