"""bot.rasa_server: the cached schema check and event lookup behave exactly like Rasa's own."""

from __future__ import annotations

import subprocess
import sys

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.shared.utils.common import all_subclasses

from bot import processes, rasa_server
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
    assert cmd[:4] == [sys.executable, "-m", "bot.rasa_server", "run"]
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
