"""Every place safeguard changes Rasa's own code, named, with why, and guarded.

Each replaces or overrides a part of Rasa that is not a stable interface (private methods,
a module global, a constructor), so it may change in any release without notice, and a
patch that no longer fits could silently stop doing its job (a secret not sent, a sealed
event not opened). Each is a `Patch` in `PATCHES` below: the Rasa symbol it changes, what
our version does instead, and why. They were written against Rasa `RASA_VERSION` and are
refused on any other, in one line (`RasaPatchError`), before anything is changed; each
target (and every other Rasa symbol our code relies on) must also still exist, and an
override must take the parameters Rasa calls it with. Upgrading Rasa: read each patch
below against the new Rasa's source, then update `RASA_VERSION`.

Who applies them: bot/rasa/server.py (`install`, the Rasa server's launcher) the first
seven; bot/rasa/channels/rest.py the action wait; bot/rasa/tracker_store.py overrides the
SQL store's `_retrieve` in its own subclass. The launcher checks all of them (`check_all`)
before Rasa starts, so a stale patch stops the server with one line.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from rasa.shared.exceptions import RasaException

RASA_VERSION = "3.6.21"
"""The Rasa release every patch below was written for and checked against."""

PATCHES_FILE = "bot/rasa/patches.py"


class RasaPatchError(RasaException):
    """A patch cannot be applied to this Rasa (one plain line). A RasaException, so Rasa's
    own command line prints it as one line too; never an AttributeError or ImportError,
    which Rasa's tracker-store loader would swallow (it falls back to the in-memory store)."""


@dataclass(frozen=True)
class Patch:
    """One change to Rasa: `target` is replaced (or overridden, or rewritten)."""

    name: str
    target: str  # the Rasa symbol changed, dotted: module path, then attributes
    kind: str  # "replaced", "wrapped", "module global" or "overridden in <our class>"
    what: str
    why: str
    # Other Rasa symbols our code relies on (calls, or reads): they must exist too.
    uses: tuple[str, ...] = ()
    # For an override in our own subclass: that class, dotted (its method must take the
    # same parameters as Rasa's, since Rasa's own code calls it).
    override: str | None = None

    def owner(self) -> tuple[Any, str]:
        """The object holding the target (a class or module) and the attribute's name."""
        path, _, name = self.target.rpartition(".")
        return _resolve(path, self), name

    def require(self) -> None:
        """Refuse (RasaPatchError, one line) unless this Rasa is the one the patch was
        written for and has the target and everything the patch uses."""
        check_rasa_version()
        for symbol in (self.target, *self.uses):
            _resolve(symbol, self)
        owner, name = self.owner()
        if isinstance(owner, type) and name not in vars(owner):
            # Moved to a base class (or gone, leaving object's): changing it on this class
            # might not change what Rasa runs.
            raise RasaPatchError(
                f"safeguard's Rasa patch {self.name!r}: {self.target} is no longer defined "
                f"there in Rasa {rasa_version()}. Check the patch in {PATCHES_FILE} against "
                "this Rasa."
            )
        if self.override:
            ours = _resolve(self.override, self)
            _same_parameters(self, _resolve(self.target, self), getattr(ours, self.owner()[1]))


# The registry: the one list of every change safeguard makes to Rasa.

ACTION_RESULT_SCHEMA = Patch(
    name="action_result_schema",
    target="rasa.core.actions.action.RemoteAction._validate_action_result",
    kind="replaced",
    what="checks each action server reply with a validator compiled once from Rasa's "
    "schema; the same replies pass, the same ValidationError (same message) for the rest",
    why="jsonschema.validate checked the constant schema itself against the meta-schema "
    "on every reply: half the Rasa server's CPU (py-spy, `make bench`)",
    uses=(
        "rasa.core.actions.action.RemoteAction.action_response_format_spec",
        "rasa.core.actions.action.DOCS_BASE_URL",
    ),
)

EVENT_LOOKUP = Patch(
    name="event_lookup",
    target="rasa.shared.core.events.Event.resolve_by_type",
    kind="wrapped",
    what="remembers each event name's class; unknown names still go to Rasa's lookup "
    "(and its error), a default is never remembered",
    why="every event read back from the tracker store walked all of Event's subclasses: "
    "~8% of the CPU",
)

