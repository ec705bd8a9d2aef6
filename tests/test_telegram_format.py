"""bot.clients.telegram_format: splitting under Telegram's limit, tap-to-call numbers, button
data."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clients.telegram_format import (
    CALLBACK_LIMIT,
    ButtonPayloads,
    international,
    outgoing,
    pack_numbers,
    split_text,
    tap_to_call,
    utf16_len,
)


def test_short_text_is_one_part() -> None:
    assert split_text("  hello  ") == ["hello"]
    assert split_text("") == []


def test_paragraphs_first_then_lines_then_words() -> None:
    text = "aaaa bbbb\n\ncccc dddd\neeee"
    assert split_text(text, limit=12) == ["aaaa bbbb", "cccc dddd", "eeee"]
    assert split_text("aaaa\nbbbb cccc", limit=10) == ["aaaa", "bbbb cccc"]
    assert split_text("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]


def test_a_phone_number_is_never_cut() -> None:
    number = "0808 800 5000 (+44 808 800 5000)"
    text = f"Ring the NSPCC helpline on {number} now."
    for limit in range(len(number), len(text)):
        parts = split_text(text, limit=limit)
        joined = "\n".join(parts)
        assert number in joined, (limit, parts)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    parts = split_text("x" * 25, limit=10)
    assert parts == ["x" * 10, "x" * 10, "x" * 5]


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = split_text(text)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == text


words = st.text(alphabet="abcdefghij😀é", min_size=1, max_size=30)
seps = st.sampled_from([" ", "\n", "\n\n", "  "])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(words, seps), min_size=1, max_size=80), st.integers(8, 200))
def test_parts_fit_and_keep_every_word(pieces: list[tuple[str, str]], limit: int) -> None:
    text = "".join(w + s for w, s in pieces)
    parts = split_text(text, limit=limit)
    assert all(0 < utf16_len(p) <= limit for p in parts)
    # nothing lost, nothing reordered (whitespace between parts aside)
    assert re.sub(r"\s+", "", "".join(parts)) == re.sub(r"\s+", "", text)


def test_international_forms() -> None:
    assert international("0808 800 5000") == "+44 808 800 5000"
    assert international("024 7683 3003") == "+44 24 7683 3003"
    assert international("0116 305 0005") == "+44 116 305 0005"
    assert international("999") is None
    assert international("116 123") is None


def test_only_pack_numbers_get_a_tap_to_call_form() -> None:
    assert "0808 800 5000" in pack_numbers()
    text = "NSPCC: 0808 800 5000. She said call me on 07700 900999."
    out = tap_to_call(text)
    assert out == ("NSPCC: 0808 800 5000 (+44 808 800 5000). She said call me on 07700 900999.")
    assert tap_to_call(out) == out  # applied once only
    assert tap_to_call("Call 999 now.") == "Call 999 now."


def test_button_payloads_short_and_long() -> None:
    payloads = ButtonPayloads(capacity=2)
    assert payloads.data_for("/affirm") == "r:/affirm"
    assert payloads.payload_for("r:/affirm") == "/affirm"
    long = '/inform{"category": "' + "y" * 80 + '"}'
    data = payloads.data_for(long)
    assert len(data.encode()) <= CALLBACK_LIMIT and data.startswith("h:")
    assert payloads.payload_for(data) == long
    payloads.data_for("/x" + "z" * 70)
    payloads.data_for("/w" + "z" * 70)  # capacity 2: the first long one is forgotten
    assert payloads.payload_for(data) is None
    assert payloads.payload_for("ack:abc") is None
    assert payloads.payload_for(None) is None


def test_outgoing_puts_buttons_on_the_last_part() -> None:
    payloads = ButtonPayloads()
    replies = [
        {"text": "p1\n\n" + "w " * 3000, "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"buttons": [{"title": "Only", "payload": "/only"}]},
        {"custom": {"x": 1}},
    ]
    messages = outgoing(replies, payloads)
    assert [m is None for _, m in messages] == [True, True, False, False]
    assert messages[-1][0] == "Choose one:"
    assert messages[-2][1].inline_keyboard[0][0].callback_data == "r:/affirm"


@pytest.mark.parametrize("limit", [0, -1])
def test_bad_limit(limit: int) -> None:
    with pytest.raises(ValueError):
        split_text("x", limit=limit)
