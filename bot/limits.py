"""How much one chat message may hold, and what the worker is told when it is more.

One place for the limit, so the Rasa channel, the Telegram gateway and the Teams channel
refuse the same messages with the same words. A refused message is never silently cut:
cutting a disclosure could drop the very sentence that matters, so the worker is asked to
send it in parts, and is given 999 and the Safeguarding Lead's number in the same reply.
"""

from __future__ import annotations

# Twice Telegram's 4,096-character message limit: a long pasted note fits, a runaway paste
# (or a hostile 100 KB message) does not reach the language model or the concern log.
MAX_MESSAGE_CHARS = 8000


def too_long(text: str) -> bool:
    return len(text) > MAX_MESSAGE_CHARS


def too_long_reply(length: int, pack=None, danger: bool = False) -> str:  # noqa: ANN001
    """The plain refusal, with 999 and the emergency numbers from the organisation's pack
    (bot.replies). With `danger`, the refusal alone: the danger reply around it says 999,
    first, and the numbers, once."""
    from bot import replies

    return replies.too_long(length, pack, danger=danger)
