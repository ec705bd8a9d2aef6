"""The fail-safe REST channel reads a message's intent from its own event, not latest_message."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.channels.rest import intent_of


def _tracker() -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "t1",
        [
            ActionExecuted("action_listen"),
            UserUttered("a child told me something", {"name": "start_disclosure"}, message_id="m1"),
            ActionExecuted("disclosure_form"),
            ActionExecuted("action_listen"),
            UserUttered("no", {"name": "deny"}, message_id="m2"),
            ActionExecuted("disclosure_form"),
        ],
    )


def test_the_intent_of_the_message_asked_about() -> None:
    tracker = _tracker()
    assert intent_of(tracker, "m2") == "deny"
    assert intent_of(tracker, "m1") == "start_disclosure"


def test_found_even_when_latest_message_is_stale() -> None:
    tracker = _tracker()
    tracker.latest_message = tracker.events[1]  # as Rasa 3.6 can leave it after a form
    assert intent_of(tracker, "m2") == "deny"


def test_unknown_message_or_no_tracker_is_none() -> None:
    assert intent_of(_tracker(), "m9") is None
    assert intent_of(None, "m1") is None
