"""bot/rasa/patches.py: each change to Rasa shown against Rasa's own, and the guards.

Every patch has a test below that runs Rasa with it and without it (the patch taken off with
`patches.restore`, then put back), so the list in patches.py is also proof that each one
still does what it says. Then the guards: another Rasa version, a missing symbol, a changed
signature are each refused with one line, before anything is changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException

from bot.commands import processes
from bot.rasa import patches
from bot.rasa import server as rasa_server
from tests.conftest import ROOT

SERVER_PATCHES = (
    patches.ACTION_RESULT_SCHEMA,
    patches.EVENT_LOOKUP,
    patches.KEEPALIVE_SESSIONS,
    patches.CURRENT_TURN_ONLY,
    patches.SIGNED_ACTION_CALLS,
    patches.ORGANISATION_SLOT,
    patches.MODEL_LOAD,
)
OTHER_VERSION = "3.7.0"
VERSION_LINE = (
    f"safeguard's Rasa patches were written for Rasa {patches.RASA_VERSION}; this is Rasa "
    f"{OTHER_VERSION}. Check each patch in bot/rasa/patches.py against the new Rasa, then "
    "update RASA_VERSION."
)


@pytest.fixture(autouse=True)
def installed() -> None:
    rasa_server.install()


@contextlib.contextmanager
def unpatched(patch: patches.Patch) -> Iterator[None]:
    """Rasa's own target for the duration; ours put back afterwards."""
    owner, name = patch.owner()
    assert patches.is_replaced(patch), f"{patch.name} is not installed"
    ours = vars(owner)[name]
    patches.restore(patch)
    assert not patches.is_replaced(patch)
    try:
        yield
    finally:
        patches.replace(patch, ours)
    assert vars(owner)[name] is ours


# -- the registry --------------------------------------------------------------------------


def test_the_registry_holds_every_patch_once_each_saying_what_and_why() -> None:
    declared = [v for v in vars(patches).values() if isinstance(v, patches.Patch)]
    assert sorted(p.name for p in declared) == sorted(p.name for p in patches.PATCHES)
    assert len({p.name for p in patches.PATCHES}) == len(patches.PATCHES)
    for patch in patches.PATCHES:
        assert patch.target.startswith("rasa."), patch.name
        assert patch.what and patch.why and patch.kind, patch.name
    patches.check_all()  # and every one fits the Rasa installed


def test_the_server_installs_its_patches_and_its_docstring_lists_every_patch() -> None:
    assert all(patches.is_replaced(patch) for patch in SERVER_PATCHES)
    doc = rasa_server.__doc__ or ""
    constants = {v.name: k for k, v in vars(patches).items() if isinstance(v, patches.Patch)}
    for patch in patches.PATCHES:
        owner_and_name = ".".join(patch.target.split(".")[-2:])
        assert owner_and_name in doc or patch.target in " ".join(doc.split()), patch.target
        assert f"patches.{constants[patch.name]}" in doc, patch.name


@pytest.mark.parametrize("patch", SERVER_PATCHES, ids=lambda p: p.name)
def test_each_server_patch_replaces_its_target_and_can_be_restored(patch: patches.Patch) -> None:
    owner, name = patch.owner()
    ours = vars(owner)[name]
    with unpatched(patch):
        rasas = vars(owner)[name]
        assert rasas is not ours
        assert getattr(rasas, "__module__", "").startswith("rasa."), "Rasa's own is back"
    assert vars(owner)[name] is ours


# -- what each patch changes -----------------------------------------------------------------