KEEPALIVE_SESSIONS = Patch(
    name="keepalive_sessions",
    target="rasa.utils.endpoints.EndpointConfig.session",
    kind="replaced",
    what="returns the endpoint's one keep-alive client session (per event loop), left "
    "open after each request and closing idle connections after KEEPALIVE_SECONDS",
    why="a new session and TCP connection per action call handed the event loop to other "
    "conversations: ~75% of the slowest 10% of turns with 20 at once",
    uses=(
        "rasa.utils.endpoints.EndpointConfig.request",
        "rasa.utils.endpoints.DEFAULT_REQUEST_TIMEOUT",
    ),
)

CURRENT_TURN_ONLY = Patch(
    name="current_turn_only",
    target="rasa.core.actions.action.RemoteAction._action_call_format",
    kind="replaced",
    what="sends the action server the conversation's state and only the events from the "
    "worker's latest message on, not every event since the conversation began",
    why="the whole history was serialised, sent and parsed on every form answer (later "
    "answers cost more), and less of a child's story now passes on each call",
    uses=(
        "rasa.core.actions.action.RemoteAction._is_selective_domain_enabled",
        "rasa.shared.core.domain.Domain.does_custom_action_explicitly_need_domain",
        "rasa.shared.core.trackers.EventVerbosity.NONE",
    ),
)

SIGNED_ACTION_CALLS = Patch(
    name="signed_action_calls",
    target="rasa.core.utils.AvailableEndpoints.read_endpoints",
    kind="wrapped",
    what="adds the deployment's action secret header to the action endpoint read from "
    "the endpoints file",
    why="the action server refuses calls without it (bot/rasa/action_server.py), and the "
    "secret is never written to endpoints.yml",
)

ORGANISATION_SLOT = Patch(
    name="organisation_slot",
    target="rasa.shared.core.domain.Domain.__init__",
    kind="wrapped",
    what="gives the `organisation` slot the deployment's organisation (SAFEGUARD_ORG) as "
    "its initial value, when it has a policy pack and the domain sets none",
    why="the domain's responses then cite only this organisation's policy, from the first "
    "message, with no event written and no action server call",
)

ACTION_WAIT = Patch(
    name="action_wait",
    target="rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT",
    kind="module global",
    what="shortens Rasa's wait for one custom action from 300 s to the channel's "
    "action_timeout_seconds (never lengthens it); RemoteAction.run reads it per request",
    why="hard-coded in Rasa 3.6, not settable in endpoints.yml; a worker must not wait "
    "five minutes for a reply",
    uses=("rasa.core.actions.action.RemoteAction.run",),
)

TRACKER_RETRIEVE = Patch(
    name="tracker_retrieve",
    target="rasa.core.tracker_store.SQLTrackerStore._retrieve",
    kind="overridden in ProtectedSQLTrackerStore",
    what="opens each stored event (sealed with the concern-log key) before Rasa rebuilds "
    "the conversation; save() seals them and redacts a finished disclosure",
    why="the database must never hold a readable copy of a child's disclosure; Rasa's "
    "public retrieve() and retrieve_full_tracker() both call this private method",
    uses=(
        "rasa.core.tracker_store.SQLTrackerStore.retrieve",
        "rasa.core.tracker_store.SQLTrackerStore.session_scope",
        "rasa.core.tracker_store.SQLTrackerStore._event_query",
        "rasa.core.tracker_store.SQLTrackerStore._additional_events",
        "rasa.core.tracker_store.SQLTrackerStore.stream_events",
    ),
    override="bot.rasa.tracker_store.ProtectedSQLTrackerStore",
)

MODEL_LOAD = Patch(
    name="model_load",
    target="rasa.utils.tensorflow.models.RasaModel.load",
    kind="replaced",
    what="a model loaded for prediction is built by its first prediction, with the saved "
    "weights restored as its variables are made; loading to fine-tune is Rasa's own",
    why="Rasa built each model by tracing and running one training step (gradients, "
    "optimizer) before overwriting the weights: about half of every Rasa start, for each "
    "restart of a crashed server and every test stack; predictions are the same",
    uses=(
        "rasa.utils.tensorflow.models.RasaModel.run_inference",
        "rasa.utils.tensorflow.constants.LEARNING_RATE",
    ),
)

