"""Run Rasa's command line with safeguard's patches: `python -m bot.rasa.server run ...`.

`safeguard serve` (and the benchmarks) start the Rasa server through this module
(bot/commands/processes.py, `rasa_run_cmd`). Before Rasa starts, `install` checks every patch
in bot/rasa/patches.py against the installed Rasa (`patches.check_all`: the Rasa version they
were written for, and every Rasa symbol they change or use); a stale one stops the server with
one line, before anything is changed. Then it makes these seven changes to Rasa in this process
(each a `Patch` in bot/rasa/patches.py, with the Rasa symbol it replaces):

Speed-ups, pure caching or trimming of work Rasa 3.6 repeats on every message; what Rasa
accepts, rejects and does is unchanged. Found by profiling a scripted disclosure with py-spy
(`make bench`; README "Performance"):

1. `RemoteAction._validate_action_result` (patches.ACTION_RESULT_SCHEMA): half the Rasa
   server's CPU went on validating each action server reply with `jsonschema.validate`,
   which first checks the *schema itself* against the JSON Schema 2020-12 meta-schema, on
   every call (slow in jsonschema 4.x). The schema is a constant, so it is checked once and
   the compiled validator reused; a reply that breaks it raises the same `ValidationError`,
   with the same message.
2. `Event.resolve_by_type` (patches.EVENT_LOOKUP): every event read back from the tracker
   store looked its class up by walking all of `Event`'s subclasses (~8% of the CPU). The
   name -> class answers are remembered; unknown names still go through Rasa's own lookup
   (and error).
3. `EndpointConfig.session` (patches.KEEPALIVE_SESSIONS): every call to the action server
   opened a new HTTP client session and TCP connection and closed them after the reply
   (`EndpointConfig.request`). Each of those steps hands the event loop to other
   conversations, so with 20 at once a form answer waited behind them three or four times
   per action call: the action-server call was ~75% of the slowest 10% of turns. One
   keep-alive session per endpoint is now reused. It closes an idle connection after
   KEEPALIVE_SECONDS, before the action server would (Sanic: 5 s), so a request never goes
   out on a connection the server is closing.
4. `RemoteAction._action_call_format` (patches.CURRENT_TURN_ONLY): every call to the action
   server carried the whole conversation: every event since it began, serialised, sent and
   parsed again on each form answer, so the later answers of a disclosure cost more than the
   first. The actions need the conversation's state (slots, latest message, active form: all
   still sent) and only the events of the current turn (rasa_sdk reads the form's slot
   candidates and the latest user message from them). The call now carries the events from
   the worker's latest message on (`current_turn`). This is also less of a child's story
   passing to the action server on every call.

Not speed-ups:

5. `AvailableEndpoints.read_endpoints` (patches.SIGNED_ACTION_CALLS, `_sign_action_calls`):
   every call to the action server carries the deployment's action secret
   (bot/rasa/action_server.py refuses calls without it), added to the action endpoint as it
   is read from the endpoints file, so the secret is never written to that file.
6. `Domain.__init__` (patches.ORGANISATION_SLOT, `_organisation_slot`): every
   conversation's `organisation` slot starts as the deployment's organisation, so the
   domain's responses cite only its own policy.

And start-up:

7. `RasaModel.load` (patches.MODEL_LOAD, `load_models_without_a_training_step`): Rasa built
   each of its TensorFlow models (the intent classifier, the response selector, the
   dialogue policy) by tracing and running one *training* step before overwriting the
   weights with the saved ones: about half of a Rasa start (27 s to 16 s for the whole
   model, measured with `Agent.load` on this 2-core machine). The saved weights are now
   restored as the model's first prediction creates its variables; the predictions are the
   same (tests/test_rasa_patches.py compares them with Rasa's own load). A crashed Rasa
   server under `serve` answers again sooner.

And one setting, not a patch: the Rasa server reads request bodies of at most
`MAX_REQUEST_BYTES` (SANIC_REQUEST_MAX_SIZE; Sanic's own default is 100 MB), so a hostile
POST cannot make it hold a huge body in memory.

Rasa is changed in two more places, outside this module, both guarded by the same
patches.py: bot/rasa/channels/rest.py shortens `rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT`
(patches.ACTION_WAIT), and bot/rasa/tracker_store.py overrides the private
`SQLTrackerStore._retrieve` (patches.TRACKER_RETRIEVE).
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from bot.config import settings
from bot.config.secrets import ACTION_SECRET, shared_secret
from bot.core.pack import available_orgs
from bot.rasa import patches

_installed = False

# The largest request body Sanic reads (SANIC_REQUEST_MAX_SIZE; set it to override): above the
# REST channel's own limit (bot.core.limits.MAX_BODY_BYTES), which answers with 999 and the
# numbers; a body over this gets Sanic's bare 413 (none of our clients sends one).
MAX_REQUEST_BYTES = 2 * 1024 * 1024

# Below the action server's own keep-alive (Sanic's KEEP_ALIVE_TIMEOUT, 5 s by default).
KEEPALIVE_SECONDS = 2.0


def _compiled_validator(schema: dict[str, Any]) -> Any:  # noqa: ANN401

    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Patch Rasa in this process (idempotent); refuses (patches.RasaPatchError, one line)
    on a Rasa the patches were not written for, before changing anything."""
    global _installed
    if _installed:
        return
    patches.check_all()
    _check_action_results_once()
    _remember_event_classes()
    _reuse_endpoint_sessions()
    _send_only_the_current_turn()
    _sign_action_calls()
    _organisation_slot()
    load_models_without_a_training_step()
    _installed = True