@pytest.mark.rasa
def test_a_model_loaded_without_a_training_step_predicts_as_rasas_own(trained_agent) -> None:  # noqa: ANN001
    """MODEL_LOAD: the same intents, confidences, entities and next actions as a model
    loaded by Rasa's own load (the `trained_agent` fixture loads with Rasa's own)."""
    import yaml
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    from tests.conftest import TRAINED_MODEL

    assert patches.is_replaced(patches.MODEL_LOAD)
    ours = Agent.load(str(TRAINED_MODEL))
    holdout = yaml.safe_load((ROOT / "tests" / "data" / "nlu_holdout.yml").read_text("utf-8"))
    texts = [
        line[2:]
        for block in holdout["nlu"]
        for line in block.get("examples", "").splitlines()
        if line.startswith("- ")
    ][::8]
    assert len(texts) > 40

    def parsed(agent: Agent, text: str) -> tuple:
        result = asyncio.run(agent.parse_message(text))
        ranking = [(r["name"], round(r["confidence"], 5)) for r in result["intent_ranking"]]
        entities = [(e["entity"], e["start"], e["end"]) for e in result.get("entities", [])]
        return result["intent"]["name"], ranking, entities

    differ = [t for t in texts if parsed(ours, t) != parsed(trained_agent, t)]
    assert differ == []

    def next_actions(agent: Agent, messages: list[str]) -> list[tuple[str, float]]:
        sender = "model-load-" + str(len(messages))
        predicted = []
        for message in messages:
            asyncio.run(agent.processor.log_message(UserMessage(message, sender_id=sender)))
            tracker = asyncio.run(agent.processor.fetch_tracker_with_initial_session(sender))
            best = agent.processor.predict_next_with_tracker(tracker)
            assert best is not None
            top = max(best["scores"], key=lambda s: s["score"])
            predicted.append((top["action"], round(top["score"], 5)))
        return predicted

    conversation = ["hello", "a boy in my group told me his uncle hurts him", "no"]
    assert next_actions(ours, conversation) == next_actions(trained_agent, conversation)


def test_action_result_schema_is_checked_once_not_per_reply(monkeypatch) -> None:  # noqa: ANN001
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator = validator_for(schema)
    checked: list[int] = []
    real = validator.check_schema.__func__

    def counting(cls, schema):  # noqa: ANN001, ANN202
        checked.append(1)
        return real(cls, schema)

    monkeypatch.setattr(validator, "check_schema", classmethod(counting))
    remote = RemoteAction("action_x", None)
    for _ in range(3):
        assert remote._validate_action_result({"events": [], "responses": []}) is True
    assert checked == [], "ours checks the schema once, at install"
    with unpatched(patches.ACTION_RESULT_SCHEMA):
        for _ in range(3):
            assert remote._validate_action_result({"events": [], "responses": []}) is True
    assert len(checked) == 3, "Rasa's checks the constant schema on every reply"


def test_event_lookup_remembers_each_class(monkeypatch) -> None:  # noqa: ANN001
    import rasa.shared.utils.common as common

    assert events.Event.resolve_by_type("user") is events.UserUttered  # now remembered

    def no_walk(_cls: type) -> list:
        raise AssertionError("walked every Event subclass")

    monkeypatch.setattr(common, "all_subclasses", no_walk)
    assert events.Event.resolve_by_type("user") is events.UserUttered
    with unpatched(patches.EVENT_LOOKUP), pytest.raises(AssertionError, match="walked"):
        events.Event.resolve_by_type("user")


def test_keepalive_sessions_one_session_per_endpoint_left_open() -> None:
    from rasa.utils.endpoints import EndpointConfig

    async def sessions() -> tuple[Any, Any]:
        endpoint = EndpointConfig(url="http://127.0.0.1:9/webhook")
        async with endpoint.session() as first:
            pass
        async with endpoint.session() as second:
            pass
        return first, second

    async def ours() -> None:
        first, second = await sessions()
        assert first is second and not first.closed
        await first.close()

    async def rasas() -> None:
        first, second = await sessions()
        assert first is not second and first.closed and second.closed

    asyncio.run(ours())
    with unpatched(patches.KEEPALIVE_SESSIONS):
        asyncio.run(rasas())


def test_current_turn_only_is_sent_to_the_action_server() -> None:
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.empty()
    tracker = DialogueStateTracker.from_events(
        "worker-1",
        [
            ActionExecuted("action_listen"),
            UserUttered("he comes in my room at night", {"name": "nlu_fallback"}),
            SlotSet("child_words", "he comes in my room at night"),
            ActionExecuted("action_listen"),
            UserUttered("she was shaking", {"name": "nlu_fallback"}),
        ],
    )
    remote = RemoteAction("validate_disclosure_form", None)
    sent = remote._action_call_format(tracker, domain)["tracker"]["events"]
    assert [e["event"] for e in sent] == ["action", "user"]
    assert "he comes in my room" not in str(sent)
    with unpatched(patches.CURRENT_TURN_ONLY):
        everything = remote._action_call_format(tracker, domain)["tracker"]["events"]
    assert len(everything) == 5 and "he comes in my room" in str(everything)


