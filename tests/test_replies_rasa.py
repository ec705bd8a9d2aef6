"""On the trained model: a deployment's responses cite only its own organisation's policy.

bot/rasa/server.py makes the `organisation` slot every conversation's initial value
(SAFEGUARD_ORG), and domain.yml's responses choose the variation for it."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot import ROOT

MODEL = ROOT / "models" / "safeguard.tar.gz"
SEED_FILE = re.compile(r"\d{3}_[0-9a-f]{8,}\.txt")


def said(org: str, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test trains first)")
    from rasa.core.agent import Agent

    from bot.rasa import server as rasa_server

    rasa_server.install()
    monkeypatch.setenv("SAFEGUARD_ORG", org)
    agent = Agent.load(str(MODEL))
    replies = asyncio.run(agent.handle_text(text, sender_id=f"replies-{org}"))
    return "\n".join(r.get("text") or "" for r in replies or [])


def test_a_childrens_society_deployment_cites_only_its_own_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = said("childrens-society", monkeypatch, "hello")
    assert "(Source: The Children's Society policy, s.3.6)" in text, text
    assert "CRASAC" not in text and "Leicestershire" not in text and "Chelmsford" not in text
    assert not SEED_FILE.search(text)