def _check_action_results_once() -> None:
    """1. above: Rasa's check of an action server reply, with the schema checked once."""
    from rasa.core.actions import (  # heavy: imported on first use, not at start-up
        action as rasa_action,  # heavy: imported on first use, not at start-up
    )

    validator = _compiled_validator(rasa_action.RemoteAction.action_response_format_spec())
    docs = rasa_action.DOCS_BASE_URL

    def _validate_action_result(self, result: dict[str, Any]) -> bool:  # noqa: ANN001
        # As rasa.core.actions.action.RemoteAction._validate_action_result, with the
        # (constant) schema checked once instead of per call.
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{docs}/custom-actions"
        )
        raise error

    patches.replace(patches.ACTION_RESULT_SCHEMA, _validate_action_result)


def _remember_event_classes() -> None:
    """2. above: an event name's class is looked up once."""
    original = patches.original(patches.EVENT_LOOKUP)
    found: dict[str, type] = {}

    @functools.wraps(original)
    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    patches.replace(patches.EVENT_LOOKUP, staticmethod(resolve_by_type))


ORG_SLOT = "organisation"


def deployment_org() -> str | None:
    """The organisation this server answers for (SAFEGUARD_ORG, default generic), if it
    has a policy pack; None otherwise (responses then cite no organisation's policy)."""

    org = settings.org()
    return org if org in available_orgs() else None


def _organisation_slot() -> None:
    """Every conversation starts with the `organisation` slot set to this deployment's
    organisation (its initial value, so no event is written and no action server call is
    needed, even when the action server is down). The domain's responses choose the
    variation citing only that organisation's policy (domain.yml, condition on the slot).

    Not a speed-up (6. above): the one place a server-wide setting can
    reach Rasa's response selection before the first message."""
    original = patches.original(patches.ORGANISATION_SLOT)

    @functools.wraps(original)
    def init(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN001
        original(self, *args, **kwargs)
        org = deployment_org()
        for slot in self.slots:
            if slot.name == ORG_SLOT and org and slot.initial_value is None:
                slot.initial_value = org
                slot.value = org

    patches.replace(patches.ORGANISATION_SLOT, init)


def load_models_without_a_training_step() -> None:
    """7. above: a model loaded to predict is built by one prediction, not a training step.

    Public: tests that load the trained model in-process (an `Agent`) start faster with it
    too. Idempotent."""
    if patches.is_replaced(patches.MODEL_LOAD):
        return
    import tensorflow as tf  # heavy: imported on first use, not at start-up
    from rasa.utils.tensorflow.constants import LEARNING_RATE  # heavy: with TensorFlow

    original = patches.original(patches.MODEL_LOAD)

    def load(  # noqa: ANN202
        cls,  # noqa: ANN001
        model_file_name,  # noqa: ANN001
        model_data_example,  # noqa: ANN001
        predict_data_example=None,  # noqa: ANN001
        finetune_mode=False,  # noqa: ANN001
        *args,  # noqa: ANN002
        **kwargs,  # noqa: ANN003
    ):
        # As rasa.utils.tensorflow.models.RasaModel.load, without its `model.fit` on one
        # example: that traced and ran a whole training step only to create the variables,
        # then overwrote them with the saved weights. Restored in TensorFlow's checkpoint
        # format, the weights are given to each variable as the first prediction creates
        # it, so the model predicts exactly as Rasa's load would (tests/test_rasa_patches).
        # Fine-tuning needs the optimizer's state: Rasa's own load.
        if finetune_mode or predict_data_example is None:
            return original(
                model_file_name, model_data_example, predict_data_example, finetune_mode,
                *args, **kwargs,
            )  # fmt: skip
        model = cls(*args, **kwargs)
        learning_rate = kwargs.get("config", {}).get(LEARNING_RATE, 0.001)
        model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate))
        # The optimizer's slots in the file are never needed to predict.
        model.load_weights(model_file_name).expect_partial()
        model.run_inference(predict_data_example)
        return model

    patches.replace(patches.MODEL_LOAD, classmethod(load))