PATCHES: tuple[Patch, ...] = (
    ACTION_RESULT_SCHEMA,
    EVENT_LOOKUP,
    KEEPALIVE_SESSIONS,
    CURRENT_TURN_ONLY,
    SIGNED_ACTION_CALLS,
    ORGANISATION_SLOT,
    MODEL_LOAD,
    ACTION_WAIT,
    TRACKER_RETRIEVE,
)


# ------------------------------------------------------------------------- the guards


def rasa_version() -> str:
    import rasa  # heavy: imported on first use, not at start-up

    return str(rasa.__version__)


def check_rasa_version() -> None:
    """Refuse, in one line, on any Rasa but the one the patches were written for."""
    found = rasa_version()
    if found != RASA_VERSION:
        raise RasaPatchError(
            f"safeguard's Rasa patches were written for Rasa {RASA_VERSION}; this is Rasa "
            f"{found}. Check each patch in {PATCHES_FILE} against the new Rasa, then update "
            "RASA_VERSION."
        )


def check_all() -> None:
    """Every patch's guard, before any is applied: a stale one stops start-up in one line."""
    for patch in PATCHES:
        patch.require()


_MISSING = object()


def _resolve(dotted: str, patch: Patch) -> Any:  # noqa: ANN401
    """The object at `dotted` (the longest importable module, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            found = getattr(found, part, _MISSING)
            if found is _MISSING:
                break
        if found is not _MISSING:
            return found
        break
    raise RasaPatchError(
        f"safeguard's Rasa patch {patch.name!r} needs {dotted}, which Rasa {rasa_version()} "
        f"does not have. Check the patch in {PATCHES_FILE} against this Rasa."
    )


def _parameters(function: Any) -> list[str] | None:  # noqa: ANN401
    """Parameter names, or None when they cannot be compared (*args, not a function)."""
    function = getattr(function, "__func__", function)  # staticmethod, classmethod
    if not callable(function):
        return None
    try:
        signature = inspect.signature(function, follow_wrapped=False)
    except (TypeError, ValueError):
        return None
    kinds = {p.kind for p in signature.parameters.values()}
    if kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
        return None
    return list(signature.parameters)


def _same_parameters(patch: Patch, rasas: Any, ours: Any) -> None:  # noqa: ANN401
    """Rasa's code calls our replacement as it calls its own: same parameter names."""
    theirs, mine = _parameters(rasas), _parameters(ours)
    if theirs is not None and mine is not None and theirs != mine:
        raise RasaPatchError(
            f"safeguard's Rasa patch {patch.name!r}: Rasa {rasa_version()}'s {patch.target} "
            f"takes ({', '.join(theirs)}), ours ({', '.join(mine)}). Check the patch in "
            f"{PATCHES_FILE} against this Rasa."
        )


# ------------------------------------------------------------------------- applying


# Rasa's own value of each replaced target, as stored on its owner, for `restore`.
_originals: dict[str, Any] = {}


def original(patch: Patch) -> Any:  # noqa: ANN401
    """Rasa's own value of the target (as `getattr` gives it), patched or not."""
    owner, name = patch.owner()
    saved = _originals.get(patch.name, _MISSING)
    if saved is _MISSING:
        return getattr(owner, name)
    if isinstance(owner, type) and hasattr(saved, "__get__"):
        return saved.__get__(None, owner)  # a function, staticmethod or classmethod
    return saved


def replace(patch: Patch, value: Any) -> None:  # noqa: ANN401
    """Set the target to `value` (as stored on the owner: a function, a staticmethod or
    classmethod object, a plain value), after the guard; Rasa's own is kept for `restore`."""
    patch.require()
    owner, name = patch.owner()
    if patch.name not in _originals:
        _same_parameters(patch, getattr(owner, name), value)
        _originals[patch.name] = vars(owner)[name]
    setattr(owner, name, value)


def is_replaced(patch: Patch) -> bool:
    return patch.name in _originals


def restore(patch: Patch) -> None:
    """Put Rasa's own target back (tests; a patched process is otherwise never undone)."""
    saved = _originals.pop(patch.name, _MISSING)
    if saved is not _MISSING:
        owner, name = patch.owner()
        setattr(owner, name, saved)
