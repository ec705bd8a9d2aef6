"""The escalation chain, frozen into a page when it is created (Grafana OnCall's escalation
snapshot): who is on call then, each step's timeout, the repeats, and the fallback contact,
looked up in the organisation's policy pack when the chain reaches it.

A change to the roster after a page is raised never changes who that page goes to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.contacts import route
from bot.core.pack import load_pack
from bot.core.replies import cited
from bot.core.rota import Fallback, Person, Roster, on_call

# --------------------------------------------------------------------------- the fallback


@dataclass(frozen=True)
class FallbackContact:
    """The policy pack's answer for the fallback purpose now.

    `phone` is None when the policy sets no number; `reason` then says so and who to ask
    (the pack's own words). `source` names the policy and section (never its file name).
    """

    label: str
    phone: str | None
    reason: str
    source: str


FallbackResolver = Callable[[Fallback, str, datetime], "FallbackContact | None"]


def resolve_fallback(
    fallback: Fallback, organisation: str, when: datetime
) -> FallbackContact | None:
    """Look the fallback purpose up in the organisation's policy pack with
    `bot.core.contacts.route`, at the time the chain reaches it (out-of-hours matters).

    Returns None only if the pack cannot be loaded: the caller then says the contact is not
    set and who to ask, and never makes a number up.
    """
    try:

        pack = load_pack(fallback.pack or organisation)
        routes = route(pack, fallback.purpose, when)
    except Exception:  # noqa: BLE001 - a broken pack must not stop a page; the worker is told
        return None
    if not routes:
        return None
    best = routes[0]
    contact = getattr(best, "contact", None)
    return FallbackContact(
        label=(contact.name if contact is not None else fallback.purpose),
        phone=best.number,
        reason=best.reason,
        source=cited(pack, [best.source]),  # the policy's name, never its file name
    )



def recipient(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "channels": [list(c) for c in person.channels],
    }


def freeze_chain(roster: Roster, urgency: str, now: datetime) -> list[dict[str, Any]]:
    """The escalation chain for `urgency` as it stands at `now`, ready to snapshot."""
    policy = roster.escalation[urgency]
    people = on_call(roster, now)
    chain: list[dict[str, Any]] = []
    for round_no in range(policy.repeat):
        for step in policy.steps:
            if step.target == "fallback":
                chosen: list[Person] = []
            elif step.target == "on_call_lead":
                chosen = [p for p in people if p.role == "lead"][:1]
            elif step.target == "deputies":
                chosen = [p for p in people if p.role == "deputy"]
            elif step.target == "all_on_call":
                chosen = list(people)
            else:
                chosen = [roster.person(step.person or "")]
            chain.append(
                {
                    "target": step.target,
                    "round": round_no,
                    "timeout_s": int(step.timeout_minutes * 60),
                    "recipients": [recipient(p) for p in chosen],
                }
            )
    if chain[-1]["target"] != "fallback":
        chain.append({"target": "fallback", "round": policy.repeat - 1, "timeout_s": 0})
    for entry in chain:
        if entry["target"] == "fallback":
            entry["fallback"] = roster.fallback.dict()
            entry["organisation"] = roster.organisation
            entry["recipients"] = []
    return chain

