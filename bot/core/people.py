"""Who is talking to the assistant: a worker, and how the lead calls them back. Never the child."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Worker:
    """Who is talking to the bot: how the lead calls them back. Never the child."""

    id: str
    name: str
    contact: str = ""
    # Roster role: "worker", "lead", "deputy" or "admin". Someone the roster does not know
    # is a worker: they can raise concerns and see their own, nothing more.
    role: str = "worker"

    def __post_init__(self) -> None:
        # A JSON channel can hand us a sender id holding a lone surrogate, which neither
        # the database nor the spool can encode: the concern would be lost. Replace them.
        for name in ("id", "name", "contact", "role"):
            object.__setattr__(self, name, storable(getattr(self, name)))


def storable(text: object) -> str:
    """`text` with lone surrogates (unencodable in UTF-8) replaced by U+FFFD."""
    value = "" if text is None else str(text)
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
