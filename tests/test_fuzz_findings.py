"""What the fuzzing (tests/test_fuzz.py, scripts/fuzz.py) found, pinned as plain examples."""

from __future__ import annotations

import pytest

from bot.core import categories, disclosure


@pytest.mark.parametrize(
    "typed",
    [
        "she said\u00a0he hit me",  # a non-breaking space (phones, Word, Teams paste)
        "meeting at 3\u202fpm",  # iOS's narrow no-break space
        "mum \U0001f469\u200d\U0001f467 and me",  # an emoji family: joined by ZWJ
        "\U0001fae0 that's how i feel",  # Unicode 14 emoji, unknown to Python 3.10's tables
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian needs the ZWNJ
        "\u05d4\u05d5\u05d0 \u05d0\u05de\u05e8\u200f 3 \u05e4\u05e2\u05de\u05d9\u05dd",  # RLM
        "he calls me \ue000",  # a private-use character (a platform's own symbol)
        "she said\u2028\u201cdon't tell\u201d",  # a Unicode line separator
        "tabs\tand\nnewlines",
    ],
)
def test_everything_a_worker_can_type_is_kept_verbatim(typed: str) -> None:
    """The child's words used to lose every character `str.isprintable()` rejects: the
    space between two words pasted from Word, emoji joiners, new emoji, Persian's ZWNJ."""
    assert disclosure.clean_answer(typed) == typed


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("he\x00 hit\x07 me\x1b[31m", "he hit me[31m"),
        ("line one\r\nline two\rline three", "line one\nline two\nline three"),
        ("abc\u202edcba", "abcdcba"),  # a right-to-left override could disguise the record
        ("x\u2066y\u2069z", "xyz"),
        ("broken \ud800 surrogate", "broken  surrogate"),
        ("  outer space  \n", "outer space"),
    ],
)
def test_only_what_cannot_be_typed_or_stored_is_dropped(typed: str, kept: str) -> None:
    assert disclosure.clean_answer(typed) == kept
    for ch in set(typed) - set(kept):
        assert disclosure.invisible(ch) or ch.isspace()


def test_a_long_run_of_emoji_does_not_stall_category_matching() -> None:
    """8,000 emoji in a row used to take 16 seconds in spaCy's tokenizer (quadratic), and
    110,000 hung the action server; the words around such a run are still read."""
    text = "\U0001f52a" * 110_000 + " signs of grooming? " + "!?" * 50_000
    found = categories.find_category(text)
    assert found is not None and found.id == "grooming"
    assert categories.suggest_categories("\U0001f62d" * 20_000) == []


@pytest.mark.parametrize("value", [{"a": 1}, ["child_age", "categories"], [], 7, None])
def test_a_correction_for_a_field_that_is_not_text_asks_which_answer(
    value: object,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    """'/correct_answer{"correct_field": {"a": 1}}' typed by hand put a dict in the slot and
    the action crashed (TypeError: unhashable), found by scripts/fuzz.py (seed 2089834409)."""
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.events import SlotSet
    from rasa_sdk.executor import CollectingDispatcher

    from actions.disclosure_form import StartCorrection

    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    tracker = Tracker("w", {"correct_field": value}, {}, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(StartCorrection().run(dispatcher, tracker, {}))
    assert events == [SlotSet("correct_field", None)]
    assert dispatcher.messages[0]["text"] == "Which answer do you want to change?"
