"""bot.rasa.server: the cached schema check and event lookup behave exactly like Rasa's own."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.shared.utils.common import all_subclasses

from bot.commands import processes
from bot.rasa import server as rasa_server
from tests.conftest import ROOT

SPEC = RemoteAction.action_response_format_spec()

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "child_age", "value": "14"}],
        "responses": [{"text": "How old are they?", "buttons": []}],
    },
]
INVALID = [
    {"events": [{"name": "no event key"}]},
    {"events": "not a list"},
    {"responses": "not a list"},
    {"events": [{"event": 7}]},
]


@pytest.fixture(scope="module")
def remote() -> RemoteAction:
    rasa_server.install()
    rasa_server.install()  # twice is harmless
    return RemoteAction("action_x", None)


def rasa_message(result: dict) -> str | None:
    """What Rasa's own `jsonschema.validate` says about `result` (None when valid)."""
    try:
        jsonschema.validate(result, SPEC)
    except jsonschema.ValidationError as exc:
        return exc.message
    return None


@pytest.mark.parametrize("result", VALID)
def test_valid_replies_pass(remote: RemoteAction, result: dict) -> None:
    assert rasa_message(result) is None
    assert remote._validate_action_result(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_replies_fail_with_rasas_message(remote: RemoteAction, result: dict) -> None:
    expected = rasa_message(result)
    assert expected is not None, "the case must be invalid for Rasa too"
    with pytest.raises(jsonschema.ValidationError) as caught:
        remote._validate_action_result(result)
    assert caught.value.message.startswith(expected)
    assert "Failed to validate Action server response" in caught.value.message


def test_every_event_type_resolves_to_rasas_class(remote: RemoteAction) -> None:
    del remote  # installed
    classes = [c for c in all_subclasses(events.Event) if getattr(c, "type_name", None)]
    assert len(classes) > 15
    for _ in range(2):  # first lookup fills the cache, second reads it
        for cls in classes:
            expected = next(c for c in all_subclasses(events.Event) if c.type_name == cls.type_name)
            assert events.Event.resolve_by_type(cls.type_name) is expected


def test_unknown_event_types_behave_as_in_rasa(remote: RemoteAction) -> None:
    del remote
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        events.Event.resolve_by_type("no_such_event")
    assert events.Event.resolve_by_type("topic") is None
    assert events.Event.resolve_by_type("no_such_event", events.UserUttered) is events.UserUttered
    # a default is never remembered as the answer for that name
    with pytest.raises(ValueError):
        events.Event.resolve_by_type("no_such_event")


def test_serve_starts_rasa_through_the_launcher(tmp_path) -> None:  # noqa: ANN001
    cmd = processes.rasa_run_cmd(tmp_path / "m.tar.gz", 5999, 5998)
    assert cmd[:4] == [sys.executable, "-m", "bot.rasa.server", "run"]
    result = subprocess.run(
        [*cmd[:3], "--version"],
        cwd=ROOT,
        env=processes.child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Rasa Version" in result.stdout and "3.6." in result.stdout


# -- one keep-alive session per endpoint (bot.rasa.server, 3.) ------------------------------


class LoopbackServer:
    """An aiohttp server on loopback that notes which TCP connection carried each request."""

    def __init__(self, keepalive: float = 75.0) -> None:
        self.keepalive = keepalive
        self.peers: list[tuple[str, int]] = []
        self.seen: list[dict] = []
        self.runner = None
        self.port = 0

    async def start(self, port: int = 0) -> LoopbackServer:
        from aiohttp import web

        async def webhook(request: web.Request) -> web.StreamResponse:
            self.peers.append(request.transport.get_extra_info("peername"))
            self.seen.append(
                {
                    "headers": dict(request.headers),
                    "query": dict(request.query),
                    "body": await request.json(),
                }
            )
            action = self.seen[-1]["body"].get("next_action")
            if action == "fail":
                return web.json_response({"error": "no"}, status=500)
            if action == "text":
                return web.Response(text="plain", content_type="text/plain")
            if action == "hang":
                await asyncio.sleep(5)
            return web.json_response({"events": [], "responses": [], "n": len(self.seen)})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        self.runner = web.AppRunner(app, keepalive_timeout=self.keepalive)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()


def endpoint(port: int, **extra):  # noqa: ANN003, ANN201
    from rasa.utils.endpoints import EndpointConfig

    return EndpointConfig(url=f"http://127.0.0.1:{port}/webhook", **extra)


def run(coro):  # noqa: ANN001, ANN201
    rasa_server.install()
    return asyncio.run(coro)


def test_action_calls_reuse_one_connection() -> None:
    async def scenario() -> LoopbackServer:
        server = await LoopbackServer().start()
        action = endpoint(server.port)
        for n in range(1, 6):
            reply = await action.request(json={"next_action": "validate"}, method="post")
            assert reply["n"] == n
        await server.stop()
        return server

    server = run(scenario())
    assert len(server.peers) == 5
    assert len(set(server.peers)) == 1, "every call opened a new TCP connection"


def test_headers_token_errors_and_plain_replies_as_in_rasa() -> None:
    from rasa.utils.endpoints import ClientResponseError

    async def scenario() -> tuple[LoopbackServer, object]:
        server = await LoopbackServer().start()
        action = endpoint(server.port, token="s3cret", headers={"X-Org": "generic"})
        with pytest.raises(ClientResponseError) as failed:
            await action.request(json={"next_action": "fail"}, method="post")
        assert failed.value.status == 500
        plain = await action.request(json={"next_action": "text"}, method="post")
        await server.stop()
        return server, plain

    server, plain = run(scenario())
    assert plain is None  # not JSON: None, as Rasa returns
    for seen in server.seen:
        assert seen["query"] == {"token": "s3cret"}
        assert seen["headers"]["X-Org"] == "generic"
        assert seen["headers"]["Content-Type"] == "application/json"


def test_the_per_call_timeout_still_applies() -> None:
    async def scenario() -> float:
        server = await LoopbackServer().start()
        action = endpoint(server.port)
        started = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.TimeoutError):
            await action.request(json={"next_action": "hang"}, method="post", timeout=0.3)
        took = asyncio.get_running_loop().time() - started
        await server.stop()
        return took

    assert run(scenario()) < 2


def test_we_close_an_idle_connection_ourselves(monkeypatch) -> None:  # noqa: ANN001
    # The server would keep the connection for 75 s; we let it go after KEEPALIVE_SECONDS,
    # so we never send on a connection the action server (Sanic: 5 s) is closing.
    monkeypatch.setattr(rasa_server, "KEEPALIVE_SECONDS", 0.2)

    async def scenario() -> LoopbackServer:
        server = await LoopbackServer(keepalive=75).start()
        action = endpoint(server.port)
        await action.request(json={"next_action": "validate"}, method="post")
        await asyncio.sleep(0.9)
        await action.request(json={"next_action": "validate"}, method="post")
        await server.stop()
        return server

    server = run(scenario())
    assert len(server.seen) == 2
    assert server.peers[0] != server.peers[1]


def test_an_action_server_restart_between_calls_is_not_an_error() -> None:
    # The fail-safe tests kill and restart the action server mid-form; the next call must
    # reach the new server, not fail on the dead server's pooled connection.
    async def scenario() -> int:
        first = await LoopbackServer().start()
        action = endpoint(first.port)
        await action.request(json={"next_action": "validate"}, method="post")
        await first.stop()
        await asyncio.sleep(0.1)
        second = await LoopbackServer().start(first.port)
        reply = await action.request(json={"next_action": "validate"}, method="post")
        await second.stop()
        return reply["n"]

    assert run(scenario()) == 1


def test_each_event_loop_gets_its_own_session() -> None:
    async def one_call(action) -> None:  # noqa: ANN001
        server = await LoopbackServer().start()
        action.url = f"http://127.0.0.1:{server.port}/webhook"
        await action.request(json={"next_action": "validate"}, method="post")
        await server.stop()

    action = endpoint(1)
    run(one_call(action))
    run(one_call(action))  # a session bound to the first (closed) loop would fail here


# -- the action server is sent the current turn, not the whole history (4.) ----------------


def conversation():  # noqa: ANN201
    """A tracker part-way through the form: two earlier answers, then the latest one."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        BotUttered,
        SessionStarted,
        SlotSet,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(ROOT / "domain.yml")
    tracker = DialogueStateTracker("worker-9", domain.slots)

    def said(text: str, intent: str = "nlu_fallback") -> UserUttered:
        return UserUttered(
            text, {"name": intent, "confidence": 1.0}, input_channel="rest", message_id=f"id-{text}"
        )

    for event in [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        said("need to record a disclosure", "start_disclosure"),
        ActionExecuted("disclosure_form"),
        ActiveLoop("disclosure_form"),
        SlotSet("requested_slot", "child_words"),
        BotUttered("What did the child say?"),
        ActionExecuted("action_listen"),
        said("he comes in my room at night"),
        SlotSet("child_words", "he comes in my room at night"),
        ActionExecuted("disclosure_form"),
        SlotSet("child_words", "he comes in my room at night"),
        SlotSet("requested_slot", "observations"),
        BotUttered("What did you see?"),
        ActionExecuted("action_listen"),
        said("she was shaking"),
        SlotSet("observations", "she was shaking"),
    ]:
        tracker.update(event, domain)
    return tracker, domain


def test_the_action_server_gets_the_current_turn_and_the_whole_state() -> None:
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker

    rasa_server.install()
    tracker, domain = conversation()
    call = RemoteAction("validate_disclosure_form", None)._action_call_format(tracker, domain)
    sent = call["tracker"]
    assert [e["event"] for e in sent["events"]] == ["action", "user", "slot"]
    assert sent["events"][0]["name"] == "action_listen"
    assert sent["events"][1]["text"] == "she was shaking"
    # The earlier answers are not sent as events, but the state still holds them.
    assert "he comes in my room" not in json.dumps(sent["events"])
    everything = tracker.current_state(EventVerbosity.ALL)
    for key in everything.keys() - {"events"}:
        assert sent[key] == everything[key], key
    assert call["next_action"] == "validate_disclosure_form"
    assert call["domain"] == domain.as_dict()
    # What rasa_sdk reads from the events is the same as with the whole history.
    mine, full = Tracker.from_dict(sent), Tracker.from_dict(everything)
    assert (
        mine.slots_to_validate() == full.slots_to_validate() == {"observations": "she was shaking"}
    )
    assert mine.get_latest_input_channel() == full.get_latest_input_channel() == "rest"
    assert mine.latest_message == full.latest_message
    assert mine.get_slot("child_words") == "he comes in my room at night"


def test_with_no_user_message_yet_every_event_is_sent() -> None:
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    events = [ActionExecuted("action_session_start"), SessionStarted()]
    assert rasa_server.current_turn(events) == events
    assert rasa_server.current_turn([]) == []