def _sign_action_calls() -> None:
    """The action endpoint, as read from the endpoints file, sends the action secret."""
    from bot.rasa.action_server import HEADER  # heavy: imported on first use, not at start-up

    original = patches.original(patches.SIGNED_ACTION_CALLS).__func__

    def read_endpoints(cls, endpoint_file):  # noqa: ANN001, ANN202
        endpoints = original(cls, endpoint_file)
        if endpoints.action is not None:
            endpoints.action.headers = {
                **(endpoints.action.headers or {}),
                HEADER: shared_secret(ACTION_SECRET),
            }
        return endpoints

    patches.replace(patches.SIGNED_ACTION_CALLS, classmethod(read_endpoints))


def current_turn(events: Any) -> list[Any]:  # noqa: ANN401
    """The events from the `action_listen` before the latest user message to the end (all
    of them when there is no user message yet)."""
    from rasa.shared.core.events import (  # heavy: imported on first use, not at start-up
        ActionExecuted,
        UserUttered,
    )

    recent: list[Any] = []
    found_user = False
    for event in reversed(events):
        if found_user:
            if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
                recent.append(event)
            break
        recent.append(event)
        found_user = isinstance(event, UserUttered)
    if not found_user:
        return list(events)
    recent.reverse()
    return recent


def _send_only_the_current_turn() -> None:
    """4. above: `RemoteAction._action_call_format` as in Rasa 3.6.21 (the only change:
    `current_turn` events, and so EventVerbosity.NONE for the rest of the state)."""
    import rasa  # heavy: imported on first use, not at start-up
    from rasa.shared.core.trackers import (  # heavy: imported on first use, not at start-up
        EventVerbosity,  # heavy: imported on first use, not at start-up
    )

    def _action_call_format(self, tracker, domain) -> dict[str, Any]:  # noqa: ANN001
        state = tracker.current_state(EventVerbosity.NONE)
        state["events"] = [event.as_dict() for event in current_turn(tracker.events)]
        result = {
            "next_action": self._name,
            "sender_id": tracker.sender_id,
            "tracker": state,
            "version": rasa.__version__,
        }
        if (
            not self._is_selective_domain_enabled()
            or domain.does_custom_action_explicitly_need_domain(self.name())
        ):
            result["domain"] = domain.as_dict()
        return result

    patches.replace(patches.CURRENT_TURN_ONLY, _action_call_format)


def _shared_session(endpoint: Any) -> Any:  # noqa: ANN401
    """This endpoint's keep-alive client session for the running event loop."""

    import aiohttp  # heavy: imported on first use, not at start-up
    from rasa.utils.endpoints import (  # heavy: imported on first use, not at start-up
        DEFAULT_REQUEST_TIMEOUT,  # heavy: imported on first use, not at start-up
    )

    loop = asyncio.get_running_loop()
    sessions = endpoint.__dict__.setdefault("_safeguard_sessions", {})
    session = sessions.get(loop)
    if session is None or session.closed:
        # Sessions of event loops that have ended (tests run several) are dropped.
        for old in [known for known in sessions if known.is_closed()]:
            del sessions[old]
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(
                endpoint.basic_auth["username"], endpoint.basic_auth["password"]
            )
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
        sessions[loop] = session
    return session


class _Borrowed:
    """`async with` over a shared session that leaves it open afterwards."""

    def __init__(self, session: Any) -> None:  # noqa: ANN401
        self.session = session

    async def __aenter__(self) -> Any:  # noqa: ANN401
        return self.session

    async def __aexit__(self, *_exc: object) -> None:
        return None


def _reuse_endpoint_sessions() -> None:
    """Rasa's `EndpointConfig.request` does `async with self.session()` for each call; the
    session it gets is now the endpoint's shared one, left open (3. above)."""

    def session(self: Any) -> _Borrowed:  # noqa: ANN401
        return _Borrowed(_shared_session(self))

    patches.replace(patches.KEEPALIVE_SESSIONS, session)


def main() -> None:

    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(MAX_REQUEST_BYTES))
    try:
        install()
    except patches.RasaPatchError as exc:
        # One line, no traceback: which Rasa, and where to look.
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
    from rasa.__main__ import main as rasa_main  # heavy: imported on first use, not at start-up

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
