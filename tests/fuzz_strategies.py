"""Hostile input for the fuzz tests (tests/test_fuzz*.py) and the long run (scripts/fuzz.py).

`fuzz(default)` is the settings decorator: a modest, derandomized example count in
`make test`; SAFEGUARD_FUZZ_EXAMPLES raises the count and SAFEGUARD_FUZZ_SEED (any integer)
switches to random generation from that seed, for long runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import yaml
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

F = TypeVar("F", bound=Callable[..., Any])


def fuzz(default: int) -> Callable[[F], F]:
    """Settings for one property: `default` examples, fixed, unless a long run asks otherwise."""
    examples = int(os.environ.get("SAFEGUARD_FUZZ_EXAMPLES", "0") or 0) or default
    chosen_seed = os.environ.get("SAFEGUARD_FUZZ_SEED", "").strip()

    def decorate(test: F) -> F:
        test = settings(
            max_examples=examples,
            derandomize=not chosen_seed,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        )(test)
        if chosen_seed:
            test = seed(int(chosen_seed))(test)
        return test

    return decorate


INJECTIONS = [
    "'; DROP TABLE concerns; --",
    '" OR 1=1 --',
    "Robert'); DROP TABLE students;--",
    "1; DELETE FROM page_deliveries WHERE 1=1",
    "{slot}",
    "{child_words}",
    "{{7*7}}",
    "${7*7}",
    "#{7*7}",
    "{% for x in range(9) %}x{% endfor %}",
    "%(x)s",
    "%s%s%s%s%n",
    "{0.__class__.__mro__}",
    "{{config.items()}}",
    "<script>alert(1)</script>",
    "[tap](javascript:alert(1))",
    "<at>Safeguard</at>",
    "/start_disclosure",
    '/report_danger{"danger_now": true}',
    '/correct_answer{"correct_field":"__class__"}',
    "/restart",
    "${jndi:ldap://127.0.0.1/a}",
    "../../../../etc/passwd",
    "\\x00\\n",
    "null",
    "true",
    "~",
    "- [a, b]",
    "key: value",
]

SPECIALS = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\r\n",
    "\r",
    "\t",
    "\u0085",
    "\u2028",
    "\u2029",
    "\u202e",  # right-to-left override
    "\u202d",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u200c",  # zero-width non-joiner (Persian)
    "\u200d",  # zero-width joiner (emoji sequences)
    "\ufeff",
    "\u00a0",
    "\u202f",
    "\u3000",
    "\ud800",  # lone surrogates
    "\udfff",
    "\udc80",
    "\U0010ffff",
    "\ue000",
    "\ufffd",
    "\u0301",
    "👩\u200d👧",
    "🔪",
    "🏳️\u200d🌈",
    "🫠",  # newer than the Unicode tables of Python 3.10
    "😭😭😭",
    "ﬁ",
    "İ",
    "ß",
    "שלום, הוא הרביץ לה",
    "قال إنه سيقتلها الليلة",
    "می\u200cخواهم",
    "वह उसे मारता है",
    "他打了她",
]

WORDS = [
    "he",
    "she",
    "her",
    "dad",
    "mum's boyfriend",
    "said",
    "knife",
    "now",
    "tonight",
    "not",
    "no",
    "kill",
    "hurt",
    "hit",
    "secret",
    "promise",
    "what if",
    "last year",
    "999",
    "she provoked him",
    "alleged",
    "claims",
    "promiscuous",
    "child prostitute",
    "?",
    "!!!",
    "...",
    "\n\n",
]

DANGER = [
    "hes got a knfe in his bag",
    "cant go home dad will kill him",
    "She told me he put his hands round her neck this morning",
    "he's outside the centre with a knife now",
    "she says she is going to take all her pills tonight",
]


def fragment() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(INJECTIONS),
        st.sampled_from(SPECIALS),
        st.sampled_from(WORDS),
        st.text(max_size=12),
        st.text(st.characters(min_codepoint=0x590, max_codepoint=0x6FF), max_size=12),
        st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), max_size=6),
        st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=6),
    )


def _big(piece: str, times: int) -> str:
    return (piece * times)[:120_000]


def hostile_text() -> st.SearchStrategy[str]:
    """Random Unicode, control characters, injections, RTL and bidi, emoji, lone surrogates,
    and now and then a 100 KB message."""
    mixed = st.lists(fragment(), max_size=24).flatmap(
        lambda parts: st.sampled_from(["", " ", "\n"]).map(lambda sep: sep.join(parts))
    )
    return st.one_of(
        mixed,
        mixed,
        mixed,
        st.text(),
        st.sampled_from(INJECTIONS + SPECIALS + DANGER),
        st.builds(
            _big,
            st.sampled_from(["a", "he hit her ", "🔪", "\u202e", "knife now ", "'; --", "x\n"]),
            st.integers(min_value=8_000, max_value=110_000),
        ),
    )


def junk_without_words() -> st.SearchStrategy[str]:
    """Noise that carries no words: emoji, punctuation, bidi and invisible characters."""
    alphabet = st.sampled_from(
        [
            "🔪",
            "😭",
            "👩\u200d👧",
            "!",
            ".",
            ",",
            "-",
            "\u200b",
            "\u200e",
            "\u200f",
            "\u202e",
            "\u2069",
            "\ufeff",
            "\u00a0",
            "\t",
            "\n",
            " ",
            "*",
            "#",
            "(",
            ")",
            '"',
            "'",
        ]
    )
    return st.lists(alphabet, max_size=12).map("".join)


def any_value() -> st.SearchStrategy[Any]:
    """What a slot may hold after a bug, a story edit or a hostile tracker."""
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        hostile_text(),
    )
    return st.one_of(
        scalar,
        st.lists(scalar, max_size=4),
        st.dictionaries(st.text(max_size=8), scalar, max_size=3),
    )


@lru_cache(maxsize=1)
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def slot_names() -> list[str]:
    return sorted(domain().get("slots") or {})


def slot_value(name: str) -> st.SearchStrategy[Any]:
    """A hostile value of a kind the slot can really get: what its domain.yml mapping can
    put there (text from the worker, any JSON for an entity from a typed payload), or what
    the actions themselves store in it, with hostile text inside."""
    config = domain()["slots"][name] or {}
    kind = config.get("type")
    mappings = {m.get("type") for m in config.get("mappings") or []}
    if "from_entity" in mappings:  # '/correct_answer{"correct_field": ...}' can carry any JSON
        return any_value()
    if kind == "bool":
        return st.one_of(st.none(), st.booleans())
    if name == "language_choices":
        choice = st.fixed_dictionaries(
            {"field": hostile_text(), "choice": st.sampled_from(["kept", "rephrased"])},
            optional={"rules": st.lists(hostile_text(), max_size=3)},
        )
        return st.one_of(st.none(), st.lists(choice, max_size=3))
    if kind == "list":  # text typed for the slot, a button's list, or the actions' list
        return st.one_of(st.none(), hostile_text(), st.lists(hostile_text(), max_size=4))
    if kind == "any":
        return st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"text": hostile_text(), "rules": st.lists(hostile_text(), max_size=3)}
            ),
        )
    return st.one_of(st.none(), hostile_text())


def slots() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={name: slot_value(name) for name in slot_names()})


def intent_names() -> list[str]:
    return sorted(i if isinstance(i, str) else next(iter(i)) for i in domain().get("intents") or [])
