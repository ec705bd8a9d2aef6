"""Short, plain answers from the organisation's policy pack, for a worker on a phone.

Every answer is a few lines of plain text: numbers written the way they are dialled
("024 7683 3003") so a phone makes them tap-to-call, and a last line naming the source
("The Children's Society policy, s.3.11": the seed's human label, never its file name).
Nothing here invents a value: where the pack says a number or
rule is not set, the answer says so and who to ask.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.core import clock, disclosure, replies
from bot.core.contacts import Route, purpose_from_text, route, time_context
from bot.core.pack import (
    ROUTE_IDS,
    STAFF_TOPICS,
    Pack,
    Source,
    SpecialRoute,
    Timescale,
    format_number,
    load_pack,
)
from bot.core.replies import cite, numbers_lines

BULLET = "• "
MAX_MATCHED_TIMESCALES = 3
_STOPWORDS = {
    "what",
    "when",
    "have",
    "does",
    "long",
    "much",
    "time",
    "many",
    "with",
    "that",
    "this",
    "there",
    "tell",
    "need",
    "must",
    "should",
    "about",
    "from",
    "your",
    "mine",
    "within",
    "timescale",
    "timescales",
    "deadline",
    "deadlines",
    "hours",
    "days",
}


def _now(when: datetime | None) -> datetime:
    return clock.parse_local(when.isoformat()) if when is not None else clock.now()


def _sources_line(pack: Pack, sources: list[str]) -> str:
    """'Source: The Children's Society policy, s.3.6, s.3.11': the seed's human label and
    sections (bot.core.replies.cite), never the seed file name."""

    return cite(pack, sources)


def _cite(source: Source | None) -> str:
    return source.cite() if source is not None else ""


def _route_line(item: Route) -> str:
    contact = item.contact
    if contact is None:
        return BULLET + item.reason
    parts = [contact.name]
    reach = []
    if item.number:
        reach.append(item.number)
    if contact.email:
        reach.append(contact.email)
    head = f"{contact.name}: {' / '.join(reach)}" if reach else parts[0]
    reason = item.reason
    if reason.startswith(contact.name + ": "):
        reason = reason[len(contact.name) + 2 :]
        reason = reason[:1].upper() + reason[1:]
    elif reason.startswith(contact.name + " "):
        reason = "It " + reason[len(contact.name) + 1 :]
    return f"{BULLET}{head}. {reason}"


def _routes_block(pack: Pack, purpose: str, when: datetime) -> tuple[list[str], list[str]]:
    items = route(pack, purpose, when)
    return [_route_line(item) for item in items], [item.source for item in items]


# -- contacts -----------------------------------------------------------------------------


def contacts_answer(pack: Pack, text: str, when: datetime | None = None) -> str:
    """Who to call for what the worker asked ("who's the LADO?"), right now.

    With no recognisable purpose: the Safeguarding Lead, emergency, and out-of-hours social
    care. When the purpose has no contact in this pack, the "not set" line is followed by
    the Safeguarding Lead so the worker always has someone to go to.
    """
    moment = _now(when)
    purpose = purpose_from_text(text or "")
    lines: list[str] = []
    sources: list[str] = []
    if purpose is None:
        purposes = ["safeguarding_lead", "emergency", "out_of_hours_social_care"]
        lines.append(f"{pack.short_name} contacts ({time_context(pack, moment)}):")
    else:
        purposes = [purpose]
        items = route(pack, purpose, moment)
        if all(item.contact is None for item in items) and purpose != "safeguarding_lead":
            purposes.append("safeguarding_lead")
    for wanted in purposes:
        block, cited = _routes_block(pack, wanted, moment)
        # A contact serving two of the purposes asked about is listed once.
        for line, source in zip(block, cited, strict=True):
            if line not in lines:
                lines.append(line)
                sources.append(source)
    # Once: a "not set" line may already say "in an emergency call 999".
    if "emergency" not in purposes and not any("call 999" in line for line in lines):
        lines.append("If a child is in danger now, call 999.")
    lines.append(_sources_line(pack, sources))
    return "\n".join(lines)


def emergency_text(pack: Pack, when: datetime | None = None) -> str:
    """The lines under "Call 999 now": the Safeguarding Lead now (and, out of hours,
    out-of-hours social care), one label/value line each, or what is not set and who to
    ask; then the source. Rendered by bot.core.replies (`numbers_lines`)."""

    return numbers_lines(pack, when)


# -- timescales and deadlines -------------------------------------------------------------


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    found = {w for w in words if len(w) > 3 and w not in _STOPWORDS}
    # "manager" also matches "line manager"; plural/singular both ways.
    return found | {w.rstrip("s") for w in found}


def _timescale_line(item: Timescale) -> str:
    duration = item.duration().describe()
    applies = f" ({item.applies_to})" if item.applies_to else ""
    return f"{BULLET}{item.what}: {duration}{applies}."


def timescales_answer(pack: Pack, text: str | None = None) -> str:
    """The policy's timescales; with `text` ("how long do I have to tell my manager?"),
    only the ones it is about (all of them if none match)."""
    if not pack.timescales:
        reason = pack.timescales_not_set or "no timescales are set"
        return (
            f"{pack.short_name}: timescales not set for this deployment - {reason} "
            f"Ask {pack.ask_first}.\n" + _sources_line(pack, [])
        )
    chosen = list(pack.timescales)
    if text:
        wanted = _words(text)
        scored = [
            (len(wanted & _words(f"{item.what} {item.applies_to or ''}")), item)
            for item in pack.timescales
        ]
        best = max(score for score, _ in scored)
        if best:
            matching = [item for score, item in scored if score == best]
            # Keep the answer phone-sized: the ones that run from a new concern first.
            matching.sort(key=lambda item: not item.after_concern)
            chosen = matching[:MAX_MATCHED_TIMESCALES]
    lines = [f"{pack.short_name} timescales:"]
    lines.extend(_timescale_line(item) for item in chosen)
    lines.append(_sources_line(pack, [item.source.cite() for item in chosen]))
    return "\n".join(lines)


def deadlines_after_concern(pack: Pack, saved_at: datetime) -> list[tuple[str, datetime]]:
    """Deadlines that start when a concern is saved, earliest first, e.g.
    [("Consult your line manager (within 2 hours)", 21:30), ...]. Timescales marked
    `after_concern: false` (e.g. the weekly log review) and `not stated` ones are skipped."""
    start = clock.parse_local(saved_at.isoformat())
    found: list[tuple[str, datetime]] = []
    for item in pack.timescales:
        if not item.after_concern:
            continue
        deadline = item.duration().deadline(start, pack)
        if deadline is None:
            continue
        found.append((f"{item.what} ({item.duration().describe()})", deadline))
    found.sort(key=lambda pair: pair[1])
    return found


def format_deadline(deadline: datetime, saved_at: datetime) -> str:
    """'now', 'by 21:30 today', 'by 17:00 Tue 24 Nov'."""
    deadline = clock.parse_local(deadline.isoformat())
    saved_at = clock.parse_local(saved_at.isoformat())
    if deadline == saved_at:
        return "now"
    if deadline.date() == saved_at.date():
        return f"by {deadline:%H:%M} today"
    return f"by {deadline:%H:%M} {deadline:%a} {deadline.day} {deadline:%b}"


def deadlines_answer(pack: Pack, saved_at: datetime) -> str:
    """The deadlines after a concern, as lines a worker can read."""
    deadlines = deadlines_after_concern(pack, saved_at)
    if not deadlines:
        return (
            f"{pack.short_name}: no timescales are set for this deployment. Ask "
            f"{pack.ask_first}.\n" + _sources_line(pack, [])
        )
    lines = [f"{BULLET}{what}: {format_deadline(when, saved_at)}" for what, when in deadlines]
    sources = [t.source.cite() for t in pack.timescales if t.after_concern]
    return "\n".join(lines + [_sources_line(pack, sources)])


# -- the rest of the policy ---------------------------------------------------------------


def child_definition_answer(pack: Pack) -> str:
    definition = pack.child_definition
    return f"{definition.text}\n{_sources_line(pack, [definition.source.cite()])}"


def recording_answer(pack: Pack) -> str:
    """What to record and where: the system, what to write, sub-types / event types."""
    rec = pack.recording
    lines = []
    if rec.system:
        lines.append(f"Record it on: {rec.system}.")
    else:
        lines.append(f"Recording system not set for this deployment: {rec.not_set}")
    lines.append(rec.where)
    if rec.what_to_record:
        lines.append("Record:")
        lines.extend(BULLET + item for item in rec.what_to_record)
    if rec.concern_types:
        lines.append("Concern types: " + ", ".join(rec.concern_types) + ".")
    if rec.event_types:
        lines.append("Entries (sub-types):")
        lines.extend(f"{BULLET}{e.name} - {e.description}" for e in rec.event_types)
    if rec.review:
        lines.append(rec.review)
    lines.append("Write the child's words exactly as they said them.")
    lines.append(_sources_line(pack, [rec.source.cite()]))
    return "\n".join(lines)


def training_answer(pack: Pack) -> str:
    training = pack.training
    if not training.requirements:
        return (
            f"Training requirements not set for this deployment: {training.not_set} "
            f"Ask {pack.ask_first}.\n" + _sources_line(pack, [])
        )
    lines = [f"{pack.short_name} safeguarding training:"]
    lines.extend(f"{BULLET}{r.who}: {r.what} - {r.when}." for r in training.requirements)
    lines.append(_sources_line(pack, [r.source.cite() for r in training.requirements]))
    return "\n".join(lines)


def retention_answer(pack: Pack) -> str:
    """How long safeguarding records are kept, as the policy words it; where it gives no
    period, what it says instead, who to ask and where the policy points."""
    retention = pack.retention
    if not retention.rules:
        ask = _without_emergency(retention.ask or pack.ask_first)
        sources = [retention.source.cite()] if retention.source is not None else []
        return (
            f"Retention period not set for this deployment: {retention.not_set} Ask {ask}.\n"
            + _sources_line(pack, sources)
        )
    lines = [f"{BULLET}{r.what}: {r.period}." for r in retention.rules]
    return "\n".join(lines + [_sources_line(pack, [r.source.cite() for r in retention.rules])])


# "Will they know it was me?", "can I stay anonymous?": who is told that you raised it.
_ASKS_IDENTITY = re.compile(
    r"anonym|\bit was me\b|\bknow (?:it was |that )?(?:me|i)\b|\bwho (?:reported|told|rang|"
    r"called|raised|made)\b|\bmy name\b|\bname me\b|\bidentity\b|\bfind out (?:it was|that i|"
    r"who)\b|\bknow i (?:reported|told|rang|called|raised|made)\b|\bkeep (?:me|my) (?:out|name)|"
    r"\bwill (?:the |his |her |their |my )?(?:abuser|parents?|family|mum|dad|carers?|person|"
    r"they|he|she|colleague) (?:ever )?(?:find out|know|be told)\b",
    re.IGNORECASE,
)
# "What if I'm wrong?", "I don't have all the facts": not sure is no reason to wait.
_ASKS_NOT_SURE = re.compile(
    r"\bwrong\b|\bmistake|\bmistaken\b|\bnot (?:100% |completely |totally )?(?:sure|certain)\b|"
    r"\bunsure\b|\ball the (?:facts|details|information|info)\b|\bfull (?:picture|story)\b|"
    r"\b(?:turns?|turned) out (?:to be )?nothing\b|\bif it'?s nothing\b|\bif it was nothing\b|"
    r"\boverreact|\bget (?:someone|them|him|her|the family|the parents|a family) (?:in|into) "
    r"trouble\b|\bfalse alarm\b|\bnot true\b|\bmade (?:it|this|that) up\b",
    re.IGNORECASE,
)


def after_report_answer(pack: Pack, text: str | None = None) -> str:
    """What happens after a report. With the worker's question: "will they know it was
    me?" is answered with who is told that they raised it, and "what if I'm wrong?" with
    the policy on not being sure (`staff_answer`), instead of the list of next steps."""
    asked = text or ""
    parts = []
    if _ASKS_IDENTITY.search(asked):
        parts.append(staff_answer(pack, "reporter_identity"))
    if _ASKS_NOT_SURE.search(asked):
        parts.append(staff_answer(pack, "not_sure"))
    if parts:
        return "\n\n".join(parts)
    lines = ["After you report:"]
    lines.extend(BULLET + step.text for step in pack.after_report)
    lines.append(_sources_line(pack, [step.source.cite() for step in pack.after_report]))
    return "\n".join(lines)


def route_answer(pack: Pack, route_id: str) -> str:
    """The steps, timescales and contacts for a special route (FGM, allegation, ...)."""
    if route_id not in ROUTE_IDS:
        return (
            f"There is no route called {route_id!r}. Routes: {', '.join(ROUTE_IDS)}.\n"
            + _sources_line(pack, [])
        )
    special = pack.route(route_id)
    if special is None:
        label = route_id.replace("_", " ")
        return (
            f"{pack.short_name}: no {label} procedure is set for this deployment. Ask "
            f"{pack.ask_first}. If a child is in danger now, call 999.\n" + _sources_line(pack, [])
        )
    lines, sources = _route_parts(pack, special)
    lines.append(_sources_line(pack, sources))
    return "\n".join(lines)


def _route_parts(pack: Pack, special: SpecialRoute) -> tuple[list[str], list[str]]:
    """A route's lines (title, when, numbered steps, timescales, contacts, what is not set)
    and the sources behind them, without the source line."""
    lines = [f"{special.title}", f"When: {special.when}"]
    lines.extend(f"{n}. {step}" for n, step in enumerate(special.steps, start=1))
    sources = [special.source.cite()]
    for timescale_id in special.timescales:
        item = pack.timescale(timescale_id)
        lines.append(f"Timescale - {item.what}: {item.duration().describe()}.")
        sources.append(item.source.cite())
    for contact_id in special.contacts:
        contact = pack.contact(contact_id)
        if contact.number or contact.email:
            reach = " / ".join(
                x
                for x in (
                    route_number(contact.number),
                    contact.email,
                )
                if x
            )
            lines.append(f"{BULLET}{contact.name}: {reach}")
        else:
            lines.append(f"{BULLET}{contact.name}: number not set - {contact.not_set}")
        sources.append(contact.source.cite())
    if special.not_set:
        lines.append(f"Not set: {special.not_set}")
    return lines, sources


def route_number(number: str | None) -> str | None:
    return format_number(number) if number else None


# -- the questions staff ask --------------------------------------------------------------

# What each answer is about, as its first line.
STAFF_HEADINGS: dict[str, str] = {
    "how_to_report": "How to report a concern",
    "reporter_identity": "Who is told that you raised the concern",
    "not_sure": "If you are not sure, or worry you might be wrong",
    "why_children_dont_tell": "Why children may not tell, or tell only some of it",
    "information_sharing": "Sharing information about a child",
    "what_is_emergency": "What counts as an emergency",
    "online_safety": "Online safety",
}
# The special routes staff ask about by name, and the contact purposes whose "not set" line
# explains a route the policy does not have.
ROUTE_QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "allegation_staff": (
        "A concern or allegation about a member of staff or a volunteer",
        ("lado", "allegations_line"),
    ),
    "fgm": ("The FGM reporting duty", ("fgm",)),
    "prevent": ("Prevent (radicalisation and extremism)", ("prevent",)),
}


PURPOSE_LABELS: dict[str, str] = {
    "lado": "LADO (Local Authority Designated Officer)",
    "allegations_line": "Allegations line",
    "fgm": "FGM contact",
    "prevent": "Prevent contact",
}


def _capitalised(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def _without_emergency(ask: str) -> str:
    """'your DSL; in an emergency call 999' -> 'your DSL': an answer to a question is not
    the emergency line."""
    return re.split(r";\s*in an emergency", ask)[0].strip().rstrip(".")


def not_set_line(pack: Pack, what: str | None = None, ask: str | None = None) -> str:
    """'Not set in your policy: <what> Ask <who>.' (who: the pack's `ask_first`)."""
    said = f": {what.strip()}" if what and what.strip() else "."
    if said != "." and not said.endswith((".", "!", "?")):
        said += "."
    return f"Not set in your policy{said} Ask {_without_emergency(ask or pack.ask_first)}."


def staff_answer(pack: Pack, topic: str) -> str:
    """The policy's answer to a question staff ask (`STAFF_TOPICS`), point by point from the
    pack's `staff_questions`, then what it leaves out ("Not set in your policy ... Ask ...")
    and the source. A topic the pack does not answer is "not set", never guessed."""
    if topic not in STAFF_TOPICS:
        raise KeyError(f"{topic!r} is not a staff question (one of: {', '.join(STAFF_TOPICS)})")
    answer = pack.staff_question(topic)
    lines = [f"{STAFF_HEADINGS[topic]}:"]
    sources: list[str] = []
    points = answer.points if answer is not None else []
    for point in points:
        line = BULLET + point.text
        if line not in lines:  # the same words from two policies (generic pack): once
            lines.append(line)
        sources.append(point.source.cite())
    if not points or (answer is not None and answer.not_set):
        lines.append(not_set_line(pack, answer.not_set if answer is not None else None))
    lines.append(_sources_line(pack, sources))
    return "\n".join(lines)


def route_question_answer(pack: Pack, route_id: str) -> str:
    """A special route asked about as a question ("what happens if the allegation is about a
    colleague?", "what is the FGM duty?"): the route's steps, timescales and contacts from
    the pack, with what the policy leaves unset (e.g. no LADO contact). A policy with no
    such route is "not set in your policy", with why and who to ask."""
    heading, purposes = ROUTE_QUESTIONS[route_id]
    special = pack.route(route_id)
    unset = [pack.unset(purpose) for purpose in purposes]
    unset = [item for item in unset if item is not None]
    if special is None:
        lines = [f"{heading}: not set in your policy."]
        for item in unset:
            said = _capitalised(item.not_set)
            if said not in lines:
                lines.append(said)
        ask = unset[0].ask if unset else pack.ask_first
        lines.append(f"Ask {_without_emergency(ask)}.")
        lines.append(_sources_line(pack, []))
        return "\n".join(lines)
    lines, sources = _route_parts(pack, special)
    routed = {
        purpose for contact_id in special.contacts for purpose in pack.contact(contact_id).purposes
    }
    # What the route leaves unset is said once: the route's own `not_set`, else the first
    # contact purpose it has no contact for (e.g. the LADO).
    missing = [item for item in unset if item.purpose not in routed]
    if special.not_set is None and missing:
        item = missing[0]
        lines.append(f"{PURPOSE_LABELS.get(item.purpose, item.purpose)}: {item.not_set}")
    lines.append(_sources_line(pack, sources))
    return "\n".join(lines)


# -- a concern stated with a question: answer first, then record ------------------------------

# Words that make a message that starts a concern also a question to answer now.
_ASKS = (
    "?",
    "who do i",
    "who should i",
    "who to ",
    "what do i do",
    "what should i do",
    "what number",
    "which number",
    "how do i report",
    "do i have to",
    "do i need to",
    "do i ring",
    "do i call",
    "do i tell",
)


def asks_something(text: str) -> bool:
    lowered = " ".join((text or "").lower().split())
    return any(cue in lowered for cue in _ASKS)


def opening_answer(pack: Pack, text: str, when: datetime | None = None) -> str | None:
    """For a message that states a concern: the special route its words name (allegation
    about staff -> LADO, a colleague online, FGM duty, Prevent, CSE, domestic abuse) and, if
    it also asks who to call, the contact, so the answer comes before the record's first
    question. None when there is nothing to answer first."""

    routes = disclosure.routes_for(disclosure.categories_in(text or ""))
    parts = [route_answer(pack, route_id) for route_id in routes]
    if not parts and asks_something(text) and purpose_from_text(text or "") is not None:
        parts.append(contacts_answer(pack, text, when))
    return "\n\n".join(parts) or None


# -- after a record is saved ---------------------------------------------------------


def saved(outcome, chosen: list[str], now: datetime, pack=None) -> str:  # noqa: ANN001
    """Saved: the reference (or the concern it was added to), who was paged, the deadlines
    from the pack, and the special routes for the chosen categories."""
    pack = pack or load_pack()
    if getattr(outcome, "record_added", False):
        parts = [replies.text("record_added", reference=outcome.reference)]
        if outcome.paged:
            parts.append(replies.paged_head(outcome))
    else:
        parts = [
            replies.text("saved", reference=outcome.reference),
            replies.paged_head(outcome),
        ]
    if deadlines_after_concern(pack, now):
        parts.append(deadlines_answer(pack, now))
    for route_id in disclosure.routes_for(chosen):
        parts.append(route_answer(pack, route_id))
    return "\n\n".join(parts)
