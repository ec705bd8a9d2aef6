"""The Teams channel in-process: recorded Activity payloads, real token checks against a fake
Bot Connector (its own RSA key and JWKS), a fake token endpoint and a fake conversation
service on loopback. Rasa itself is stood in for by small handlers here; the channel with
the trained model is in tests/test_teams_rasa.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from rasa.core.channels.channel import UserMessage

from bot.core import limits
from bot.failsafe import safety
from bot.rasa.channels import teams
from bot.rasa.channels.teams import TeamsConfigError, TeamsInput, card_buttons, message_text, pieces
from tests.fake_teams import (
    ACCESS_TOKEN,
    APP_ID,
    APP_PASSWORD,
    TENANT,
    FakeTeams,
    recorded,
    reply_texts,
)

CANARY = "canarychildname said he hurts her"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    with FakeTeams() as server:
        monkeypatch.setenv(teams.TEST_OPENID_ENV, server.openid_url)
        monkeypatch.setenv(teams.TEST_TOKEN_ENV, server.token_url)
        yield server


@pytest.fixture
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A concern log of this test's own (danger messages raise real alarms)."""
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    return tmp_path


@pytest.fixture
def channel(fake: FakeTeams) -> TeamsInput:  # noqa: ARG001 - the env points it at the fake
    return TeamsInput(APP_ID, APP_PASSWORD, tenant_id=TENANT, reply_within=5)


Handler = Callable[[UserMessage], Awaitable[Any]]


class Recorder:
    """Stands in for Rasa: remembers each message and answers with fixed replies."""

    def __init__(self, *replies: dict[str, Any], delay: float = 0.0, error: bool = False):
        self.messages: list[UserMessage] = []
        self.replies = replies or ({"text": "Hello! How can I help?"},)
        self.delay = delay
        self.error = error

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error:
            raise RuntimeError("the model fell over")
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


def deliver(
    channel: TeamsInput,
    fake: FakeTeams,
    activities: list[dict[str, Any]],
    handler: Handler,
    auth: str | None = "sign",
) -> list[teams.Handled]:
    async def scenario() -> list[teams.Handled]:
        out = []
        for activity in activities:
            header = f"Bearer {fake.token()}" if auth == "sign" else auth
            out.append(await channel.receive(header, json.dumps(activity), handler))
        await channel.drain()
        return out

    return asyncio.run(scenario())


# -- a message in, the reply out ---------------------------------------------------------------


