"""Fit Rasa's replies to Telegram: length, buttons and phone numbers.

Length: Telegram refuses a message over 4,096 characters (counted in UTF-16 code units, so
an emoji counts twice). `split_text` cuts a long reply into parts under the limit at a
paragraph boundary, else at a line break, else between words, and never inside a phone
number; only a single "word" longer than a whole message is cut mid-way.

Phone numbers (tap-to-call): Telegram turns a number into a tappable link when it sees one,
and its documented form is the international one (+1-212-555-0123); a UK number written
nationally ("0808 800 5000") is not reliably linked by every client. So every phone number
of the organisation's policy packs is shown as written in the pack AND in international form
right after it: "0808 800 5000 (+44 808 800 5000)". A worker reading the number out to dial
from a landline has the familiar form; one tapping on a mobile has a link. Only numbers that
are in a pack are touched, so a worker's or child's own words quoted back are never altered
(principle 4). Short codes (999, 101, 111, 116 123) are left alone: every phone dials them
as they are, and they have no international form. Messages are sent as plain text (no
Markdown/HTML parse mode), so nothing in a reply can be mis-read as markup.

Buttons: a Rasa button {title, payload} becomes one inline-keyboard row. Telegram allows 64
bytes of callback_data, so a short payload rides in the button itself ("r:" + payload) and a
longer one is kept in a bounded in-memory table under a hash ("h:" + 16 hex digits); a press
of a button from before a restart is answered with "please type your answer".
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from bot.core import phones
from bot.core.pack import available_orgs, load_pack

TELEGRAM_LIMIT = 4096
CALLBACK_LIMIT = 64
PAYLOAD_PREFIX = "r:"
HASHED_PREFIX = "h:"

# Phone-like text: an optional +, then digits with single spaces/hyphens between them, at
# least 7 digits in all (so "999" or "2026" are not numbers, and never split anyway as they
# hold no space). Used to keep numbers whole when splitting.
_PHONE_SPAN = re.compile(r"(?<![\w+])\+?\d(?:[ \-]?\d){6,14}(?:\s*\(\+\d(?:[ \-]?\d){6,14}\))?")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _fits_upto(text: str, limit: int) -> int:
    """The largest index i with utf16_len(text[:i]) <= limit."""
    if utf16_len(text) <= limit:
        return len(text)
    total = 0
    for i, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > limit:
            return i
    return len(text)


def _protected(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PHONE_SPAN.finditer(text)]


def _inside(index: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < index < end for start, end in spans)


def _cut_point(text: str, limit: int) -> int:
    """Where to end the next part: the best boundary whose prefix fits in `limit`."""
    upto = _fits_upto(text, limit)
    window = text[: upto + 1]  # a separator right after the limit still counts
    spans = _protected(text[: upto + 40])
    for separator in ("\n\n", "\n"):
        index = window.rfind(separator)
        while index > 0:
            if not _inside(index, spans):
                return index
            index = window.rfind(separator, 0, index)
    for match in reversed(list(re.finditer(r"\s+", window))):
        index = match.start()
        if index > 0 and not _inside(index, spans):
            return index
    return max(upto, 1)


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """`text` as parts Telegram will take: each non-empty and at most `limit` UTF-16 units."""
    if limit < 1:
        raise ValueError("limit must be positive")
    rest = (text or "").strip()
    parts: list[str] = []
    while rest:
        if utf16_len(rest) <= limit:
            parts.append(rest)
            break
        cut = _cut_point(rest, limit)
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].strip()
    return parts


# --------------------------------------------------------------------------- phone numbers


def international(number: str) -> str | None:
    """'0808 800 5000' -> '+44 808 800 5000'; None for short codes and what is no number
    (libphonenumber's international form, `bot.core.phones.international`)."""
    return phones.international(number)


@lru_cache(maxsize=1)
def pack_numbers() -> tuple[str, ...]:
    """Every phone number of any policy pack (longest first), as written there and as shown."""

    found: set[str] = set()
    for org in available_orgs():
        try:
            pack = load_pack(org)
        except Exception:  # noqa: BLE001 - a broken pack is reported by its own checks
            continue
        for contact in pack.contacts:
            if contact.number:
                # As written in the pack, and as the replies show it (format_number).
                found.add(" ".join(contact.number.split()))
                found.add(phones.display(contact.number))
    return tuple(sorted(found, key=len, reverse=True))


def tap_to_call(text: str, numbers: Iterable[str] | None = None) -> str:
    """Add the international form after each pack number in `text` (see module doc)."""
    numbers = pack_numbers() if numbers is None else tuple(numbers)
    out = text
    for number in numbers:
        intl = international(number)
        if intl is None or number not in out:
            continue
        pattern = re.compile(rf"(?<![\d+]){re.escape(number)}(?![\d])(?!\s*\({re.escape(intl)}\))")
        out = pattern.sub(lambda m, i=intl: f"{m.group(0)} ({i})", out)
    return out


# --------------------------------------------------------------------------- buttons


class ButtonPayloads:
    """callback_data for Rasa button payloads, and the payload back from a press."""

    def __init__(self, capacity: int = 5000) -> None:
        self.capacity = capacity
        self._hashed: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def data_for(self, payload: str) -> str:
        direct = PAYLOAD_PREFIX + payload
        if len(direct.encode("utf-8")) <= CALLBACK_LIMIT:
            return direct
        key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
        with self._lock:
            self._hashed[key] = payload
            self._hashed.move_to_end(key)
            while len(self._hashed) > self.capacity:
                self._hashed.popitem(last=False)
        return HASHED_PREFIX + key

    def payload_for(self, data: str | None) -> str | None:
        """The Rasa payload a press carries; None if it is not a Rasa button or expired."""
        if not data:
            return None
        if data.startswith(PAYLOAD_PREFIX):
            return data[len(PAYLOAD_PREFIX) :] or None
        if data.startswith(HASHED_PREFIX):
            with self._lock:
                return self._hashed.get(data[len(HASHED_PREFIX) :])
        return None

    @staticmethod
    def is_ours(data: str | None) -> bool:
        return bool(data) and data.startswith((PAYLOAD_PREFIX, HASHED_PREFIX))


def keyboard(buttons: list[dict[str, Any]], payloads: ButtonPayloads) -> Any:
    """Rasa buttons as an InlineKeyboardMarkup (one button per row), or None."""
    from telegram import (  # heavy: imported on first use, not at start-up
        InlineKeyboardButton,
        InlineKeyboardMarkup,
    )

    rows = []
    for button in buttons or []:
        title = str(button.get("title") or "").strip()
        payload = str(button.get("payload") or "").strip()
        if not title or not payload:
            continue
        rows.append([InlineKeyboardButton(title[:64], callback_data=payloads.data_for(payload))])
    return InlineKeyboardMarkup(rows) if rows else None


def outgoing(replies: list[dict[str, Any]], payloads: ButtonPayloads) -> list[tuple[str, Any]]:
    """Rasa replies as (text, reply_markup) Telegram messages, split to fit.

    A reply's buttons go on the last part of its text (a button-only reply gets a short
    prompt, since Telegram needs text). Images and custom payloads are shown as text when
    they carry any, else skipped.
    """
    out: list[tuple[str, Any]] = []
    for reply in replies:
        text = str(reply.get("text") or "").strip()
        if not text and reply.get("image"):
            text = str(reply["image"])
        markup = keyboard(reply.get("buttons") or [], payloads)
        if not text and markup is None:
            continue
        parts = split_text(tap_to_call(text)) if text else ["Choose one:"]
        for n, part in enumerate(parts):
            out.append((part, markup if n == len(parts) - 1 else None))
    return out