def test_signed_action_calls_carry_the_action_secret(tmp_path) -> None:  # noqa: ANN001
    from rasa.core.utils import AvailableEndpoints

    from bot.config.secrets import ACTION_SECRET, shared_secret
    from bot.rasa.action_server import HEADER

    path = tmp_path / "endpoints.yml"
    path.write_text('action_endpoint:\n  url: "http://127.0.0.1:5055/webhook"\n', "utf-8")
    headers = AvailableEndpoints.read_endpoints(str(path)).action.headers
    assert headers[HEADER] == shared_secret(ACTION_SECRET)
    assert shared_secret(ACTION_SECRET) not in path.read_text("utf-8")
    with unpatched(patches.SIGNED_ACTION_CALLS):
        headers = AvailableEndpoints.read_endpoints(str(path)).action.headers
    assert HEADER not in (headers or {})


def test_organisation_slot_starts_as_the_deployments_organisation(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")

    def organisation() -> Any:  # noqa: ANN401
        domain = Domain.load(str(ROOT / "domain.yml"))
        return next(s for s in domain.slots if s.name == "organisation").initial_value

    assert organisation() == "childrens-society"
    with unpatched(patches.ORGANISATION_SLOT):
        assert organisation() is None


def test_action_wait_is_shortened_and_restorable() -> None:
    import rasa.core.actions.action as rasa_action

    from bot.rasa.channels.rest import limit_action_wait

    rasas = float(patches.original(patches.ACTION_WAIT))
    assert rasas == 300.0  # Rasa 3.6's hard-coded wait, whatever ran before this test
    try:
        assert limit_action_wait(4.0) == 4.0 == rasa_action.DEFAULT_REQUEST_TIMEOUT
        assert limit_action_wait(600.0) == 4.0, "never lengthened"
        assert patches.is_replaced(patches.ACTION_WAIT)
    finally:
        patches.restore(patches.ACTION_WAIT)
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == rasas


def test_tracker_retrieve_override_opens_what_rasas_would_read_sealed(tmp_path) -> None:  # noqa: ANN001
    from cryptography.fernet import Fernet
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa.tracker_store import ProtectedSQLTrackerStore

    words = "Mr Quillfeather locks me in the coal shed"
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = ProtectedSQLTrackerStore(
        domain=domain, host=f"sqlite:///{tmp_path / 't.db'}", key=Fernet.generate_key()
    )
    tracker = DialogueStateTracker.from_events(
        "w", [ActionExecuted("action_listen"), UserUttered(words, {"name": "nlu_fallback"})]
    )
    asyncio.run(store.save(tracker))
    assert "_retrieve" in vars(ProtectedSQLTrackerStore)
    opened = asyncio.run(store.retrieve("w"))
    assert opened is not None and opened.latest_message.text == words
    # Rasa's own _retrieve on the same rows cannot rebuild the conversation: each user
    # event is a sealed token (Rasa 3.6.21 fails reading its parse data).
    with pytest.raises(AttributeError):
        asyncio.run(SQLTrackerStore._retrieve(store, "w", False))


# -- the guards ------------------------------------------------------------------------------


@pytest.fixture
def other_rasa(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(rasa, "__version__", OTHER_VERSION)


def targets() -> dict[str, Any]:
    values = {}
    for patch in patches.PATCHES:
        owner, name = patch.owner()
        values[patch.name] = vars(owner).get(name)
    return values


@pytest.mark.parametrize("patch", patches.PATCHES, ids=lambda p: p.name)
def test_another_rasa_version_is_refused_in_one_line(other_rasa, patch: patches.Patch) -> None:  # noqa: ANN001
    with pytest.raises(patches.RasaPatchError) as refused:
        patch.require()
    assert str(refused.value) == VERSION_LINE
    before = targets()
    with pytest.raises(patches.RasaPatchError, match="written for Rasa 3.6.21"):
        patches.replace(patch, vars(patch.owner()[0])[patch.owner()[1]])
    assert targets() == before, "nothing changed"


def test_the_server_refuses_another_rasa_before_changing_anything(other_rasa, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(rasa_server, "_installed", False)
    before = targets()
    with pytest.raises(patches.RasaPatchError) as refused:
        rasa_server.install()
    assert str(refused.value) == VERSION_LINE
    assert targets() == before


def test_the_rest_channel_and_tracker_store_refuse_another_rasa(other_rasa) -> None:  # noqa: ANN001
    import rasa.core.actions.action as rasa_action

    from bot.rasa.channels.rest import SafeRestInput, limit_action_wait
    from bot.rasa.tracker_store import ProtectedSQLTrackerStore

    wait = rasa_action.DEFAULT_REQUEST_TIMEOUT
    for refused_call in (
        lambda: limit_action_wait(1.0),
        lambda: SafeRestInput(reply_within=5.0, action_timeout=1.0),
        lambda: ProtectedSQLTrackerStore(host="sqlite://"),
    ):
        with pytest.raises(patches.RasaPatchError) as refused:
            refused_call()
        assert str(refused.value) == VERSION_LINE
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == wait


def test_the_error_is_one_line_for_rasa_too_and_never_swallowed() -> None:
    # Rasa's command line prints a RasaException as one line; its tracker-store loader
    # swallows AttributeError and ImportError (and falls back to the in-memory store), and
    # its session_scope turns a ValueError into "schema not found".
    assert issubclass(patches.RasaPatchError, RasaException)
    for swallowed in (AttributeError, ImportError, ValueError):
        assert not issubclass(patches.RasaPatchError, swallowed)


def test_the_launcher_prints_the_one_line_and_stops() -> None:
    fake = (
        f"import sys, rasa; rasa.__version__ = {OTHER_VERSION!r}; sys.argv = ['x', '--version'];"
        "from bot.rasa.server import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", fake],
        cwd=ROOT,
        env=processes.child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == VERSION_LINE
    assert "Rasa Version" not in result.stdout, "Rasa did not start"


@pytest.mark.parametrize("patch", patches.PATCHES, ids=lambda p: p.name)
def test_a_missing_target_is_refused(monkeypatch, patch: patches.Patch) -> None:  # noqa: ANN001
    owner, name = patch.owner()
    monkeypatch.delattr(owner, name)
    with pytest.raises(patches.RasaPatchError) as refused:
        patch.require()
    message = str(refused.value)
    assert "\n" not in message
    assert (
        f"needs {patch.target}, which Rasa {patches.RASA_VERSION} does not have" in message
        # A class's __init__ (object's) or a method still inherited from a base class
        or f"{patch.target} is no longer defined there" in message
    )
    with pytest.raises(patches.RasaPatchError):
        patches.check_all()


def test_a_missing_symbol_a_patch_uses_is_refused(monkeypatch) -> None:  # noqa: ANN001
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.rasa.tracker_store import ProtectedSQLTrackerStore

    monkeypatch.delattr(SQLTrackerStore, "_event_query")
    with pytest.raises(patches.RasaPatchError, match=r"SQLTrackerStore\._event_query"):
        ProtectedSQLTrackerStore(host="sqlite://")


def test_an_override_rasa_now_calls_differently_is_refused(monkeypatch) -> None:  # noqa: ANN001
    from rasa.core.tracker_store import SQLTrackerStore

    async def _retrieve(self, sender_id, fetch_all_sessions):  # noqa: ANN001, ANN202
        return None

    monkeypatch.setattr(SQLTrackerStore, "_retrieve", _retrieve)
    with pytest.raises(patches.RasaPatchError) as refused:
        patches.TRACKER_RETRIEVE.require()
    assert "takes (self, sender_id, fetch_all_sessions)" in str(refused.value)
    assert "\n" not in str(refused.value)


class _Base:
    def method(self) -> int:
        return 1


class _Child(_Base):
    pass


def test_a_target_no_longer_defined_where_the_patch_says_is_refused() -> None:
    # As if Rasa moved the method to a base class: replacing it on the subclass might not
    # change what Rasa runs.
    moved = patches.Patch(
        name="moved",
        target="tests.test_rasa_patches._Child.method",
        kind="replaced",
        what="x",
        why="y",
    )
    with pytest.raises(patches.RasaPatchError, match="no longer defined there"):
        patches.replace(moved, lambda self: 2)
    assert "method" not in vars(_Child)