def test_a_recorded_message_reaches_rasa_and_the_reply_reaches_the_conversation(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    activity = fake.activity()  # the recorded "hiya" from a personal chat
    rasa = Recorder()
    [done] = deliver(channel, fake, [activity], rasa)
    assert (done.status, done.body) == (200, "accepted")

    [message] = rasa.messages
    assert message.text == "hiya"
    # Who it is, by the Entra object id in Microsoft's verified Activity (bot.records.access).
    assert message.sender_id == "teams:6f1d2b0e-5c3a-4b7e-9d8f-0a1b2c3d4e5f"
    assert message.input_channel == "botframework"
    assert message.metadata == {
        "teams": {
            "name": "Sam Worker",
            "aad_object_id": "6f1d2b0e-5c3a-4b7e-9d8f-0a1b2c3d4e5f",
            "tenant_id": TENANT,
        }
    }
    assert "attachments" not in json.dumps(message.metadata)  # nothing posted is kept

    [reply] = fake.replies
    assert fake.reply_paths == [f"/uk/v3/conversations/{activity['conversation']['id']}/activities"]
    assert fake.reply_auth == [f"Bearer {ACCESS_TOKEN}"]
    assert reply["type"] == "message"
    assert reply["text"] == "Hello! How can I help?"
    assert reply["textFormat"] == "plain"
    assert reply["recipient"] == {"id": activity["from"]["id"]}
    assert reply["from"] == activity["recipient"]
    assert reply["conversation"] == {"id": activity["conversation"]["id"]}
    assert reply["replyToId"] == activity["id"]


def test_the_reply_token_comes_from_the_tenant_with_client_credentials_once(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    deliver(channel, fake, [fake.activity("one"), fake.activity("two")], Recorder())
    assert fake.token_requests == [
        {
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_PASSWORD,
            "scope": "https://api.botframework.com/.default",
        }
    ]
    assert len(fake.replies) == 2


def test_token_url_is_single_tenant_when_a_tenant_is_set(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv(teams.TEST_TOKEN_ENV, raising=False)
    assert teams.token_url(TENANT) == (
        f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    )
    assert teams.token_url(None) == (
        "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    )


def test_buttons_become_a_hero_card_of_message_back_actions(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    buttons = [
        {"title": "Someone has told me something", "payload": "/start_disclosure"},
        {"title": "Check my note", "payload": '/check_note{"x": "y"}'},
    ]
    deliver(
        channel, fake, [fake.activity("hi")], Recorder({"text": "Pick one", "buttons": buttons})
    )
    [reply] = fake.replies
    assert "text" not in reply or reply["text"] == ""
    [card] = reply["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.hero"
    assert card["content"]["text"] == "Pick one"
    assert card["content"]["buttons"] == [
        {
            "type": "messageBack",
            "title": "Someone has told me something",
            "text": "/start_disclosure",
            "displayText": "Someone has told me something",
            "value": {"payload": "/start_disclosure"},
        },
        {
            "type": "messageBack",
            "title": "Check my note",
            "text": '/check_note{"x": "y"}',
            "displayText": "Check my note",
            "value": {"payload": '/check_note{"x": "y"}'},
        },
    ]


def test_a_pressed_button_sends_its_payload_to_rasa(channel: TeamsInput, fake: FakeTeams) -> None:
    pressed = fake.activity(name="message_back_button")
    without_text = fake.activity(name="message_back_button")
    without_text.pop("text")
    rasa = Recorder()
    deliver(channel, fake, [pressed, without_text], rasa)
    assert [m.text for m in rasa.messages] == ["/greet", "/greet"]


@pytest.mark.parametrize("kind", ["channel", "groupChat", None])
def test_only_a_private_chat_is_talked_to(channel: TeamsInput, fake: FakeTeams, kind) -> None:  # noqa: ANN001
    """In a team channel or a group chat everyone would read the disclosure and the record's
    summary: the worker is sent to a 1:1 chat and nothing typed there reaches Rasa."""
    activity = fake.activity(name="message_channel_mention")
    activity["text"] = f"<at>Safeguard</at> {CANARY}"
    if kind is None:
        del activity["conversation"]["conversationType"]
    else:
        activity["conversation"]["conversationType"] = kind
    rasa = Recorder()
    deliver(channel, fake, [activity], rasa)
    assert rasa.messages == []
    [reply] = fake.replies
    assert reply["text"].startswith("I only talk in a private chat")
    assert "999" in reply["text"]
    assert "canary" not in json.dumps(fake.replies)
    assert fake.reply_paths[0].startswith("/uk/v3/conversations/19:")


def test_the_bots_mention_is_not_part_of_the_message(channel: TeamsInput, fake: FakeTeams) -> None:
    activity = fake.activity("<at>Safeguard</at> can i promise her i wont tell anyone")
    rasa = Recorder()
    deliver(channel, fake, [activity], rasa)
    assert [m.text for m in rasa.messages] == ["can i promise her i wont tell anyone"]


def test_message_text_is_kept_verbatim_apart_from_the_mention() -> None:
    words = "  He said 'don't tell mum' <b>*twice*</b> _really_  "
    assert message_text({"text": words}) == words.strip()
    assert message_text({"text": "<at>Safeguard</at> he said <at>"}) == "he said <at>"
    assert message_text({"text": None, "value": "x"}) == ""
    assert message_text({}) == ""


def test_paragraphs_are_sent_as_rasa_sends_them_and_huge_ones_are_cut_at_line_ends() -> None:
    assert pieces("one\n\ntwo") == ["one", "two"]
    long = "\n".join(["x" * 99] * 400)  # 40,000 characters in one paragraph
    parts = pieces(long)
    assert all(len(p) <= teams.MAX_ACTIVITY_CHARS for p in parts)
    assert "\n".join(parts) == long
    assert pieces("y" * 31_000) == ["y" * 15_000, "y" * 15_000, "y" * 1_000]


def test_url_buttons_open_the_url() -> None:
    assert card_buttons([{"title": "NSPCC", "url": "https://www.nspcc.org.uk"}]) == [
        {"type": "openUrl", "title": "NSPCC", "value": "https://www.nspcc.org.uk"}
    ]


# -- who may talk to it -----------------------------------------------------------------------


def _hs256(fake: FakeTeams) -> str:
    return jwt.encode(
        {"aud": APP_ID, "iss": teams.ISSUER, "exp": 4_000_000_000, "serviceurl": fake.service_url},
        "a-shared-secret-anyone-could-guess-0123456789",
        algorithm="HS256",
        headers={"kid": "fake-key-1"},
    )


@pytest.mark.parametrize(
    "make_header",
    [
        lambda f: None,
        lambda f: "Basic dXNlcjpwYXNz",
        lambda f: "Bearer not.a.jwt",
        lambda f: f"Bearer {f.token(forged=True)}",
        lambda f: f"Bearer {f.token(audience='someone-elses-bot')}",
        lambda f: f"Bearer {f.token(issuer='https://sts.windows.net/evil/')}",
        lambda f: f"Bearer {f.token(service_url='https://evil.example/')}",
        lambda f: f"Bearer {f.token(kid='unknown-key')}",
        lambda f: f"Bearer {f.token(lifetime=-3600)}",
        lambda f: f"Bearer {_hs256(f)}",
        lambda f: "Bearer " + jwt.encode({"aud": APP_ID}, None, algorithm="none"),
    ],
    ids=[
        "no-header",
        "basic-auth",
        "garbage",
        "forged-signature",
        "wrong-audience",
        "wrong-issuer",
        "other-service-url",
        "unknown-key",
        "expired",
        "hs256",
        "alg-none",
    ],
)
def test_requests_not_from_the_bot_connector_are_refused_and_never_reach_rasa(
    channel: TeamsInput,
    fake: FakeTeams,
    make_header,  # noqa: ANN001
) -> None:
    rasa = Recorder()
    [done] = deliver(channel, fake, [fake.activity(CANARY)], rasa, auth=make_header(fake))
    assert done.status == 401
    assert rasa.messages == []
    assert fake.replies == []


def test_token_times_follow_the_safeguard_clock_with_five_minutes_leeway(
    channel: TeamsInput,
    fake: FakeTeams,
    pinned_clock,  # noqa: ANN001
) -> None:
    from bot.core import clock

    pinned_clock("2026-11-24T14:30")
    issued = clock.now().timestamp()
    rasa = Recorder()
    for lifetime, status in [(-200, 200), (-400, 401), (3600, 200)]:
        header = f"Bearer {fake.token(issued=issued - 3600, lifetime=3600 + lifetime)}"

        async def once(header: str = header) -> teams.Handled:
            done = await channel.receive(header, json.dumps(fake.activity("hi")), rasa)
            await channel.drain()
            return done

        assert asyncio.run(once()).status == status, lifetime
    # Issued in the future beyond the leeway: not yet valid.
    header = f"Bearer {fake.token(issued=issued + 3600)}"
    assert asyncio.run(channel.receive(header, json.dumps(fake.activity("x")), rasa)).status == 401


def test_a_key_not_endorsed_for_teams_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeTeams(endorsements=["skype", "webchat"]) as fake:
        monkeypatch.setenv(teams.TEST_OPENID_ENV, fake.openid_url)
        monkeypatch.setenv(teams.TEST_TOKEN_ENV, fake.token_url)
        channel = TeamsInput(APP_ID, APP_PASSWORD)
        rasa = Recorder()
        [done] = deliver(channel, fake, [fake.activity("hi")], rasa)
    assert done.status == 401
    assert rasa.messages == []


def test_keys_are_fetched_once_and_kept_when_microsoft_is_down(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    deliver(channel, fake, [fake.activity("one"), fake.activity("two")], Recorder())
    assert fake.key_fetches == 1
    fake.http.fail_next(5, 503)
    channel.auth._fetched_at = -1e9  # a day has passed: time to refresh, and Microsoft fails
    rasa = Recorder()
    [done] = deliver(channel, fake, [fake.activity("three")], rasa)
    assert done.status == 200
    assert [m.text for m in rasa.messages] == ["three"]


def test_other_tenants_and_other_channels_are_refused(channel: TeamsInput, fake: FakeTeams) -> None:
    other_tenant = fake.activity("hi", channelData={"tenant": {"id": "another-organisation"}})
    webchat = fake.activity("hi", channelId="webchat")
    rasa = Recorder()
    done = deliver(channel, fake, [other_tenant, webchat], rasa)
    assert [d.status for d in done] == [403, 403]
    assert rasa.messages == []


def test_a_multi_tenant_bot_takes_any_tenant(fake: FakeTeams) -> None:
    channel = TeamsInput(APP_ID, APP_PASSWORD)
    rasa = Recorder()
    deliver(channel, fake, [fake.activity("hi", channelData={"tenant": {"id": "x"}})], rasa)
    assert len(rasa.messages) == 1


def test_non_message_activities_are_acknowledged_and_ignored(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    update = fake.activity(name="conversation_update")
    update["membersAdded"] = [{"id": "29:someone-else"}]  # not the bot being installed
    reaction = fake.activity(type="messageReaction")
    rasa = Recorder()
    done = deliver(channel, fake, [update, reaction], rasa)
    assert ([d.status for d in done], rasa.messages, fake.replies) == ([200, 200], [], [])


def test_a_worker_who_adds_the_app_is_welcomed_with_999(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    installed = fake.activity(name="conversation_update")  # membersAdded holds the bot
    rasa = Recorder()
    [done] = deliver(channel, fake, [installed], rasa)
    assert done.body == "welcomed" and rasa.messages == []
    texts = reply_texts(fake.replies)
    assert texts[0].startswith("Hello. I'm the safeguarding assistant.")
    assert "call 999" in texts[-1]
    assert fake.replies[0]["recipient"] == {"id": installed["from"]["id"]}


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "{"])
def test_a_body_that_is_not_an_activity_is_a_plain_400(
    channel: TeamsInput, fake: FakeTeams, body: str
) -> None:
    rasa = Recorder()

    async def once() -> teams.Handled:
        return await channel.receive(f"Bearer {fake.token()}", body, rasa)

    done = asyncio.run(once())
    assert done.status == 400
    assert "\n" not in done.body and "Traceback" not in done.body


def test_an_activity_missing_its_conversation_is_a_plain_400(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    activity = fake.activity("hi")
    del activity["conversation"]
    [done] = deliver(channel, fake, [activity], Recorder())
    assert done.status == 400


# -- nothing lost, nothing twice, never a silent worker ---------------------------------------


def test_a_redelivered_activity_is_processed_once(channel: TeamsInput, fake: FakeTeams) -> None:
    activity = fake.activity("he hit her")
    rasa = Recorder()
    done = deliver(channel, fake, [activity, activity], rasa)
    assert [d.body for d in done] == ["accepted", "duplicate"]
    assert len(rasa.messages) == 1


def test_messages_in_one_conversation_are_answered_in_order(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    class Slow(Recorder):
        async def __call__(self, message: UserMessage) -> None:
            self.messages.append(message)
            await asyncio.sleep(0.3 if message.text == "first" else 0)
            await message.output_channel.send_response(message.sender_id, {"text": message.text})

    deliver(channel, fake, [fake.activity("first"), fake.activity("second")], Slow())
    assert [r["text"] for r in fake.replies] == ["first", "second"]


def test_a_message_over_the_limit_is_refused_with_999_and_never_reaches_rasa(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    text = "a" * (limits.MAX_MESSAGE_CHARS + 1)
    rasa = Recorder()
    deliver(channel, fake, [fake.activity(text)], rasa)
    assert rasa.messages == []
    joined = "\n\n".join(reply_texts(fake.replies))
    assert f"{limits.MAX_MESSAGE_CHARS + 1:,} characters" in joined
    assert "999" in joined
    assert "Nothing from it has been saved" in joined


def test_a_message_at_the_limit_goes_through(channel: TeamsInput, fake: FakeTeams) -> None:
    rasa = Recorder()
    deliver(channel, fake, [fake.activity("b" * limits.MAX_MESSAGE_CHARS)], rasa)
    assert len(rasa.messages[0].text) == limits.MAX_MESSAGE_CHARS


def test_a_picture_with_no_text_gets_a_plain_answer(channel: TeamsInput, fake: FakeTeams) -> None:
    activity = fake.activity("")
    activity["attachments"] = [{"contentType": "image/png", "contentUrl": "https://x/y.png"}]
    rasa = Recorder()
    deliver(channel, fake, [activity], rasa)
    assert rasa.messages == []
    assert "only read typed messages" in fake.replies[0]["text"]


def test_when_rasa_fails_the_worker_still_gets_999_and_a_plain_line(
    channel: TeamsInput, fake: FakeTeams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    deliver(channel, fake, [fake.activity(CANARY)], Recorder(error=True))
    texts = reply_texts(fake.replies)
    assert "could not do that just now" in texts[0]
    assert "999" in "\n".join(texts)
    assert "Traceback" not in "\n".join(texts)
    assert "canarychildname" not in caplog.text


def test_when_rasa_says_nothing_the_worker_still_gets_an_answer(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    class Silent(Recorder):
        async def __call__(self, message: UserMessage) -> None:
            self.messages.append(message)

    deliver(channel, fake, [fake.activity("hello?")], Silent())
    texts = reply_texts(fake.replies)
    assert "could not do that just now" in texts[0] and "999" in "\n".join(texts)


def test_a_slow_answer_gets_the_plain_fallback_then_the_answer_before_the_next(
    fake: FakeTeams,
) -> None:
    channel = TeamsInput(APP_ID, APP_PASSWORD, reply_within=0.5)

    class SlowFirst(Recorder):
        async def __call__(self, message: UserMessage) -> None:
            self.messages.append(message)
            if message.text == "first":
                await asyncio.sleep(1.5)
            await message.output_channel.send_response(
                message.sender_id, {"text": f"answer to {message.text}"}
            )

    rasa = SlowFirst()

    async def scenario() -> None:
        await channel.receive(f"Bearer {fake.token()}", json.dumps(fake.activity("first")), rasa)
        await channel.drain()
        assert "answer to first" not in reply_texts(fake.replies)
        while len(rasa.messages) < 1 or not channel.safety._late:
            await asyncio.sleep(0.1)  # the slow processing finishes in the background
        await channel.receive(f"Bearer {fake.token()}", json.dumps(fake.activity("second")), rasa)
        await channel.drain()

    asyncio.run(scenario())
    texts = reply_texts(fake.replies)
    assert "taking too long" in texts[0]
    assert "999" in "\n".join(texts[:3])
    late = texts.index("answer to first")
    assert texts[late - 1] == safety.LATE_HEADER
    assert texts[-1] == "answer to second"


def test_danger_gets_999_first_and_the_lead_is_paged_even_if_rasa_forgot_it(
    channel: TeamsInput, fake: FakeTeams, fresh_db: Path
) -> None:
    from bot.paging import pager
    from bot.records.concern_log import ConcernLog
    from bot.records.db import make_engine

    rasa = Recorder({"text": "Tell me more."})
    deliver(channel, fake, [fake.activity("he's outside the centre with a knife now")], rasa)
    texts = reply_texts(fake.replies)
    assert "999" in texts[0]
    assert "Tell me more." in texts
    [concern] = ConcernLog().list()
    assert concern.urgency == "immediate"
    rows = pager.page_rows(make_engine())
    assert rows and {r["concern_ref"] for r in rows} == {concern.reference}
    assert "knife" not in str(rows)
    assert concern.reference in "\n".join(texts)


def test_a_reply_the_service_refuses_for_a_moment_is_retried(
    channel: TeamsInput, fake: FakeTeams
) -> None:
    deliver(channel, fake, [fake.activity("warm the token cache")], Recorder())
    fake.http.fail_next(1, 429)
    deliver(channel, fake, [fake.activity("again")], Recorder({"text": "second reply"}))
    assert [r["text"] for r in fake.replies] == ["Hello! How can I help?", "second reply"]


def test_nothing_the_worker_typed_is_logged(
    channel: TeamsInput, fake: FakeTeams, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    fake.http.fail_next(1, 500)  # the token fetch fails: errors are logged
    deliver(channel, fake, [fake.activity(CANARY)], Recorder())
    deliver(channel, fake, [fake.activity(CANARY)], Recorder(), auth="Bearer x.y.z")
    assert caplog.records, "failures are logged"
    assert "canarychildname" not in caplog.text
    assert APP_PASSWORD not in caplog.text and ACCESS_TOKEN not in caplog.text


# -- configuration ------------------------------------------------------------------------------


def test_from_credentials_reads_the_password_through_bot_secrets(
    fake: FakeTeams,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,  # noqa: ARG001
) -> None:
    from bot.config.secrets import SecretError

    monkeypatch.delenv("TEAMS_APP_PASSWORD", raising=False)
    path = tmp_path / "pw"
    path.write_text(APP_PASSWORD)
    path.chmod(0o600)
    monkeypatch.setenv("TEAMS_APP_PASSWORD_FILE", str(path))
    channel = TeamsInput.from_credentials({"app_id": APP_ID, "tenant_id": TENANT})
    assert (channel.app_password, channel.tenant_id) == (APP_PASSWORD, TENANT)
    path.chmod(0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        TeamsInput.from_credentials({"app_id": APP_ID})
    monkeypatch.delenv("TEAMS_APP_PASSWORD_FILE")
    with pytest.raises(SecretError, match="TEAMS_APP_PASSWORD"):
        TeamsInput.from_credentials({"app_id": APP_ID})
    assert TeamsInput.from_credentials({"app_id": APP_ID, "app_password": "x"}).app_password == "x"


def test_from_credentials_without_an_app_id_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    with pytest.raises(TeamsConfigError, match="app_id is not set"):
        TeamsInput.from_credentials({"app_password": "x"})
    with pytest.raises(TeamsConfigError, match="reply_within_seconds"):
        TeamsInput.from_credentials(
            {"app_id": "a", "app_password": "x", "reply_within_seconds": "soon"}
        )


@pytest.mark.parametrize("url", ["https://login.botframework.com/x", "http://10.0.0.5/x"])
def test_the_test_endpoints_may_only_be_loopback(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv(teams.TEST_OPENID_ENV, url)
    with pytest.raises(TeamsConfigError, match="only point at 127.0.0.1"):
        TeamsInput(APP_ID, "x")


def test_the_recorded_payloads_are_teams_messages() -> None:
    for name in ("message_personal", "message_channel_mention", "message_back_button"):
        activity = recorded(name)
        assert activity["type"] == "message" and activity["channelId"] == "msteams"
        assert {"conversation", "from", "recipient", "serviceUrl", "id"} <= set(activity)


def test_lone_surrogates_in_a_teams_activity_cannot_lose_a_danger_alarm(
    channel: TeamsInput, fake: FakeTeams, fresh_db: Path
) -> None:
    """JSON may carry a lone surrogate (UTF-8 cannot): such a sender id made the alarm's
    concern unsavable in the database and the spool alike (found by tests/test_fuzz.py)."""
    from bot.records.concern_log import ConcernLog

    activity = fake.activity("he\udc80s outside with a knife now")
    activity["from"]["id"] = "29:worker-\ud800"
    activity["from"]["aadObjectId"] = "worker-\ud800"
    rasa = Recorder({"text": "Tell me more."})
    deliver(channel, fake, [activity], rasa)
    assert rasa.messages[0].sender_id == "teams:worker-\ufffd"
    assert "\ud800" not in rasa.messages[0].text and "\udc80" not in rasa.messages[0].text
    assert "999" in reply_texts(fake.replies)[0]
    assert len(ConcernLog().list()) == 1


def test_the_credentials_template_configures_both_channels(monkeypatch) -> None:  # noqa: ANN001
    import yaml

    from bot.rasa.channels.rest import SafeRestInput
    from tests.conftest import ROOT

    monkeypatch.setenv("TEAMS_APP_PASSWORD", "from-the-environment")
    monkeypatch.delenv(teams.TEST_TOKEN_ENV, raising=False)
    monkeypatch.delenv(teams.TEST_OPENID_ENV, raising=False)
    template = yaml.safe_load((ROOT / "deploy" / "credentials.teams.example.yml").read_text())
    assert set(template) == {
        "bot.rasa.channels.rest.SafeRestInput",
        "bot.rasa.channels.teams.TeamsInput",
    }
    assert "app_password" not in template["bot.rasa.channels.teams.TeamsInput"]
    SafeRestInput.from_credentials(template["bot.rasa.channels.rest.SafeRestInput"])
    channel = TeamsInput.from_credentials(template["bot.rasa.channels.teams.TeamsInput"])
    assert channel.app_password == "from-the-environment"
    assert channel.tokens.url == (
        "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/oauth2/v2.0/token"
    )
    assert channel.auth.metadata_url == teams.OPENID_URL


def test_startup_reports_a_teams_channel_without_its_secret_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.commands import startup

    monkeypatch.delenv("TEAMS_APP_PASSWORD", raising=False)
    monkeypatch.delenv("TEAMS_APP_PASSWORD_FILE", raising=False)
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(f"rest:\n{startup.TEAMS_CHANNEL}:\n  app_id: {APP_ID}\n")
    [problem] = startup.channel_problems(credentials)
    assert problem.startswith("Teams channel: TEAMS_APP_PASSWORD is not set")
    assert "\n" not in problem
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "x")
    assert startup.channel_problems(credentials) == []
    credentials.write_text("rest:\n")
    assert startup.channel_problems(credentials) == []
    assert startup.channel_problems(tmp_path / "missing.yml") == [
        "channels: missing.yml cannot be read (FileNotFoundError)"
    ]
